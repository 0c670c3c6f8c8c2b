//! The storage ports, each shaped for one consumer:
//!
//! - [`TreeCatalog`]: the operator's and the engine's view of which trees a
//!   log has (one active, older ones frozen), and the creation of a tree with
//!   its genesis entry.
//! - [`SequencerStore`] / [`SequencerBatch`]: the sequencer's batch commit.
//!   One open batch is one database transaction holding the tree's write
//!   lock; everything the batch writes lands at its commit or not at all.
//! - [`LogReader`]: the read side (heads, tiles, leaves). It never takes the
//!   write lock.

use std::future::Future;

use sigstack_core::hash::Hash;
use sigstack_core::ids::{LeafIndex, TreeId, TreeSize};
use sigstack_core::tile::TileId;

use crate::StoreError;

/// Whether a tree still accepts entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeState {
    Active,
    Frozen,
}

/// One tree of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRecord {
    pub tree_id: TreeId,
    pub log_name: String,
    pub state: TreeState,
}

/// The latest committed, signed head of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHead {
    pub size: TreeSize,
    pub root: Hash,
    /// The signed checkpoint note for `size` and `root`.
    pub checkpoint: String,
}

/// A tile as stored: its newest version (a prefix of it is the tile at any
/// smaller tree size), as the raw concatenation of its 32-byte hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTile {
    pub id: TileId,
    pub hashes: Vec<u8>,
}

/// A stored leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafRow {
    pub index: LeafIndex,
    pub hash: Hash,
    pub data: Vec<u8>,
    /// When the sequencer integrated it, in Unix seconds.
    pub integrated_at: i64,
    /// What the personality attached at integration (Rekor: the signed entry
    /// timestamp); empty when it attaches nothing.
    pub seal: Vec<u8>,
}

/// A key under which a leaf can be found (Rekor's search index), written
/// in the transaction that writes the leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchKey {
    pub key: String,
    pub index: LeafIndex,
}

/// Everything one batch writes, committed in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchWrite {
    /// New leaves, with consecutive indices starting at the head's size.
    pub leaves: Vec<LeafRow>,
    /// Every tile the batch created or widened, at its new width.
    pub tiles: Vec<StoredTile>,
    /// Search keys of the new leaves.
    pub keys: Vec<SearchKey>,
    /// The head after the batch: its size is the old size plus `leaves.len()`.
    pub head: StoredHead,
}

/// The operator's and the engine's catalogue of trees.
pub trait TreeCatalog: Send + Sync {
    /// Creates `tree` as the active tree of `log`, with its first leaves
    /// (the log's own genesis entry), tiles and signed head, in one
    /// transaction.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the tree ID is taken or `log` already
    /// has an active tree; nothing is stored then.
    fn create_tree(
        &self,
        log: &str,
        tree: TreeId,
        genesis: BatchWrite,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Freezes `log`'s active tree and creates `tree` as its new active tree,
    /// in one transaction. The active tree is locked as a batch locks it, so
    /// no batch commits to it after its final size is read. `genesis` is
    /// called inside the transaction with every earlier tree of the log and
    /// its final size, in order, and returns the new tree's first write.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] for a taken tree ID, [`StoreError::Refused`]
    /// when `genesis` refuses; nothing is stored then.
    fn rotate_tree<F>(
        &self,
        log: &str,
        tree: TreeId,
        genesis: F,
    ) -> impl Future<Output = Result<(), StoreError>> + Send
    where
        F: FnOnce(&[(TreeId, TreeSize)]) -> Result<BatchWrite, String> + Send;

    /// The trees of `log` in creation order (the order of its virtual index).
    fn trees(&self, log: &str) -> impl Future<Output = Result<Vec<TreeRecord>, StoreError>> + Send;

    /// Freezes `tree`: its sequencer's next batch fails with
    /// [`StoreError::TreeFrozen`]; reads keep working.
    ///
    /// # Errors
    /// [`StoreError::TreeNotFound`] for an unknown tree.
    fn freeze_tree(&self, tree: TreeId) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The sequencer's port: open a batch, read what integration needs, commit.
pub trait SequencerStore: Send + Sync {
    type Batch: SequencerBatch;

    /// Opens the transaction of one batch and takes the tree's write lock,
    /// held until [`SequencerBatch::commit`] or drop (which rolls back). On
    /// PostgreSQL the lock is a transaction-scoped advisory lock, so a second
    /// writer process waits here instead of forking the tree; on SQLite it is
    /// the database write lock (`BEGIN IMMEDIATE`).
    ///
    /// # Errors
    /// [`StoreError::TreeNotFound`], [`StoreError::TreeFrozen`], or
    /// [`StoreError::Unavailable`] (retry later).
    fn begin_batch(
        &self,
        tree: TreeId,
    ) -> impl Future<Output = Result<Self::Batch, StoreError>> + Send;
}

/// One open batch transaction.
pub trait SequencerBatch: Send {
    /// The head as committed when the batch's lock was taken.
    fn head(&self) -> &StoredHead;

    /// The stored tiles among `ids` (missing ones are left out).
    fn tiles(
        &mut self,
        ids: &[TileId],
    ) -> impl Future<Output = Result<Vec<StoredTile>, StoreError>> + Send;

    /// The stored leaves whose hashes are among `hashes`: the deduplication lookup.
    fn find_leaves(
        &mut self,
        hashes: &[Hash],
    ) -> impl Future<Output = Result<Vec<(Hash, LeafIndex)>, StoreError>> + Send;

    /// Writes leaves, tiles, the checkpoint and the new head, compare-and-swaps
    /// the head against [`SequencerBatch::head`], and commits. When this
    /// returns `Ok`, the batch is durable. On any error nothing of it is stored.
    ///
    /// # Errors
    /// [`StoreError::HeadMoved`] when another writer committed in between
    /// (cannot happen while the lock holds, but the swap makes sure), a
    /// [`StoreError::Corrupt`] batch whose sizes do not add up, or any
    /// database error.
    fn commit(self, write: BatchWrite) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The read side. Never takes the write lock.
pub trait LogReader: Send + Sync {
    /// The latest committed head, or `None` for an unknown tree.
    fn head(
        &self,
        tree: TreeId,
    ) -> impl Future<Output = Result<Option<StoredHead>, StoreError>> + Send;

    /// The stored tiles among `ids`, newest versions.
    fn tiles(
        &self,
        tree: TreeId,
        ids: &[TileId],
    ) -> impl Future<Output = Result<Vec<StoredTile>, StoreError>> + Send;

    /// Up to `count` leaves from `start`, in index order.
    fn leaves(
        &self,
        tree: TreeId,
        start: LeafIndex,
        count: u32,
    ) -> impl Future<Output = Result<Vec<LeafRow>, StoreError>> + Send;

    /// The index of the leaf with this hash, if stored.
    fn leaf_index(
        &self,
        tree: TreeId,
        hash: &Hash,
    ) -> impl Future<Output = Result<Option<LeafIndex>, StoreError>> + Send;

    /// Every leaf stored under the search key `key` (tree, index and leaf
    /// hash), at most `limit`, in tree and index order.
    fn find_by_key(
        &self,
        key: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(TreeId, LeafIndex, Hash)>, StoreError>> + Send;

    /// Every (tree, index) whose leaf has this hash, in any tree of any log.
    fn find_by_hash(
        &self,
        hash: &Hash,
    ) -> impl Future<Output = Result<Vec<(TreeId, LeafIndex)>, StoreError>> + Send;

    /// The checkpoint signed at `size`, if the log published one there.
    fn checkpoint_at(
        &self,
        tree: TreeId,
        size: TreeSize,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}

/// Checks that a batch's sizes add up before anything is written.
pub(crate) fn check_batch(
    tree: TreeId,
    before: TreeSize,
    write: &BatchWrite,
) -> Result<(), StoreError> {
    let count = u64::try_from(write.leaves.len())
        .map_err(|_| StoreError::Corrupt("batch too large".into()))?;
    let expected = before
        .checked_add(count)
        .map_err(|_| StoreError::Corrupt("tree size overflow".into()))?;
    if write.head.size != expected {
        return Err(StoreError::Corrupt(format!(
            "tree {tree}: batch of {count} leaves from size {before} claims size {}",
            write.head.size
        )));
    }
    if let Some(key) = write
        .keys
        .iter()
        .find(|k| k.index < before.next_index() || k.index.get() >= expected.get())
    {
        return Err(StoreError::Corrupt(format!(
            "tree {tree}: search key for leaf {} outside the batch",
            key.index
        )));
    }
    for (offset, leaf) in write.leaves.iter().enumerate() {
        let want = before.get() + offset as u64;
        if leaf.index.get() != want {
            return Err(StoreError::Corrupt(format!(
                "tree {tree}: leaf at offset {offset} has index {}, expected {want}",
                leaf.index
            )));
        }
    }
    Ok(())
}

/// Whether the database answers: a round trip, for readiness probes.
pub trait Ping: Send + Sync {
    /// # Errors
    /// The store's error when the database does not answer.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}
