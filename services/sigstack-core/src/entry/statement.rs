//! Digests of in-toto statements, for the search index (log.md §2.6): the
//! subject digests and the SLSA `predicate.materials` digests, each as
//! `<alg>:<hex>`.
//!
//! The reference decodes the statement with Go's `encoding/json` into
//! narrow structs and drops the subjects when that fails; materials are
//! decoded separately and dropped on their own failure. dsse reads materials
//! from any predicate object; intoto reads them through in-toto-golang's SLSA
//! 0.2 `ProvenanceStatement`, which also type-checks the predicate's other
//! members. We read materials the dsse way for all kinds, so an intoto
//! statement whose other predicate members are mistyped may index its
//! materials here and not in the reference; the index is best-effort.
//! Within one digest set, keys come in algorithm order (Go's map order is
//! random).

use std::collections::BTreeMap;

use serde::Deserialize;

/// The payload type whose statements are indexed.
pub(crate) const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

#[derive(Deserialize)]
struct Statement {
    subject: Option<Vec<Option<Digested>>>,
    predicate: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Predicate {
    materials: Option<Vec<Option<Digested>>>,
}

#[derive(Deserialize)]
struct Digested {
    digest: Option<BTreeMap<String, String>>,
}

/// `<alg>:<hex>` for every subject, then every material, of `payload`.
pub(crate) fn digest_keys(payload: &[u8]) -> Vec<String> {
    let Ok(statement) = serde_json::from_slice::<Statement>(payload) else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    push_digests(&mut keys, statement.subject);
    if let Some(Ok(predicate)) = statement.predicate.map(serde_json::from_value::<Predicate>) {
        push_digests(&mut keys, predicate.materials);
    }
    keys
}

fn push_digests(keys: &mut Vec<String>, items: Option<Vec<Option<Digested>>>) {
    for digest in items
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|d| d.digest)
    {
        keys.extend(
            digest
                .into_iter()
                .map(|(alg, value)| format!("{alg}:{value}")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_then_materials() {
        let statement = br#"{
            "_type": "https://in-toto.io/Statement/v0.1",
            "subject": [
                {"name": "a", "digest": {"sha256": "aa", "sha1": "a1"}},
                {"name": "b", "digest": {"sha512": "bb"}},
                null
            ],
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "predicate": {"materials": [{"uri": "git+https://x", "digest": {"sha1": "cc"}}]}
        }"#;
        assert_eq!(
            digest_keys(statement),
            ["sha1:a1", "sha256:aa", "sha512:bb", "sha1:cc"]
        );
    }

    #[test]
    fn malformed_parts_are_skipped() {
        assert!(digest_keys(b"not json").is_empty());
        assert!(digest_keys(br#"{"subject": [{"digest": {"sha256": 5}}]}"#).is_empty());
        assert_eq!(
            digest_keys(br#"{"subject": [{"digest": {"sha256": "aa"}}], "predicate": []}"#),
            ["sha256:aa"]
        );
        assert_eq!(
            digest_keys(br#"{"subject": "x", "predicate": {"materials": []}}"#),
            Vec::<String>::new()
        );
    }
}
