//! RFC 6962 §2.1 (RFC 9162 §2.1.1) hashing: a leaf is `SHA-256(0x00 ‖ data)`,
//! an interior node `SHA-256(0x01 ‖ left ‖ right)`, and the empty tree's root is
//! `SHA-256("")`. The empty input is a leaf like any other: the published
//! vectors start with it, so only the engine's append API refuses it.

use std::fmt;

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// One SHA-256 tree hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

/// Root of the tree with no leaves: SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// Hash of one leaf's bytes.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    Hash(h.finalize().into())
}

/// Hash of an interior node from its two children.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// Raised when bytes do not form a 32-byte hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a hash is 32 bytes, got {0}")]
pub struct HashLengthError(pub usize);

impl Hash {
    /// # Errors
    /// [`HashLengthError`] unless `bytes` is exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashLengthError> {
        <[u8; 32]>::try_from(bytes)
            .map(Hash)
            .map_err(|_| HashLengthError(bytes.len()))
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// Standard padded base64, as checkpoints and Rekor's JSON carry it.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from transparency-dev/merkle rfc6962/rfc6962_test.go.
    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(Hash(Sha256::digest(b"").into()), EMPTY_ROOT);
    }

    #[test]
    fn empty_leaf() {
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    #[test]
    fn leaf_and_node_vectors() {
        assert_eq!(
            leaf_hash(b"L123456").to_hex(),
            "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
        );
        // The vector hashes the raw strings as children, so build the inputs by hand.
        let mut h = Sha256::new();
        h.update([NODE_PREFIX]);
        h.update(b"N123");
        h.update(b"N456");
        assert_eq!(
            hex::encode(h.finalize()),
            "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
        );
    }

    #[test]
    fn from_slice_checks_length() {
        assert!(Hash::from_slice(&[0u8; 31]).is_err());
        assert_eq!(Hash::from_slice(&[7u8; 32]), Ok(Hash([7u8; 32])));
    }
}
