//! hashedrekord 0.0.1 (log.md §2.2): a signature over a client-supplied
//! artifact digest, with a public key or (Fulcio) certificate.
//!
//! Validation follows the reference (`pkg/types/hashedrekord/v0.0.1/
//! entry.go`) step by step: base64 of signature and key, required fields,
//! the key per log.md §2.1, hash length per algorithm, hex, then the chain
//! and the signature over the digest, then the algorithm policy.

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::canonical::to_canonical_json_of_own;
use super::encoding::{decode_std, encode_std};
use super::pki::{HashAlgorithm, PkiError, VerificationMaterial, verify_prehashed};
use super::{CanonicalEntry, EntryError, IndexKeys, Kind};

pub const API_VERSION: &str = "0.0.1";

#[derive(Deserialize)]
struct Spec {
    signature: Option<Signature>,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Signature {
    content: Option<String>,
    #[serde(rename = "publicKey")]
    public_key: Option<PublicKeyContent>,
}

#[derive(Deserialize)]
struct PublicKeyContent {
    content: Option<String>,
}

/// `data`; the legacy `url` and `content` members are ignored and dropped.
#[derive(Deserialize)]
struct Data {
    hash: Option<HashValue>,
}

#[derive(Deserialize)]
struct HashValue {
    algorithm: Option<String>,
    value: Option<String>,
}

/// Canonicalises a hashedrekord 0.0.1 `spec`.
///
/// The canonical body keeps `signature.content` (re-encoded from the
/// decoded bytes), replaces `signature.publicKey.content` with the base64 of
/// the canonical PEM, keeps `data.hash` verbatim (case preserved) and drops
/// everything else.
///
/// Index keys (log.md §2.6), reproducing the reference's quirk: the bare
/// hex SHA-256 of the key PEM *as submitted* (so a `publicKey` search finds
/// the entry only when the client sent canonical PEM), the leaf
/// certificate's SANs, and `<algorithm>:<value>`.
///
/// # Errors
/// [`EntryError::Invalid`] for every failure (400).
pub(crate) fn canonicalize(spec: Value) -> Result<CanonicalEntry, EntryError> {
    let spec: Spec =
        serde_json::from_value(spec).map_err(|e| EntryError::invalid(format!("spec: {e}")))?;
    // Go's decoder treats an empty string as an absent value.
    let non_empty = |s: Option<String>| s.filter(|s| !s.is_empty());

    let (signature, public_key_pem) = match spec.signature {
        None => (None, None),
        Some(sig) => {
            let signature = non_empty(sig.content)
                .map(|c| decode_std(&c))
                .transpose()
                .map_err(|e| {
                    EntryError::invalid(format!(
                        "failed parsing base64 data for signature content: {e}"
                    ))
                })?;
            let key = sig
                .public_key
                .map(|pk| {
                    non_empty(pk.content)
                        .map(|c| decode_std(&c))
                        .transpose()
                        .map_err(|e| {
                            EntryError::invalid(format!(
                                "failed parsing base64 data for public key content: {e}"
                            ))
                        })
                })
                .transpose()?;
            (Some(signature), key)
        }
    };
    let Some(signature) = signature else {
        return Err(EntryError::invalid("signature in body is required"));
    };
    let Some(data) = spec.data else {
        return Err(EntryError::invalid("data in body is required"));
    };
    let hash = match data.hash {
        None => None,
        Some(HashValue { algorithm, value }) => {
            let algorithm = algorithm
                .ok_or_else(|| EntryError::invalid("data.hash.algorithm in body is required"))?;
            let hash_algorithm = HashAlgorithm::from_name(&algorithm).ok_or_else(|| {
                EntryError::invalid(
                    "data.hash.algorithm in body should be one of [sha256 sha384 sha512]",
                )
            })?;
            let value =
                value.ok_or_else(|| EntryError::invalid("data.hash.value in body is required"))?;
            Some((hash_algorithm, algorithm, value))
        }
    };

    let Some(public_key_pem) = public_key_pem else {
        return Err(EntryError::invalid("missing public key"));
    };
    let material = VerificationMaterial::parse_pem(public_key_pem.as_deref().unwrap_or_default())
        .map_err(|e| EntryError::invalid(e.to_string()))?;
    let Some((hash_algorithm, algorithm, value)) = hash else {
        return Err(EntryError::invalid("missing hash"));
    };
    if value.len() != hash_algorithm.digest_len() * 2 {
        return Err(EntryError::invalid("invalid value for hash"));
    }
    let digest =
        hex::decode(&value).map_err(|e| EntryError::invalid(format!("invalid hash value: {e}")))?;
    let signature = signature.unwrap_or_default();
    if signature.is_empty() {
        return Err(EntryError::invalid(
            "verifying signature: X509 signature has not been initialized",
        ));
    }
    material
        .verify_chain()
        .and_then(|()| verify_prehashed(material.public_key(), hash_algorithm, &digest, &signature))
        .map_err(|e| match e {
            PkiError::AlgorithmNotAllowed { .. } => {
                EntryError::invalid("entry algorithms are not allowed")
            }
            other => EntryError::invalid(format!("verifying signature: {other}")),
        })?;

    let canonical_pem = material.canonical_pem();
    let body = to_canonical_json_of_own(&json!({
        "apiVersion": API_VERSION,
        "kind": Kind::HashedRekord.name(),
        "spec": {
            "data": {"hash": {"algorithm": algorithm, "value": value}},
            "signature": {
                "content": encode_std(&signature),
                "publicKey": {"content": encode_std(canonical_pem.as_bytes())},
            },
        },
    }));

    let mut keys = IndexKeys::default();
    let submitted = public_key_pem.unwrap_or_default();
    keys.push(&hex::encode(Sha256::digest(&submitted)));
    for san in material.subject_alternative_names() {
        keys.push(san);
    }
    keys.push(&format!("{algorithm}:{value}"));
    Ok(CanonicalEntry {
        kind: Kind::HashedRekord,
        api_version: API_VERSION.to_owned(),
        body,
        index_keys: keys.into_vec(),
    })
}

#[cfg(test)]
mod tests;
