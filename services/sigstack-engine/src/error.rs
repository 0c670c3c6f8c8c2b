//! The engine's errors. Each maps to one client-facing code at the service
//! edges (the personalities), never here.

use sigstack_core::ids::{LeafIndex, TreeId, TreeSize};
use sigstack_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("empty leaf")]
    EmptyLeaf,
    #[error("leaf of {size} bytes exceeds the limit of {max}")]
    LeafTooLarge { size: usize, max: usize },
    #[error("tree {0} does not exist")]
    UnknownTree(TreeId),
    #[error("tree {0} is frozen")]
    TreeFrozen(TreeId),
    #[error("leaf index {index} is beyond tree size {size}")]
    IndexBeyondTree { index: LeafIndex, size: TreeSize },
    #[error("tree size {requested} is beyond the current size {current}")]
    SizeBeyondTree {
        requested: TreeSize,
        current: TreeSize,
    },
    #[error("invalid proof range: {0}")]
    InvalidRange(String),
    #[error("signing the checkpoint failed")]
    Publish(#[source] sigstack_core::checkpoint::CheckpointError),
    /// Stored tiles contradict the stored head: the store needs an operator.
    #[error("stored tree is inconsistent: {0}")]
    Corrupt(String),
    #[error("the sequencer of tree {0} has stopped")]
    SequencerStopped(TreeId),
    #[error("the batch failed: {0}")]
    BatchFailed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EngineError {
    /// Whether the caller may retry the same request later.
    pub fn is_transient(&self) -> bool {
        match self {
            EngineError::Store(e) => e.is_transient(),
            EngineError::BatchFailed(_) | EngineError::SequencerStopped(_) => true,
            _ => false,
        }
    }
}

/// An error and its sources, joined by `: `, for one log line or one
/// internal-error record.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
