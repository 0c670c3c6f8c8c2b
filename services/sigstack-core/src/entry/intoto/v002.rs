//! intoto 0.0.2 (log.md §2.4), as `pkg/types/intoto/v0.0.2/entry.go`
//! validates it.
//!
//! The envelope is inline with every `payload` and `sig` base64-encoded a
//! second time (the schema's `format: byte` decodes one layer, leaving the
//! DSSE base64 text), and each signature carries its own `publicKey`. Every
//! key is parsed and must verify some signature (one pass each, see
//! [`crate::entry::envelope`]), and every signature must end up verified.

use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use super::{HashField, hash_field, spec_object};
use crate::entry::canonical::to_canonical_json_of_own;
use crate::entry::encoding::{decode_std, encode_std};
use crate::entry::envelope::{Envelope, EnvelopeSignature, NO_SIGNATURE_VERIFIED};
use crate::entry::pki::VerificationMaterial;
use crate::entry::{CanonicalEntry, EntryError, IndexKeys, Kind};

pub const API_VERSION: &str = "0.0.2";

/// One `signatures[]` item, outer base64 layer decoded.
struct Signature {
    keyid: String,
    /// The DSSE signature's base64 text.
    sig: Vec<u8>,
    /// The key PEM exactly as submitted.
    public_key: Vec<u8>,
}

/// Canonicalises an intoto 0.0.2 `spec`.
///
/// The canonical body keeps `content.envelope.payloadType` and
/// `signatures[]` in submitted order — `keyid` omitted when empty, `sig`
/// double-base64 and `publicKey` base64 of the PEM **as submitted**, not
/// re-canonicalised — drops `payload`, keeps the client's `content.hash`
/// (required, never recomputed) and sets `content.payloadHash` to SHA-256
/// of the decoded payload, whatever the client sent.
///
/// Index keys (log.md §2.6): per signature `sha256:` + SHA-256 of the
/// canonical key PEM and its SANs, `sha256:<payloadHash>`, and for in-toto
/// payloads the subject and materials digests.
///
/// # Errors
/// [`EntryError::Invalid`] for every failure (400). The reference answers a
/// missing `content.hash` with a 500 from its canonicaliser; an input error
/// is a 400 here (log.md §9 #3).
pub(crate) fn canonicalize(spec: Value) -> Result<CanonicalEntry, EntryError> {
    spec_object(&spec)?;
    let empty = Value::Object(Map::new());
    let content = spec
        .get("content")
        .filter(|c| c.is_object())
        .unwrap_or(&empty);
    let envelope = content
        .get("envelope")
        .filter(|e| e.is_object())
        .unwrap_or(&empty);
    let payload_type = envelope.get("payloadType").and_then(Value::as_str);
    let payload = match envelope.get("payload").and_then(Value::as_str) {
        Some(p) if !p.is_empty() => decode_std(p).map_err(|e| {
            EntryError::invalid(format!("failed parsing base64 data for payload: {e}"))
        })?,
        _ => Vec::new(),
    };
    let signatures = match envelope.get("signatures") {
        Some(Value::Array(items)) => Some(signatures(items)?),
        _ => None,
    };
    let hash = hash_field(content, "hash", "content.hash")?;
    // The client's payloadHash is validated, then overwritten.
    hash_field(content, "payloadHash", "content.payloadHash")?;

    let Some(payload_type) = payload_type else {
        return Err(EntryError::invalid(
            "content.envelope.payloadType in body is required",
        ));
    };
    let Some(signatures) = signatures else {
        return Err(EntryError::invalid(
            "content.envelope.signatures in body is required",
        ));
    };
    if signatures.is_empty() {
        return Err(EntryError::invalid(
            "content.envelope.signatures in body should have at least 1 items",
        ));
    }
    if payload.is_empty() {
        // Valid for search, not for insertion.
        return Err(EntryError::invalid(
            "entry not insertable into log: missing envelope content",
        ));
    }

    let dsse = Envelope {
        payload_type: payload_type.to_owned(),
        payload: String::from_utf8_lossy(&payload).into_owned(),
        signatures: signatures
            .iter()
            .map(|s| EnvelopeSignature {
                keyid: s.keyid.clone(),
                sig: String::from_utf8_lossy(&s.sig).into_owned(),
            })
            .collect(),
    };
    let prepared = dsse.prepare().map_err(EntryError::invalid)?;
    let mut materials = Vec::with_capacity(signatures.len());
    let mut verified = vec![false; signatures.len()];
    for signature in &signatures {
        let material = VerificationMaterial::parse_pem(&signature.public_key)
            .map_err(|e| EntryError::invalid(format!("could not parse public key as x509: {e}")))?;
        let Some(index) = prepared.first_verified(material.public_key()) else {
            return Err(EntryError::invalid(NO_SIGNATURE_VERIFIED));
        };
        // Signatures equal as strings are one signature to the reference;
        // `index` comes from `prepared`, built one-to-one from `dsse`.
        for (flag, other) in verified.iter_mut().zip(&dsse.signatures) {
            *flag |= other.sig == dsse.signatures[index].sig;
        }
        materials.push(material);
    }
    if verified.contains(&false) {
        return Err(EntryError::invalid(
            "all signatures must have a key that verifies it",
        ));
    }
    // The payload hash decodes with standard base64 only, unlike the DSSE
    // verifier, which also takes URL-safe base64.
    let decoded_payload = decode_std(&payload)
        .map_err(|e| EntryError::invalid(format!("could not decode envelope payload: {e}")))?;
    if payload_type.is_empty() {
        return Err(EntryError::invalid(
            "entry not insertable into log: missing payloadType content",
        ));
    }
    let Some(HashField { algorithm, value }) = hash else {
        return Err(EntryError::invalid("missing envelope digest"));
    };
    let payload_hash = hex::encode(Sha256::digest(&decoded_payload));

    let body = to_canonical_json_of_own(&json!({
        "apiVersion": API_VERSION,
        "kind": Kind::Intoto.name(),
        "spec": {"content": {
            "envelope": {
                "payloadType": payload_type,
                "signatures": signatures.iter().map(canonical_signature).collect::<Vec<_>>(),
            },
            "hash": {"algorithm": algorithm, "value": value},
            "payloadHash": {"algorithm": "sha256", "value": payload_hash},
        }},
    }));

    let mut keys = IndexKeys::default();
    for material in &materials {
        keys.push_verifier(material);
    }
    keys.push(&format!("sha256:{payload_hash}"));
    keys.push_statement(payload_type, &decoded_payload);
    Ok(CanonicalEntry {
        kind: Kind::Intoto,
        api_version: API_VERSION.to_owned(),
        body,
        index_keys: keys.into_vec(),
    })
}

/// The `signatures[]` items (non-objects skipped, as Go's decoder does),
/// outer base64 decoded and required members checked.
fn signatures(items: &[Value]) -> Result<Vec<Signature>, EntryError> {
    let decode = |value: &Value, what: &str| -> Result<Option<Vec<u8>>, EntryError> {
        value
            .as_str()
            .map(|s| {
                decode_std(s).map_err(|e| {
                    EntryError::invalid(format!("failed parsing base64 data for {what}: {e}"))
                })
            })
            .transpose()
    };
    let objects: Vec<&Map<String, Value>> = items.iter().filter_map(Value::as_object).collect();
    let mut decoded = Vec::with_capacity(objects.len());
    for item in &objects {
        let sig = decode(item.get("sig").unwrap_or(&Value::Null), "signature")?;
        let public_key = decode(item.get("publicKey").unwrap_or(&Value::Null), "public key")?;
        decoded.push((item, sig, public_key));
    }
    decoded
        .into_iter()
        .enumerate()
        .map(|(i, (item, sig, public_key))| {
            let required = |field: &str| {
                EntryError::invalid(format!(
                    "content.envelope.signatures.{i}.{field} in body is required"
                ))
            };
            Ok(Signature {
                keyid: item
                    .get("keyid")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                sig: sig.ok_or_else(|| required("sig"))?,
                public_key: public_key.ok_or_else(|| required("publicKey"))?,
            })
        })
        .collect()
}

fn canonical_signature(signature: &Signature) -> Value {
    let mut item = json!({
        "publicKey": encode_std(&signature.public_key),
        "sig": encode_std(&signature.sig),
    });
    if !signature.keyid.is_empty() {
        item["keyid"] = json!(signature.keyid);
    }
    item
}
