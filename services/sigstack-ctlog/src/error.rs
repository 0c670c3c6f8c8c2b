//! The CT personality's errors and their one translation to HTTP. Every 4xx
//! and 5xx answer is JSON `{code, message}`; RFC 6962 clients expect 400 for
//! a refused chain. Internal detail is logged once and never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sigstack_engine::EngineError;

use crate::chain::ChainError;

#[derive(Debug, thiserror::Error)]
pub enum CtError {
    /// 400 with this message.
    #[error("{0}")]
    BadRequest(String),
    /// 404: no such leaf or endpoint.
    #[error("{0}")]
    NotFound(String),
    /// 413 above the configured body limit.
    #[error("request body exceeds the limit of {0} bytes")]
    TooLarge(usize),
    /// 503 with `Retry-After`: the sequencer could not commit now; the CA's
    /// client retries these (`spec/ca.md` §9.3).
    #[error("the log is temporarily unavailable")]
    Unavailable(String),
    /// 500: the cause is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: u16,
    message: &'a str,
}

impl CtError {
    pub fn status(&self) -> StatusCode {
        match self {
            CtError::BadRequest(_) => StatusCode::BAD_REQUEST,
            CtError::NotFound(_) => StatusCode::NOT_FOUND,
            CtError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            CtError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            CtError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for CtError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            CtError::Internal(detail) => tracing::error!(error = %detail, "request failed"),
            CtError::Unavailable(detail) => tracing::warn!(error = %detail, "request deferred"),
            _ => {}
        }
        let message = self.to_string();
        let body = serde_json::to_vec(&ErrorBody {
            code: status.as_u16(),
            message: &message,
        })
        .unwrap_or_default();
        let mut response =
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if let CtError::Unavailable(_) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<ChainError> for CtError {
    fn from(e: ChainError) -> Self {
        CtError::BadRequest(e.to_string())
    }
}

impl From<EngineError> for CtError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::EmptyLeaf | EngineError::LeafTooLarge { .. } => {
                CtError::BadRequest(format!("entry refused: {e}"))
            }
            EngineError::IndexBeyondTree { .. } => CtError::NotFound(e.to_string()),
            EngineError::SizeBeyondTree { .. } | EngineError::InvalidRange(_) => {
                CtError::BadRequest(e.to_string())
            }
            other if other.is_transient() => {
                CtError::Unavailable(sigstack_engine::error_chain(&other))
            }
            other => CtError::Internal(sigstack_engine::error_chain(&other)),
        }
    }
}
