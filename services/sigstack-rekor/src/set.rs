//! The signed entry timestamp (`spec/log.md` §3), signed once when the entry
//! is integrated and stored with it: the engine calls [`SetSealer`] with the
//! leaf's index and integration time inside the batch.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sigstack_core::entry::set::sign_set;
use sigstack_core::ids::{LeafIndex, TreeId};
use sigstack_core::note::EcdsaP256NoteSigner;
use sigstack_engine::{LeafSealer, SealError};

/// Signs SETs with the log key, at the virtual index of each leaf.
#[derive(Debug)]
pub struct SetSealer {
    signer: Arc<EcdsaP256NoteSigner>,
    /// Where each tree's entries start in the virtual index.
    offsets: HashMap<TreeId, u64>,
}

impl SetSealer {
    pub fn new(signer: Arc<EcdsaP256NoteSigner>, offsets: Vec<(TreeId, u64)>) -> Self {
        Self {
            signer,
            offsets: offsets.into_iter().collect(),
        }
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
        let offset = self.offsets.get(&tree).ok_or_else(|| SealError {
            index,
            reason: format!("tree {tree} is not a shard of this log"),
        })?;
        let virtual_index = offset + index.get();
        sign_set(
            &self.signer,
            &STANDARD.encode(data),
            integrated_at,
            virtual_index,
        )
        .map_err(|e| SealError {
            index,
            reason: e.to_string(),
        })
    }
}
