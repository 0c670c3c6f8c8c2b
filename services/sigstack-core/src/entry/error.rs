//! Why a proposed entry was refused, shaped so the HTTP edge can pick the
//! status and message of log.md §8 without looking inside.

use super::Kind;

/// Raised when a proposed entry cannot be canonicalised, or a stored body
/// cannot be read back.
///
/// Messages name fields and reasons, never secrets: entries carry only
/// public keys, certificates, signatures and digests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// `kind` is none of the reference kinds; the reference's swagger
    /// discriminator answers 422 before any handler runs (log.md §2.1).
    #[error("invalid kind value: {0:?}")]
    UnknownKind(String),
    /// The envelope breaks the framework-level schema: `kind`, `apiVersion`
    /// or `spec` missing or of the wrong JSON type, or `apiVersion` not
    /// semver (422 with a 6xx body code, log.md §8).
    #[error("{0}")]
    Schema(String),
    /// The body is not a JSON object. The reference answers 500 with the
    /// decoder's text; log.md §8 asks sigstack for 400.
    #[error("{0}")]
    NotJson(String),
    /// A reference kind sigstack does not accept for submission (alpine,
    /// cose, helm, jar, rekord, rfc3161, rpm, tuf).
    #[error("entry kind '{0}' is not enabled for submission on this server")]
    KindNotEnabled(String),
    /// A kind we accept, at an `apiVersion` we do not.
    #[error("{kind} implementation for version '{version}' not found")]
    UnsupportedVersion { kind: Kind, version: String },
    /// The spec fails the kind's validation: bad base64, PEM, key, hash,
    /// signature or algorithm (log.md §2.2–§2.5).
    #[error("{0}")]
    Invalid(String),
}

impl EntryError {
    /// The HTTP status of log.md §8: 422 for what the reference's framework
    /// rejects, 400 for what its handler rejects. Never 5xx: sigstore-js
    /// retries those (log.md §9 #3).
    pub fn status_code(&self) -> u16 {
        match self {
            EntryError::UnknownKind(_) | EntryError::Schema(_) => 422,
            EntryError::NotJson(_)
            | EntryError::KindNotEnabled(_)
            | EntryError::UnsupportedVersion { .. }
            | EntryError::Invalid(_) => 400,
        }
    }

    /// The `code` member of the `{code, message}` error body: the HTTP status,
    /// except for schema violations, which carry go-openapi's 6xx code
    /// (601 type, 602 required, 605 pattern; log.md §8).
    pub fn body_code(&self) -> u16 {
        match self {
            EntryError::Schema(message) if message.ends_with(REQUIRED) => 602,
            EntryError::Schema(message) if message.contains(PATTERN) => 605,
            EntryError::Schema(_) => 601,
            other => other.status_code(),
        }
    }

    /// The `message` member: handler rejections carry the reference's
    /// `error processing entry: ` prefix, the others their bare text.
    pub fn client_message(&self) -> String {
        match self {
            EntryError::KindNotEnabled(_)
            | EntryError::UnsupportedVersion { .. }
            | EntryError::Invalid(_) => format!("error processing entry: {self}"),
            EntryError::UnknownKind(_) | EntryError::Schema(_) | EntryError::NotJson(_) => {
                self.to_string()
            }
        }
    }

    /// go-openapi's `<name> in body is required`.
    pub(crate) fn required(field: &str) -> Self {
        EntryError::Schema(format!("{field} in body{REQUIRED}"))
    }

    /// go-openapi's `<name> in body must be of type <type>`.
    pub(crate) fn wrong_type(field: &str, expected: &str) -> Self {
        EntryError::Schema(format!("{field} in body must be of type {expected}"))
    }

    /// go-openapi's `<name> in body should match '<pattern>'`.
    pub(crate) fn pattern(field: &str, pattern: &str) -> Self {
        EntryError::Schema(format!("{field} in body{PATTERN}'{pattern}'"))
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        EntryError::Invalid(message.into())
    }
}

const REQUIRED: &str = " is required";
const PATTERN: &str = " should match ";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_codes_and_messages() {
        let unknown = EntryError::UnknownKind("nope".into());
        assert_eq!(unknown.status_code(), 422);
        assert_eq!(unknown.body_code(), 422);
        assert_eq!(unknown.client_message(), "invalid kind value: \"nope\"");

        let required = EntryError::required("apiVersion");
        assert_eq!(required.status_code(), 422);
        assert_eq!(required.body_code(), 602);
        assert_eq!(required.client_message(), "apiVersion in body is required");
        assert_eq!(EntryError::pattern("apiVersion", "^x$").body_code(), 605);
        assert_eq!(EntryError::wrong_type("kind", "string").body_code(), 601);

        let disabled = EntryError::KindNotEnabled("rpm".into());
        assert_eq!(disabled.status_code(), 400);
        assert_eq!(
            disabled.client_message(),
            "error processing entry: entry kind 'rpm' is not enabled for submission on this server"
        );
        let version = EntryError::UnsupportedVersion {
            kind: Kind::HashedRekord,
            version: "0.0.2".into(),
        };
        assert_eq!(version.status_code(), 400);
        assert_eq!(
            version.client_message(),
            "error processing entry: hashedrekord implementation for version '0.0.2' not found"
        );
        assert_eq!(EntryError::NotJson("eof".into()).status_code(), 400);
        assert_eq!(EntryError::NotJson("eof".into()).client_message(), "eof");
        assert_eq!(EntryError::invalid("missing hash").body_code(), 400);
    }
}
