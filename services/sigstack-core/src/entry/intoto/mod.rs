//! intoto entries: 0.0.2 (log.md §2.4; sigstore-js, `@sigstore/cli`) and
//! 0.0.1 (§2.5; `cosign attest --rekor-entry-type=intoto`).
//!
//! Both carry a DSSE envelope verified with SHA-256 for ECDSA and RSA and
//! pure Ed25519 (`LoadVerifier(key, SHA256)`), without algorithm policy or
//! chain check, like dsse. They differ in shape and in what the canonical
//! body keeps: 0.0.2 keeps the signatures with their keys *as submitted*
//! and drops the payload; 0.0.1 keeps only digests and the canonical key.

mod v001;
mod v002;

use serde_json::Value;

use super::EntryError;

pub use v001::API_VERSION as API_VERSION_V001;
pub(crate) use v001::canonicalize as canonicalize_v001;
pub use v002::API_VERSION as API_VERSION_V002;
pub(crate) use v002::canonicalize as canonicalize_v002;

/// A client-supplied `{algorithm, value}` digest object.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HashField {
    algorithm: String,
    value: String,
}

/// Reads `parent[key]` as the reference's models validate a digest object
/// (`algorithm` required and `sha256`, `value` required, not checked as
/// hex). Absent, or not an object (which Go's decoder skips), is `None`.
///
/// # Errors
/// [`EntryError::Invalid`] naming the `path` of the failed field.
fn hash_field(parent: &Value, key: &str, path: &str) -> Result<Option<HashField>, EntryError> {
    let Some(Value::Object(hash)) = parent.get(key) else {
        return Ok(None);
    };
    let algorithm = hash
        .get("algorithm")
        .and_then(Value::as_str)
        .ok_or_else(|| EntryError::invalid(format!("{path}.algorithm in body is required")))?;
    if algorithm != "sha256" {
        return Err(EntryError::invalid(format!(
            "{path}.algorithm in body should be one of [sha256]"
        )));
    }
    let value = hash
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| EntryError::invalid(format!("{path}.value in body is required")))?;
    Ok(Some(HashField {
        algorithm: algorithm.to_owned(),
        value: value.to_owned(),
    }))
}

/// The reference's `DecodeEntry` takes only a JSON object as `spec`.
fn spec_object(spec: &Value) -> Result<(), EntryError> {
    if spec.is_object() {
        Ok(())
    } else {
        Err(EntryError::invalid(
            "spec: unsupported input type for DecodeEntry",
        ))
    }
}

#[cfg(test)]
mod tests;
