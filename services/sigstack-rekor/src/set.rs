//! The signed entry timestamp (`spec/log.md` §3), signed once when the entry
//! is integrated and stored with it: the engine calls [`SetSealer`] with the
//! leaf's index and integration time inside the batch.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sigstack_core::entry::set::sign_set;
use sigstack_core::ids::{LeafIndex, TreeId, TreeSize};
use sigstack_core::note::EcdsaP256NoteSigner;
use sigstack_engine::{LeafSealer, SealError};

/// Signs SETs with the log key, at the virtual index of each leaf.
#[derive(Debug)]
pub struct SetSealer {
    signer: Arc<EcdsaP256NoteSigner>,
    /// Where each tree's entries start in the virtual index; grows when the
    /// log rotates.
    offsets: RwLock<HashMap<TreeId, u64>>,
}

impl SetSealer {
    pub fn new(signer: Arc<EcdsaP256NoteSigner>, offsets: Vec<(TreeId, u64)>) -> Self {
        Self {
            signer,
            offsets: RwLock::new(offsets.into_iter().collect()),
        }
    }

    /// Sets where `tree` starts in the virtual index.
    pub fn set_offset(&self, tree: TreeId, offset: u64) {
        if let Ok(mut offsets) = self.offsets.write() {
            offsets.insert(tree, offset);
        }
    }

    fn offset(&self, tree: TreeId) -> Option<u64> {
        self.offsets
            .read()
            .ok()
            .and_then(|offsets| offsets.get(&tree).copied())
    }
}

impl LeafSealer for SetSealer {
    fn seal(
        &self,
        tree: TreeId,
        index: LeafIndex,
        data: &[u8],
        integrated_at: i64,
    ) -> Result<Vec<u8>, SealError> {
        let offset = self.offset(tree).ok_or_else(|| SealError {
            index,
            reason: format!("tree {tree} is not a shard of this log"),
        })?;
        sign_set(
            &self.signer,
            &STANDARD.encode(data),
            integrated_at,
            offset + index.get(),
        )
        .map_err(|e| SealError {
            index,
            reason: e.to_string(),
        })
    }

    /// A new tree's virtual index starts after every earlier tree's leaves.
    fn tree_added(&self, tree: TreeId, earlier: &[(TreeId, TreeSize)]) {
        let offset = earlier
            .iter()
            .filter(|(t, _)| *t != tree)
            .map(|(_, size)| size.get())
            .sum();
        self.set_offset(tree, offset);
    }
}
