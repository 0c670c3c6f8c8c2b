//! The JSON the v1 API answers with, field for field and in Rekor's order
//! (`spec/log.md` §1.3–§1.6): serde keeps struct order, and nothing here is
//! HTML-escaped, as Go's encoder with escaping off.

use serde::Serialize;

/// The value of a LogEntry map's one member.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LogEntryValue {
    /// Standard base64 of the canonical leaf, byte-identical on every read.
    pub body: String,
    #[serde(rename = "integratedTime")]
    pub integrated_time: i64,
    #[serde(rename = "logID")]
    pub log_id: String,
    /// The virtual index across shards.
    #[serde(rename = "logIndex")]
    pub log_index: u64,
    pub verification: Verification,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Verification {
    #[serde(rename = "inclusionProof")]
    pub inclusion_proof: InclusionProof,
    #[serde(rename = "signedEntryTimestamp")]
    pub signed_entry_timestamp: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InclusionProof {
    /// Signed checkpoint for exactly `tree_size` and `root_hash`.
    pub checkpoint: String,
    /// Hex, leaf level first; `[]` for a proof of no hashes.
    pub hashes: Vec<String>,
    /// The index inside the entry's own tree.
    #[serde(rename = "logIndex")]
    pub log_index: u64,
    #[serde(rename = "rootHash")]
    pub root_hash: String,
    #[serde(rename = "treeSize")]
    pub tree_size: u64,
}

/// One LogEntry map `{"<entryID>":{…}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub entry_id: String,
    pub value: LogEntryValue,
}

impl LogEntry {
    /// Compact JSON of the map, as a JSON value for arrays of entries.
    pub fn to_json_value(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert(
            self.entry_id.clone(),
            serde_json::to_value(&self.value).unwrap_or_default(),
        );
        serde_json::Value::Object(map)
    }

    /// The exact bytes of a create or get answer: `{"<entryID>":{…}}` and one
    /// newline. sigstore-rs slices this at fixed offsets (`spec/log.md` §9 #1).
    pub fn to_response_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(b"{\"");
        out.extend_from_slice(self.entry_id.as_bytes());
        out.extend_from_slice(b"\":");
        // Serialising plain strings and integers cannot fail.
        out.extend(serde_json::to_vec(&self.value).unwrap_or_default());
        out.extend_from_slice(b"}\n");
        out
    }
}

/// One tree's signed head, as LogInfo shows it for the active tree and for
/// each inactive shard.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ShardHead {
    #[serde(rename = "rootHash")]
    pub root_hash: String,
    #[serde(rename = "signedTreeHead")]
    pub signed_tree_head: String,
    #[serde(rename = "treeID")]
    pub tree_id: String,
    #[serde(rename = "treeSize")]
    pub tree_size: u64,
}

/// `GET /api/v1/log`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LogInfo {
    /// `null` with no inactive shards, as the reference emits it.
    #[serde(rename = "inactiveShards")]
    pub inactive_shards: Option<Vec<ShardHead>>,
    /// The active tree, its fields inline after `inactiveShards`.
    #[serde(flatten)]
    pub active: ShardHead,
}

/// `GET /api/v1/log/proof`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub hashes: Vec<String>,
    #[serde(rename = "rootHash")]
    pub root_hash: String,
}

/// Compact JSON plus the trailing newline Go's encoder writes.
pub fn json_line<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec(value).unwrap_or_default();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_bytes_have_rekor_layout() {
        let entry = LogEntry {
            entry_id: format!("{}{}", "6fba935211532b65", "ab".repeat(32)),
            value: LogEntryValue {
                body: "e30=".into(),
                integrated_time: 1_767_225_600,
                log_id: "cd".repeat(32),
                log_index: 7,
                verification: Verification {
                    inclusion_proof: InclusionProof {
                        checkpoint: "h - 1\n8\nroot\n\n— h sig\n".into(),
                        hashes: vec![],
                        log_index: 7,
                        root_hash: "ef".repeat(32),
                        tree_size: 8,
                    },
                    signed_entry_timestamp: "MEUC".into(),
                },
            },
        };
        let bytes = entry.to_response_bytes();
        let text = String::from_utf8(bytes).expect("utf-8");
        // sigstore-rs: chars 1..82 are `"` + key, the value starts at 84, the
        // text ends with `}}` and one newline.
        assert_eq!(&text[1..83], format!("\"{}\"", entry.entry_id));
        assert_eq!(&text[83..84], ":");
        assert!(text.ends_with("}}\n"));
        assert!(text.contains(r#"{"body":"e30=","integratedTime":1767225600,"logID":""#));
        assert!(text.contains(r#""hashes":[],"logIndex":7,"#));
        assert!(text.contains("— h sig"), "no escaping of non-ASCII");
    }

    #[test]
    fn log_info_emits_null_shards() {
        let info = LogInfo {
            inactive_shards: None,
            active: ShardHead {
                root_hash: "00".into(),
                signed_tree_head: "x".into(),
                tree_id: "5".into(),
                tree_size: 1,
            },
        };
        let line = String::from_utf8(json_line(&info)).expect("utf-8");
        assert_eq!(
            line,
            "{\"inactiveShards\":null,\"rootHash\":\"00\",\"signedTreeHead\":\"x\",\"treeID\":\"5\",\"treeSize\":1}\n"
        );
    }
}
