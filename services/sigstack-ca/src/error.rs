//! The one error a client can cause while proving who it is (ca.md §14).
//!
//! Fulcio answers every token problem with gRPC InvalidArgument / HTTP 400 and one fixed message;
//! it never answers 401 or 403. The `Display` text is the detailed cause, for the log line only;
//! [`IdentityError::message`] is what the client reads. No variant carries a token or a key.

use std::borrow::Cow;

/// The fixed client-facing message for every token failure (ca.md §6 step 7, §14).
pub const TOKEN_ERROR_MESSAGE: &str = "There was an error processing the identity token";

/// gRPC InvalidArgument, the `code` of Fulcio's JSON error body.
pub const INVALID_ARGUMENT: i32 = 3;

/// gRPC Internal, for the CA's own failures (HTTP 500).
pub const INTERNAL: i32 = 13;

/// gRPC Unavailable, for a request that ran out of time (HTTP 503).
pub const UNAVAILABLE: i32 = 14;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Missing token, not three parts, or undecodable header or payload.
    #[error("malformed token: {0}")]
    MalformedToken(&'static str),
    /// `iss` matches no `OIDCIssuers` key and no `MetaIssuers` pattern.
    #[error("token issuer is not configured")]
    UnknownIssuer,
    /// Discovery document or JWKS could not be fetched or did not parse.
    #[error("issuer discovery failed: {0}")]
    Discovery(String),
    /// `alg` is `none`, unsupported, or not offered by the issuer.
    #[error("signature algorithm {0:?} is not allowed")]
    DisallowedAlgorithm(String),
    /// No key in the JWKS has the token's `kid`, even after a refresh.
    #[error("no issuer key matches the token key id")]
    UnknownKey,
    #[error("token signature does not verify")]
    BadSignature,
    #[error("token audience does not contain the configured client id")]
    WrongAudience,
    /// `exp` missing or in the past (no leeway, ca.md §6 step 6).
    #[error("token has expired")]
    Expired,
    /// `nbf` more than the allowed leeway in the future.
    #[error("token is not yet valid")]
    NotYetValid,
    /// `iss` claim differs from the issuer the token was verified against.
    #[error("token issuer claim does not match the issuer")]
    IssuerMismatch,
    /// A type-specific requirement of ca.md §7.2 failed (e.g. email not verified).
    #[error("token claims rejected: {0}")]
    ClaimRequirement(String),
    /// Certificate content error (ci-provider template, bad SAN URI): the text reaches the client
    /// (ca.md §7.3, §14).
    #[error("{0}")]
    CertificateContent(String),
}

impl IdentityError {
    /// HTTP status for the REST edge: always 400 (ca.md §14).
    #[must_use]
    pub fn status(&self) -> u16 {
        400
    }

    /// gRPC status code for the gRPC edge and the JSON body's `code`: InvalidArgument.
    #[must_use]
    pub fn grpc_code(&self) -> i32 {
        INVALID_ARGUMENT
    }

    /// The message the client reads (ca.md §14).
    #[must_use]
    pub fn message(&self) -> Cow<'static, str> {
        match self {
            Self::CertificateContent(text) => Cow::Owned(text.clone()),
            _ => Cow::Borrowed(TOKEN_ERROR_MESSAGE),
        }
    }

    /// A short label for logs and metrics.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MalformedToken(_) => "malformed",
            Self::UnknownIssuer => "unknown_issuer",
            Self::Discovery(_) => "discovery",
            Self::DisallowedAlgorithm(_) => "algorithm",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "signature",
            Self::WrongAudience => "audience",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuerMismatch => "issuer_mismatch",
            Self::ClaimRequirement(_) => "claims",
            Self::CertificateContent(_) => "certificate_content",
        }
    }

    /// Fulcio's JSON error body, `{"code": 3, "message": …}`.
    #[must_use]
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "code": self.grpc_code(), "message": self.message() })
    }
}
