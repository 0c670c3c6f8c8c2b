//! The two search endpoints (`spec/log.md` §1.10, §1.11): bulk retrieval by
//! ID, index or proposed entry, and the search index (by artifact digest,
//! public key, email or subject), read from the keys the sequencer wrote in
//! each entry's own transaction, so a 201'd entry is findable at once.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sigstack_core::entry::canonicalize_proposed;
use sigstack_core::entry::id::{entry_id, parse_entry_or_uuid};
use sigstack_core::entry::pki::VerificationMaterial;
use sigstack_engine::EngineStore;

use crate::error::{RekorError, validation};
use crate::log::RekorLog;
use crate::model::LogEntry;

/// Rekor's cap on the items of one retrieve request, per array and in total.
const MAX_RETRIEVE: usize = 10;
/// The most entry IDs one search-index criterion yields.
const MAX_SEARCH_RESULTS: u32 = 10_000;

/// `POST /api/v1/log/entries/retrieve`.
#[derive(Debug, Default, Deserialize)]
pub struct SearchLogQuery {
    #[serde(rename = "entryUUIDs", default)]
    pub entry_uuids: Vec<String>,
    #[serde(rename = "logIndexes", default)]
    pub log_indexes: Vec<i64>,
    #[serde(default)]
    pub entries: Vec<Value>,
}

/// `POST /api/v1/index/retrieve`.
#[derive(Debug, Default, Deserialize)]
pub struct SearchIndex {
    pub hash: Option<String>,
    #[serde(rename = "publicKey")]
    pub public_key: Option<SearchKeyQuery>,
    pub email: Option<String>,
    pub subject: Option<String>,
    pub operator: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SearchKeyQuery {
    pub format: Option<String>,
    pub content: Option<String>,
}

/// Parses a JSON request body, answering Rekor's statuses for what is wrong.
pub fn parse_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    name: &str,
) -> Result<T, RekorError> {
    if body.is_empty() {
        return Err(RekorError::unprocessable(
            validation::REQUIRED,
            format!("{name} in body is required"),
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            RekorError::unprocessable(validation::INVALID_TYPE, format!("{name} in body: {e}"))
        } else {
            RekorError::BadRequest(format!("parsing {name} body failed: {e}"))
        }
    })
}

impl<S: EngineStore> RekorLog<S> {
    /// Bulk retrieval: entries by ID or proposed content first, then by
    /// index; what is not found is skipped.
    ///
    /// # Errors
    /// 422 past ten items, 400 for a malformed ID or entry.
    pub async fn retrieve(&self, query: SearchLogQuery) -> Result<Vec<LogEntry>, RekorError> {
        for (name, len) in [
            ("entryUUIDs", query.entry_uuids.len()),
            ("logIndexes", query.log_indexes.len()),
            ("entries", query.entries.len()),
        ] {
            if len > MAX_RETRIEVE {
                return Err(RekorError::unprocessable(
                    validation::MAX_ITEMS,
                    format!("{name} in body should have at most {MAX_RETRIEVE} items"),
                ));
            }
        }
        if query.entry_uuids.len() + query.log_indexes.len() + query.entries.len() > MAX_RETRIEVE {
            return Err(RekorError::unprocessable(
                422,
                format!("more than max allowed {MAX_RETRIEVE} entries in request"),
            ));
        }
        if let Some(negative) = query.log_indexes.iter().find(|i| **i < 0) {
            return Err(RekorError::unprocessable(
                validation::MINIMUM,
                format!("logIndexes in body should be greater than or equal to 0, got {negative}"),
            ));
        }
        let mut found = Vec::new();
        for id in &query.entry_uuids {
            if parse_entry_or_uuid(id).is_err() {
                let what = if id.len() == 80 { "entryID" } else { "uuid" };
                return Err(RekorError::BadRequest(format!("invalid {what} {id}")));
            }
            match self.entry_by_id(id).await {
                Ok(entry) => found.push(entry),
                Err(RekorError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        for proposed in &query.entries {
            let bytes =
                serde_json::to_vec(proposed).map_err(|e| RekorError::BadRequest(e.to_string()))?;
            let canonical = canonicalize_proposed(&bytes)
                .map_err(|e| RekorError::BadRequest(e.client_message()))?;
            found.extend(self.entries_with_hash(&canonical.leaf_hash()).await?);
        }
        for index in &query.log_indexes {
            match self.entry_at(index.unsigned_abs()).await {
                Ok(entry) => found.push(entry),
                Err(RekorError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    }

    /// The search index: each criterion yields a set of entry IDs, combined
    /// by `or` (default) or `and`.
    ///
    /// # Errors
    /// 422 for a malformed digest, email or operator; 400 for an unsupported
    /// or unparsable key.
    pub async fn search_index(&self, query: SearchIndex) -> Result<Vec<String>, RekorError> {
        let and = match query.operator.as_deref() {
            None | Some("or") => false,
            Some("and") => true,
            Some(other) => {
                return Err(RekorError::unprocessable(
                    606,
                    format!("operator in body should be one of [and or], got {other:?}"),
                ));
            }
        };
        let mut keys = Vec::new();
        if let Some(hash) = &query.hash {
            keys.push(digest_key(hash)?);
        }
        if let Some(key) = &query.public_key {
            keys.push(public_key_key(key)?);
        }
        if let Some(email) = &query.email {
            if !email.contains('@') || email.len() > 320 {
                return Err(RekorError::unprocessable(
                    validation::INVALID_TYPE,
                    "email in body must be of type email",
                ));
            }
            keys.push(email.to_lowercase());
        }
        if let Some(subject) = &query.subject {
            if subject.is_empty() || subject.chars().count() > 512 {
                return Err(RekorError::unprocessable(
                    validation::INVALID_TYPE,
                    "subject in body should be 1 to 512 characters",
                ));
            }
            keys.push(subject.to_lowercase());
        }
        let mut result: Option<BTreeSet<String>> = None;
        for key in keys {
            let ids: BTreeSet<String> = self
                .engine()
                .store()
                .find_by_key(&key, MAX_SEARCH_RESULTS)
                .await
                .map_err(|e| {
                    RekorError::Internal(format!("unexpected result from searching index: {e}"))
                })?
                .into_iter()
                .map(|(tree, _, hash)| entry_id(tree, &hash))
                .collect();
            result = Some(match result {
                None => ids,
                Some(acc) if and => acc.intersection(&ids).cloned().collect(),
                Some(acc) => acc.union(&ids).cloned().collect(),
            });
        }
        Ok(result.unwrap_or_default().into_iter().collect())
    }
}

/// `sha256:<hex>` from a digest query (a bare 64-hex digest is SHA-256),
/// lower-cased.
fn digest_key(hash: &str) -> Result<String, RekorError> {
    let (algorithm, hex_part) = match hash.split_once(':') {
        Some((a, h)) => (a.to_owned(), h),
        None => ("sha256".to_owned(), hash),
    };
    let expected = match algorithm.as_str() {
        "sha256" => 64,
        "sha512" => 128,
        "sha1" => 40,
        _ => 0,
    };
    if expected == 0
        || hex_part.len() != expected
        || !hex_part.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(RekorError::unprocessable(
            validation::PATTERN,
            "hash in body should match a sha256, sha512 or sha1 digest",
        ));
    }
    Ok(format!("{algorithm}:{}", hex_part.to_lowercase()))
}

/// The bare hex SHA-256 of the key's canonical PEM, as the reference looks it up.
fn public_key_key(key: &SearchKeyQuery) -> Result<String, RekorError> {
    match key.format.as_deref() {
        Some("x509") => {}
        Some("pgp" | "minisign" | "ssh" | "tuf") => {
            return Err(RekorError::BadRequest(
                "the PKI format requested is not supported by this server".into(),
            ));
        }
        Some(other) => {
            return Err(RekorError::unprocessable(
                606,
                format!(
                    "publicKey.format in body should be one of [pgp x509 minisign ssh tuf], got {other:?}"
                ),
            ));
        }
        None => {
            return Err(RekorError::unprocessable(
                validation::REQUIRED,
                "publicKey.format in body is required",
            ));
        }
    }
    let unparsable = || RekorError::BadRequest("public key provided could not be parsed".into());
    let content = key.content.as_deref().ok_or_else(unparsable)?;
    let pem = STANDARD.decode(content).map_err(|_| unparsable())?;
    let material = VerificationMaterial::parse_pem(&pem).map_err(|_| unparsable())?;
    Ok(hex::encode(Sha256::digest(
        material.canonical_pem().as_bytes(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_get_their_prefix() {
        let hex64 = "AB".repeat(32);
        assert_eq!(
            digest_key(&hex64).expect("bare"),
            format!("sha256:{}", "ab".repeat(32))
        );
        assert_eq!(
            digest_key(&format!("sha256:{hex64}")).expect("prefixed"),
            format!("sha256:{}", "ab".repeat(32))
        );
        assert!(digest_key(&format!("sha512:{hex64}")).is_err());
        assert!(digest_key("md5:00").is_err());
        assert!(digest_key(&"z".repeat(64)).is_err());
    }
}
