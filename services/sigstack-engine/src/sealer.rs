//! What a personality attaches to each new leaf when it is integrated: the
//! Rekor personality signs its signed entry timestamp (SET) here, which
//! needs the leaf's index and integration time and so cannot be made before
//! sequencing. The sealed bytes are committed with the leaf, in its batch.

use std::fmt;
use std::sync::Arc;

use sigstack_core::ids::{LeafIndex, TreeId, TreeSize};
use sigstack_store::LeafRow;

/// Attaches bytes to each new leaf at integration.
pub trait LeafSealer: Send + Sync + fmt::Debug {
    /// The bytes to store with the leaf `data` at `index` of `tree`,
    /// integrated at `integrated_at` (Unix seconds).
    ///
    /// # Errors
    /// [`SealError`] fails the whole batch; nothing of it is stored.
    fn seal(
        &self,
        tree: TreeId,
        index: LeafIndex,
        data: &[u8],
        integrated_at: i64,
    ) -> Result<Vec<u8>, SealError>;

    /// Called before the genesis leaf of a new tree is sealed, with every
    /// earlier tree of its log and its final size, in order (empty for a
    /// log's first tree). Rekor's virtual index starts the new tree there.
    fn tree_added(&self, tree: TreeId, earlier: &[(TreeId, TreeSize)]) {
        let _ = (tree, earlier);
    }
}

/// A leaf could not be sealed (for instance, the signing key failed).
#[derive(Debug, thiserror::Error)]
#[error("sealing leaf {index} failed: {reason}")]
pub struct SealError {
    pub index: LeafIndex,
    pub reason: String,
}

/// Below this many leaves the batch is sealed on one thread: starting
/// threads costs more than it saves.
const PARALLEL_FROM: usize = 32;

/// Seals every leaf of a batch, in place, spreading the work over the
/// machine's cores (signing is the costly part of a batch).
pub(crate) fn seal_all(
    sealer: &Arc<dyn LeafSealer>,
    tree: TreeId,
    leaves: &mut [LeafRow],
) -> Result<(), SealError> {
    let seal_chunk = |chunk: &mut [LeafRow]| -> Result<(), SealError> {
        for leaf in chunk {
            leaf.seal = sealer.seal(tree, leaf.index, &leaf.data, leaf.integrated_at)?;
        }
        Ok(())
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if leaves.len() < PARALLEL_FROM || threads == 1 {
        return seal_chunk(leaves);
    }
    let chunk_len = leaves.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = leaves
            .chunks_mut(chunk_len)
            .map(|chunk| scope.spawn(move || seal_chunk(chunk)))
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join().unwrap_or_else(|_| {
                Err(SealError {
                    index: LeafIndex::new(0),
                    reason: "sealing thread panicked".into(),
                })
            })
        })
    })
}
