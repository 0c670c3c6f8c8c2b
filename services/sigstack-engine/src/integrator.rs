//! Integrate: the second step of a batch. Extends the tree's right edge
//! (C2SP tlog-tiles, height 8) with the batch's new leaf hashes and computes
//! the new root, touching only the O(levels) tiles at the right edge, so the
//! engine's memory does not grow with the tree.

use sigstack_core::hash::Hash;
use sigstack_core::ids::{TreeId, TreeSize};
use sigstack_core::tile::{RightEdge, Tile};
use sigstack_store::{SequencerBatch, StoredHead, StoredTile};

use crate::error::EngineError;

/// What integrating one batch produced.
#[derive(Debug)]
pub(crate) struct Integrated {
    pub size: TreeSize,
    pub root: Hash,
    /// Every tile created or widened, at its new width.
    pub changed: Vec<Tile>,
}

pub(crate) fn integrate(edge: &mut RightEdge, leaf_hashes: &[Hash]) -> Integrated {
    let changed = edge.append(leaf_hashes);
    Integrated {
        size: edge.size(),
        root: edge.root(),
        changed,
    }
}

/// Rebuilds the right edge of `head` from the stored tiles and checks that it
/// reproduces the stored root.
pub(crate) async fn load_right_edge<B: SequencerBatch>(
    tx: &mut B,
    tree: TreeId,
    head: &StoredHead,
) -> Result<RightEdge, EngineError> {
    let wanted = RightEdge::required_tiles(head.size);
    let tiles = tiles_from_stored(tx.tiles(&wanted).await?)?;
    let edge = RightEdge::from_tiles(head.size, tiles)
        .map_err(|e| EngineError::Corrupt(format!("tree {tree} right edge: {e}")))?;
    if edge.root() != head.root {
        return Err(EngineError::Corrupt(format!(
            "tree {tree}: tiles give root {} at size {}, head says {}",
            edge.root(),
            head.size,
            head.root
        )));
    }
    Ok(edge)
}

pub(crate) fn tiles_from_stored(stored: Vec<StoredTile>) -> Result<Vec<Tile>, EngineError> {
    stored
        .into_iter()
        .map(|t| {
            Tile::from_bytes(t.id, &t.hashes)
                .map_err(|e| EngineError::Corrupt(format!("tile {:?}: {e}", t.id)))
        })
        .collect()
}

pub(crate) fn to_stored(tile: &Tile) -> StoredTile {
    StoredTile {
        id: tile.id(),
        hashes: tile.to_bytes(),
    }
}
