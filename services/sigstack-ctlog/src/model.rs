//! The JSON shapes of RFC 6962 §4, field names as the RFC spells them.
//! Binary fields are standard base64.

use serde::{Deserialize, Serialize};

/// `add-chain` and `add-pre-chain` input (§4.1, §4.2).
#[derive(Debug, Clone, Deserialize)]
pub struct AddChainRequest {
    pub chain: Vec<String>,
}

/// `add-chain` and `add-pre-chain` output (§4.1; `spec/ca.md` §9.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddChainResponse {
    pub sct_version: u8,
    /// Base64 of the 32-byte log ID.
    pub id: String,
    /// Milliseconds since the epoch.
    pub timestamp: u64,
    /// Base64 of the SCT extensions (empty).
    pub extensions: String,
    /// Base64 of the TLS `DigitallySigned`.
    pub signature: String,
}

/// `get-sth` output (§4.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTreeHead {
    pub tree_size: u64,
    pub timestamp: u64,
    pub sha256_root_hash: String,
    pub tree_head_signature: String,
}

/// `get-sth-consistency` output (§4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consistency {
    pub consistency: Vec<String>,
}

/// `get-proof-by-hash` output (§4.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofByHash {
    pub leaf_index: u64,
    pub audit_path: Vec<String>,
}

/// `get-entries` output (§4.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entries {
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Base64 of the `MerkleTreeLeaf`.
    pub leaf_input: String,
    /// Base64 of the chain data; empty in this version (see `log`).
    pub extra_data: String,
}

/// `get-roots` output (§4.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roots {
    pub certificates: Vec<String>,
}
