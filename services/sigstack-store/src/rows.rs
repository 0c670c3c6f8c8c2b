//! Decoding of database values into domain types, shared by both backends.
//! A value that breaks the schema's invariants is [`StoreError::Corrupt`],
//! never a panic.

use sigstack_core::hash::Hash;
use sigstack_core::ids::{LeafIndex, TreeId, TreeSize};
use sigstack_core::tile::TileId;

use crate::ports::{LeafRow, StoredHead, StoredTile, TreeRecord};
use crate::{StoreError, TreeState};

pub(crate) fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("{value} exceeds the database's integer range")))
}

fn to_u64(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative {what} {value}")))
}

pub(crate) fn decode_index(value: i64) -> Result<LeafIndex, StoreError> {
    to_u64(value, "leaf index").map(LeafIndex::new)
}

pub(crate) fn decode_hash(bytes: Vec<u8>) -> Result<Hash, StoreError> {
    Hash::from_slice(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn decode_head(
    size: i64,
    root: Vec<u8>,
    checkpoint: String,
) -> Result<StoredHead, StoreError> {
    Ok(StoredHead {
        size: TreeSize::new(to_u64(size, "tree size")?),
        root: decode_hash(root)?,
        checkpoint,
    })
}

pub(crate) fn decode_state(state: String) -> Result<TreeState, StoreError> {
    match state.as_str() {
        "active" => Ok(TreeState::Active),
        "frozen" => Ok(TreeState::Frozen),
        other => Err(StoreError::Corrupt(format!("unknown tree state {other:?}"))),
    }
}

pub(crate) fn decode_tile(
    level: i64,
    index: i64,
    hashes: Vec<u8>,
) -> Result<StoredTile, StoreError> {
    let level = u8::try_from(level)
        .map_err(|_| StoreError::Corrupt(format!("tile level {level} out of range")))?;
    if hashes.is_empty() || !hashes.len().is_multiple_of(32) || hashes.len() > 32 * 256 {
        return Err(StoreError::Corrupt(format!(
            "tile of {} bytes",
            hashes.len()
        )));
    }
    Ok(StoredTile {
        id: TileId {
            level,
            index: to_u64(index, "tile index")?,
        },
        hashes,
    })
}

pub(crate) fn decode_tree(
    id: i64,
    log_name: String,
    state: String,
) -> Result<TreeRecord, StoreError> {
    Ok(TreeRecord {
        tree_id: TreeId::new(id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        log_name,
        state: decode_state(state)?,
    })
}

pub(crate) fn decode_leaf(
    index: i64,
    hash: Vec<u8>,
    data: Vec<u8>,
    integrated_at: i64,
    seal: Vec<u8>,
) -> Result<LeafRow, StoreError> {
    Ok(LeafRow {
        index: decode_index(index)?,
        hash: decode_hash(hash)?,
        data,
        integrated_at,
        seal,
    })
}

pub(crate) fn decode_location(tree: i64, index: i64) -> Result<(TreeId, LeafIndex), StoreError> {
    Ok((
        TreeId::new(tree).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        decode_index(index)?,
    ))
}

/// The error of a head compare-and-swap that matched no row: the tree is
/// gone, or another writer moved its head to `found`.
pub(crate) fn head_moved(tree: TreeId, expected: TreeSize, found: Option<i64>) -> StoreError {
    match found {
        None => StoreError::TreeNotFound(tree),
        Some(found) => StoreError::HeadMoved {
            tree,
            expected,
            found: TreeSize::new(u64::try_from(found).unwrap_or(0)),
        },
    }
}

pub(crate) fn decode_sizes(rows: Vec<(i64, i64)>) -> Result<Vec<(TreeId, TreeSize)>, StoreError> {
    rows.into_iter()
        .map(|(tree, size)| {
            let tree = TreeId::new(tree).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let size = u64::try_from(size)
                .map_err(|_| StoreError::Corrupt(format!("negative tree size {size}")))?;
            Ok((tree, TreeSize::new(size)))
        })
        .collect()
}
