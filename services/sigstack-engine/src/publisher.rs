//! Publish: the third step of a batch. Signs one checkpoint for the tree head
//! the batch produced (C2SP tlog-checkpoint as a signed note). The origin
//! line is the personality's choice (Rekor v1 uses `<host> - <treeID>`, a
//! C2SP log its URL prefix), so the engine takes it as a function of the tree.

use std::fmt;
use std::sync::Arc;

use sigstack_core::checkpoint::{Checkpoint, CheckpointError, sign_checkpoint};
use sigstack_core::hash::Hash;
use sigstack_core::ids::{TreeId, TreeSize};
use sigstack_core::note::NoteSigner;

/// Maps a tree to the origin line of its checkpoints.
pub type OriginFn = Arc<dyn Fn(TreeId) -> String + Send + Sync>;

/// Signs checkpoints with one note key and an origin per tree.
#[derive(Clone)]
pub struct Publisher {
    signer: Arc<dyn NoteSigner>,
    origin: OriginFn,
}

impl Publisher {
    pub fn new(signer: Arc<dyn NoteSigner>, origin: OriginFn) -> Self {
        Self { signer, origin }
    }

    /// The origin line of `tree`'s checkpoints.
    pub fn origin(&self, tree: TreeId) -> String {
        (self.origin)(tree)
    }

    /// The signed checkpoint note for `tree` at `size` with `root`.
    ///
    /// # Errors
    /// [`CheckpointError`] when the origin is not a valid checkpoint line or
    /// the signer fails.
    pub fn publish(
        &self,
        tree: TreeId,
        size: TreeSize,
        root: Hash,
    ) -> Result<String, CheckpointError> {
        let checkpoint = Checkpoint {
            origin: self.origin(tree),
            size,
            root,
            extensions: Vec::new(),
        };
        sign_checkpoint(&checkpoint, self.signer.as_ref())
    }
}

impl fmt::Debug for Publisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("key_name", &self.signer.name())
            .finish_non_exhaustive()
    }
}
