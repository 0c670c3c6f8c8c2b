//! Identifier newtypes. Conversions are explicit and arithmetic is checked,
//! so an index is never silently used as a size or a tree ID as a row count.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Position of a leaf in one tree, counted from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeafIndex(u64);

/// Number of leaves in a tree.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct TreeSize(u64);

/// Identifier of one tree of a log (a shard). Rekor v1 prints it in decimal in
/// entry IDs and checkpoint origins, and Trillian keeps it a positive `int64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TreeId(i64);

/// A log's identity: SHA-256 of its public key's DER SubjectPublicKeyInfo.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogId(pub [u8; 32]);

/// Raised when a checked identifier conversion or step would leave its range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("tree ID must be positive, got {0}")]
    NonPositiveTreeId(i64),
    #[error("value {0} is out of range")]
    OutOfRange(u64),
}

impl LeafIndex {
    pub const fn new(index: u64) -> Self {
        Self(index)
    }
    pub const fn get(self) -> u64 {
        self.0
    }
    /// The size of the tree whose last leaf this is.
    ///
    /// # Errors
    /// [`IdError::OutOfRange`] for `u64::MAX`, which no tree can reach.
    pub fn next_size(self) -> Result<TreeSize, IdError> {
        self.0
            .checked_add(1)
            .map(TreeSize)
            .ok_or(IdError::OutOfRange(self.0))
    }
    /// Whether this leaf lies inside a tree of `size` leaves.
    pub fn is_within(self, size: TreeSize) -> bool {
        self.0 < size.0
    }
}

impl TreeSize {
    pub const ZERO: TreeSize = TreeSize(0);
    pub const fn new(size: u64) -> Self {
        Self(size)
    }
    pub const fn get(self) -> u64 {
        self.0
    }
    /// The index the next appended leaf receives.
    pub const fn next_index(self) -> LeafIndex {
        LeafIndex(self.0)
    }
    /// The size after `count` more leaves.
    ///
    /// # Errors
    /// [`IdError::OutOfRange`] when the size would overflow `u64`.
    pub fn checked_add(self, count: u64) -> Result<TreeSize, IdError> {
        self.0
            .checked_add(count)
            .map(TreeSize)
            .ok_or(IdError::OutOfRange(self.0))
    }
}

impl TreeId {
    /// # Errors
    /// [`IdError::NonPositiveTreeId`] for zero or negative IDs.
    pub fn new(id: i64) -> Result<Self, IdError> {
        if id > 0 {
            Ok(Self(id))
        } else {
            Err(IdError::NonPositiveTreeId(id))
        }
    }
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl LogId {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for LogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogId({})", self.to_hex())
    }
}

impl fmt::Display for LeafIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Display for TreeSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Display for TreeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_ids_are_positive() {
        assert!(TreeId::new(0).is_err());
        assert!(TreeId::new(-5).is_err());
        assert_eq!(TreeId::new(7).map(TreeId::get), Ok(7));
    }

    #[test]
    fn index_and_size_convert_explicitly() {
        let size = TreeSize::new(10);
        assert_eq!(size.next_index(), LeafIndex::new(10));
        assert_eq!(LeafIndex::new(9).next_size(), Ok(size));
        assert!(LeafIndex::new(9).is_within(size));
        assert!(!LeafIndex::new(10).is_within(size));
        assert!(LeafIndex::new(u64::MAX).next_size().is_err());
        assert!(TreeSize::new(u64::MAX).checked_add(1).is_err());
    }
}
