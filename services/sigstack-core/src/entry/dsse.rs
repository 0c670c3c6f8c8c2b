//! dsse 0.0.1 (log.md §2.3): a DSSE envelope, sent as a JSON string, with
//! the keys or certificates that verify its signatures.
//!
//! Validation follows the reference (`pkg/types/dsse/v0.0.1/entry.go`):
//! base64 of the verifiers, required fields, `proposedContent` alone (the
//! read-side `signatures`/`envelopeHash`/`payloadHash` are server-computed),
//! at least one envelope signature, then verifiers in order — each must
//! parse and verify some signature (see `entry::envelope` for what one
//! pass accepts), stopping once all are verified — and every signature must
//! end up verified. Signatures equal as strings count once. No algorithm
//! policy applies and chains are not verified (only hashedrekord does both).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::canonical::to_canonical_json_of_own;
use super::encoding::{decode_std, encode_std};
use super::envelope::{Envelope, NO_SIGNATURE_VERIFIED};
use super::pki::VerificationMaterial;
use super::{CanonicalEntry, EntryError, IndexKeys, Kind};

pub const API_VERSION: &str = "0.0.1";

#[derive(Deserialize)]
struct Spec {
    #[serde(rename = "proposedContent")]
    proposed_content: Option<Value>,
    signatures: Option<Value>,
    #[serde(rename = "envelopeHash")]
    envelope_hash: Option<Value>,
    #[serde(rename = "payloadHash")]
    payload_hash: Option<Value>,
}

/// Canonicalises a dsse 0.0.1 `spec`.
///
/// The canonical body holds `envelopeHash` (SHA-256 of the envelope string
/// exactly as received, so byte-different encodings of one envelope are
/// different entries), `payloadHash` (SHA-256 of the decoded payload) and
/// one `{signature, verifier}` per distinct envelope signature, sorted by
/// signature, `verifier` being the base64 of the canonical PEM of the key
/// that verified it; `proposedContent` is dropped.
///
/// Index keys (log.md §2.6): per signature `sha256:` + SHA-256 of the
/// canonical verifier PEM and the verifier's SANs, then
/// `sha256:<payloadHash>`, `sha256:<envelopeHash>`, and for in-toto payloads
/// the subject and materials digests.
///
/// # Errors
/// [`EntryError::Invalid`] for every failure (400).
pub(crate) fn canonicalize(spec: Value) -> Result<CanonicalEntry, EntryError> {
    let spec: Spec =
        serde_json::from_value(spec).map_err(|e| EntryError::invalid(format!("spec: {e}")))?;
    // Go's decoder keeps only members of the expected JSON type.
    let proposed = spec.proposed_content.filter(Value::is_object);
    let read_side = [
        spec.signatures
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty()),
        spec.envelope_hash.as_ref().is_some_and(Value::is_object),
        spec.payload_hash.as_ref().is_some_and(Value::is_object),
    ];
    let (envelope_text, verifiers) = match proposed {
        Some(content) => proposed_content(&content)?,
        None if read_side.iter().all(|present| *present) => {
            return Err(EntryError::invalid(
                "entry not insertable into log: missing proposed content",
            ));
        }
        None => {
            return Err(EntryError::invalid(
                "either proposedContent or envelopeHash, payloadHash, and signatures must be present",
            ));
        }
    };
    if read_side.iter().any(|present| *present) {
        return Err(EntryError::invalid(
            "either proposedContent or envelopeHash, payloadHash, and signatures must be present but not both",
        ));
    }
    let envelope = Envelope::parse(&envelope_text).map_err(EntryError::invalid)?;
    if envelope.signatures.is_empty() {
        return Err(EntryError::invalid(
            "DSSE envelope must contain 1 or more signatures",
        ));
    }
    let prepared = envelope.prepare().map_err(EntryError::invalid)?;

    // Signature text → the verifier that (last) verified it, sorted as the
    // reference sorts the canonical signatures.
    let mut verified: BTreeMap<&str, VerificationMaterial> = BTreeMap::new();
    let all_verified = |verified: &BTreeMap<&str, _>| {
        envelope
            .signatures
            .iter()
            .all(|s| verified.contains_key(s.sig.as_str()))
    };
    for pem in &verifiers {
        if all_verified(&verified) {
            break;
        }
        let material = VerificationMaterial::parse_pem(pem)
            .map_err(|e| EntryError::invalid(format!("could not parse public key as x509: {e}")))?;
        let Some(index) = prepared.first_verified(material.public_key()) else {
            return Err(EntryError::invalid(NO_SIGNATURE_VERIFIED));
        };
        // `index` comes from `prepared`, built one-to-one from these signatures.
        verified.insert(envelope.signatures[index].sig.as_str(), material);
    }
    if !all_verified(&verified) {
        return Err(EntryError::invalid(
            "all signatures must have a key that verifies it",
        ));
    }

    let payload_hash = hex::encode(Sha256::digest(&prepared.payload));
    let envelope_hash = hex::encode(Sha256::digest(envelope_text.as_bytes()));
    let canonical_pems: Vec<(&str, String)> = verified
        .iter()
        .map(|(sig, material)| (*sig, material.canonical_pem()))
        .collect();
    let body = to_canonical_json_of_own(&json!({
        "apiVersion": API_VERSION,
        "kind": Kind::Dsse.name(),
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": envelope_hash},
            "payloadHash": {"algorithm": "sha256", "value": payload_hash},
            "signatures": canonical_pems
                .iter()
                .map(|(sig, pem)| json!({"signature": sig, "verifier": encode_std(pem)}))
                .collect::<Vec<_>>(),
        },
    }));

    let mut keys = IndexKeys::default();
    for material in verified.values() {
        keys.push_verifier(material);
    }
    keys.push(&format!("sha256:{payload_hash}"));
    keys.push(&format!("sha256:{envelope_hash}"));
    keys.push_statement(&envelope.payload_type, &prepared.payload);
    Ok(CanonicalEntry {
        kind: Kind::Dsse,
        api_version: API_VERSION.to_owned(),
        body,
        index_keys: keys.into_vec(),
    })
}

/// The envelope text and decoded verifier PEMs of `proposedContent`.
fn proposed_content(content: &Value) -> Result<(String, Vec<Vec<u8>>), EntryError> {
    // Go's decoder skips verifiers that are not strings or are empty.
    let verifiers = match content.get("verifiers") {
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    decode_std(s).map_err(|e| {
                        EntryError::invalid(format!("failed parsing base64 data for verifier: {e}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        _ => None,
    };
    let envelope = content
        .get("envelope")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| EntryError::invalid("proposedContent.envelope in body is required"))?;
    let verifiers = verifiers
        .ok_or_else(|| EntryError::invalid("proposedContent.verifiers in body is required"))?;
    if verifiers.is_empty() {
        return Err(EntryError::invalid(
            "proposedContent.verifiers in body should have at least 1 items",
        ));
    }
    Ok((envelope, verifiers))
}

#[cfg(test)]
mod tests;
