//! The Rekor personality's errors and their one translation to HTTP
//! (`spec/log.md` §8). Every 4xx and 5xx answer is JSON `{code, message}`;
//! internal detail is logged once and never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sigstack_core::entry::EntryError;
use sigstack_engine::EngineError;

/// go-openapi's validation codes, which Rekor sends in the body of a 422.
pub mod validation {
    pub const INVALID_TYPE: u16 = 601;
    pub const REQUIRED: u16 = 602;
    pub const PATTERN: u16 = 605;
    pub const MINIMUM: u16 = 609;
    pub const MAX_ITEMS: u16 = 611;
}

#[derive(Debug, thiserror::Error)]
pub enum RekorError {
    /// 400 with this message.
    #[error("{0}")]
    BadRequest(String),
    /// 422 with a go-openapi validation code (6xx) or 422 in the body.
    #[error("{message}")]
    Unprocessable { code: u16, message: String },
    /// 404: Rekor answers these without a body; sigstack names the problem.
    #[error("{0}")]
    NotFound(String),
    /// 409 for a proposed entry already in the active tree.
    #[error("an equivalent entry already exists in the transparency log with UUID {entry_id}")]
    Duplicate { entry_id: String, location: String },
    /// 413 above the configured body limit.
    #[error("Request Entity Too Large. Limit set to {0}")]
    TooLarge(usize),
    /// 501 for an operation this instance does not serve.
    #[error("{0} API not enabled in this Rekor instance")]
    NotEnabled(&'static str),
    /// 504 when a request outlives the configured timeout.
    #[error("unexpected error communicating with transparency log")]
    Timeout,
    /// 500: the log failed; the cause is logged, never sent.
    #[error("unexpected result from transparency log")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: u16,
    message: &'a str,
}

impl RekorError {
    pub fn status(&self) -> StatusCode {
        match self {
            RekorError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RekorError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            RekorError::NotFound(_) => StatusCode::NOT_FOUND,
            RekorError::Duplicate { .. } => StatusCode::CONFLICT,
            RekorError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            RekorError::NotEnabled(_) => StatusCode::NOT_IMPLEMENTED,
            RekorError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            RekorError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn unprocessable(code: u16, message: impl Into<String>) -> Self {
        RekorError::Unprocessable {
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for RekorError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = match &self {
            RekorError::Unprocessable { code, .. } => *code,
            _ => status.as_u16(),
        };
        if let RekorError::Internal(detail) = &self {
            tracing::error!(error = %detail, "request failed");
        }
        let message = self.to_string();
        let body = serde_json::to_vec(&ErrorBody {
            code,
            message: &message,
        })
        .unwrap_or_default();
        let mut response =
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if let RekorError::Duplicate { location, .. } = &self
            && let Ok(value) = HeaderValue::from_str(location)
        {
            response.headers_mut().insert(header::LOCATION, value);
        }
        response
    }
}

impl From<EntryError> for RekorError {
    fn from(e: EntryError) -> Self {
        match e.status_code() {
            422 => RekorError::unprocessable(e.body_code(), e.client_message()),
            _ => RekorError::BadRequest(e.client_message()),
        }
    }
}

impl From<EngineError> for RekorError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::EmptyLeaf | EngineError::LeafTooLarge { .. } => {
                RekorError::BadRequest(format!("error processing entry: {e}"))
            }
            EngineError::IndexBeyondTree { .. } | EngineError::UnknownTree(_) => {
                RekorError::NotFound(e.to_string())
            }
            EngineError::SizeBeyondTree { requested, current } => RekorError::BadRequest(format!(
                "the tree size requested({requested}) was greater than what is currently observable({current})"
            )),
            EngineError::InvalidRange(message) => RekorError::BadRequest(message),
            other => RekorError::Internal(sigstack_engine::error_chain(&other)),
        }
    }
}
