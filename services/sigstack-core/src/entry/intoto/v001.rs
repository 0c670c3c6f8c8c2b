//! intoto 0.0.1 (log.md §2.5), as `pkg/types/intoto/v0.0.1/entry.go`
//! validates it: one key, and the DSSE envelope as a JSON string.
//!
//! The reference verifies through sigstore's DSSE wrapper with threshold 1,
//! so the envelope is accepted when the key verifies at least one of its
//! signatures. One difference: that wrapper hands the DSSE library the key,
//! which then skips signatures whose non-empty `keyid` differs from the
//! key's SSH SHA-256 fingerprint; we ignore `keyid`. cosign writes an empty
//! `keyid`, so only hand-made envelopes could tell.

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::{hash_field, spec_object};
use crate::entry::canonical::to_canonical_json_of_own;
use crate::entry::encoding::{decode_std, encode_std};
use crate::entry::envelope::{Envelope, NO_SIGNATURE_VERIFIED};
use crate::entry::pki::VerificationMaterial;
use crate::entry::{CanonicalEntry, EntryError, IndexKeys, Kind};

pub const API_VERSION: &str = "0.0.1";

/// Canonicalises an intoto 0.0.1 `spec`.
///
/// The server computes `content.hash` (SHA-256 of the envelope string as
/// received) and `content.payloadHash` (SHA-256 of the decoded payload);
/// client values are validated and ignored. The canonical body is
/// `{"content":{"hash","payloadHash"},"publicKey":<base64 canonical PEM>}`;
/// the envelope is dropped.
///
/// Index keys (log.md §2.6): `sha256:<hash>`, `sha256:` + SHA-256 of the
/// canonical key PEM, its SANs, `sha256:<payloadHash>`, and for in-toto
/// payloads the subject and materials digests.
///
/// # Errors
/// [`EntryError::Invalid`] for every failure (400).
pub(crate) fn canonicalize(spec: Value) -> Result<CanonicalEntry, EntryError> {
    spec_object(&spec)?;
    let public_key = match spec.get("publicKey").and_then(Value::as_str) {
        Some(pk) if !pk.is_empty() => Some(decode_std(pk).map_err(|e| {
            EntryError::invalid(format!("failed parsing base64 data for public key: {e}"))
        })?),
        _ => None,
    };
    let content = spec.get("content").filter(|c| c.is_object());
    let Some(content) = content else {
        return Err(EntryError::invalid("content in body is required"));
    };
    let client_hash = hash_field(content, "hash", "content.hash")?;
    hash_field(content, "payloadHash", "content.payloadHash")?;
    let Some(public_key) = public_key else {
        return Err(EntryError::invalid("publicKey in body is required"));
    };
    let material = VerificationMaterial::parse_pem(&public_key)
        .map_err(|e| EntryError::invalid(e.to_string()))?;

    let envelope_text = content
        .get("envelope")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if envelope_text.is_empty() {
        // A committed entry, valid for search only.
        return Err(EntryError::invalid(match client_hash {
            None => "missing hash value for envelope",
            Some(_) => "entry not insertable into log: missing envelope content",
        }));
    }
    let envelope = Envelope::parse(envelope_text).map_err(EntryError::invalid)?;
    if envelope.signatures.is_empty() {
        return Err(EntryError::invalid("no signature found"));
    }
    let prepared = envelope.prepare().map_err(EntryError::invalid)?;
    if prepared.first_verified(material.public_key()).is_none() {
        return Err(EntryError::invalid(NO_SIGNATURE_VERIFIED));
    }
    let decoded_payload = decode_std(&envelope.payload)
        .map_err(|e| EntryError::invalid(format!("could not decode envelope payload: {e}")))?;
    if envelope.payload.is_empty() || envelope.payload_type.is_empty() {
        return Err(EntryError::invalid(
            "entry not insertable into log: invalid DSSE envelope",
        ));
    }

    let hash = hex::encode(Sha256::digest(envelope_text.as_bytes()));
    let payload_hash = hex::encode(Sha256::digest(&decoded_payload));
    let canonical_pem = material.canonical_pem();
    let body = to_canonical_json_of_own(&json!({
        "apiVersion": API_VERSION,
        "kind": Kind::Intoto.name(),
        "spec": {
            "content": {
                "hash": {"algorithm": "sha256", "value": hash},
                "payloadHash": {"algorithm": "sha256", "value": payload_hash},
            },
            "publicKey": encode_std(canonical_pem.as_bytes()),
        },
    }));

    let mut keys = IndexKeys::default();
    keys.push(&format!("sha256:{hash}"));
    keys.push_verifier(&material);
    keys.push(&format!("sha256:{payload_hash}"));
    keys.push_statement(&envelope.payload_type, &decoded_payload);
    Ok(CanonicalEntry {
        kind: Kind::Intoto,
        api_version: API_VERSION.to_owned(),
        body,
        index_keys: keys.into_vec(),
    })
}
