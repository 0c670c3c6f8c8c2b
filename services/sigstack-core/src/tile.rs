//! C2SP tlog-tiles hash tiles (height 8): addressing, tiles, and a
//! [`HashReader`] over a set of them (log.md §6.6).
//!
//! A level-`T` tile holds up to 256 consecutive node hashes of tree level
//! `8T`; entry `i` of tile `N` is the MTH of leaves
//! `[(256N + i)·256^T, (256N + i + 1)·256^T)` (C2SP tlog-tiles, "Merkle
//! Tree"). A node at level `h = 8T + r` (`r < 8`) is the fold of `2^r`
//! consecutive entries of one level-`T` tile, so [`Tile`] precomputes its
//! internal levels once and answers [`Tile::node`] in O(1). Partial tiles are
//! never hashed into the level above (C2SP tlog-tiles, "Partial Tiles").
//!
//! The right edge that the integrator extends lives in [`RightEdge`].

mod right_edge;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::hash::{Hash, node_hash};
use crate::ids::TreeSize;
use crate::merkle::{HashReader, MissingHash, NodeId};

pub use right_edge::RightEdge;

/// Tree levels per tile level (C2SP tlog-tiles fixes the height at 8).
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile: `2^TILE_HEIGHT`.
pub const TILE_WIDTH: usize = 256;
const HASH_LEN: usize = 32;

/// A tile's address: `level` counts tile levels (tree level `8 × level`),
/// `index` counts tiles from the left at that level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub level: u8,
    pub index: u64,
}

/// Why tile bytes or a right edge were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("a tile holds 1 to 256 hashes, got {0}")]
    BadWidth(usize),
    #[error("tile bytes must be a positive multiple of 32 up to 8192, got {0} bytes")]
    BadLength(usize),
    #[error("tile {id:?} has width {actual}, expected {expected} at this tree size")]
    WidthMismatch {
        id: TileId,
        expected: usize,
        actual: usize,
    },
    #[error("tile {0:?} is missing from the right edge")]
    MissingTile(TileId),
    #[error("tile {0:?} is not on the right edge at this tree size")]
    UnexpectedTile(TileId),
}

impl TileId {
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The tile holding node `id`: tile level `h / 8`, and the tile that
    /// holds the node's first level-`8T` descendant.
    pub fn containing(id: NodeId) -> Self {
        let within = id.level % TILE_HEIGHT;
        Self::new(id.level / TILE_HEIGHT, (id.index << within) >> TILE_HEIGHT)
    }

    /// The tile's path below the log prefix: `tile/<L>/<N>`, or
    /// `tile/<L>/<N>.p/<W>` for a partial tile of width `W` (1 to 255). `<N>`
    /// is split into 3-digit groups, all but the last prefixed with `x`
    /// (C2SP tlog-tiles, "Hash Tiles"; log.md §6.6).
    pub fn path(&self, partial_width: Option<u8>) -> String {
        let mut path = format!("tile/{}/{}", self.level, index_path(self.index));
        if let Some(width) = partial_width {
            // Writing to a String cannot fail.
            let _ = write!(path, ".p/{width}");
        }
        path
    }

    /// How many hashes this tile holds when the tree has `size` leaves: 0 if
    /// it is beyond the right edge, 256 if full.
    pub fn width_at(&self, size: TreeSize) -> usize {
        let complete = level_count(self.level, size);
        let before = u128::from(self.index) * TILE_WIDTH as u128;
        // The clamp keeps the value within 0..=256, so the cast is lossless.
        (u128::from(complete).saturating_sub(before)).min(TILE_WIDTH as u128) as usize
    }
}

/// Number of complete nodes at tree level `8 × tile_level` in a tree of `size`.
pub(crate) fn level_count(tile_level: u8, size: TreeSize) -> u64 {
    size.get()
        .checked_shr(u32::from(tile_level) * u32::from(TILE_HEIGHT))
        .unwrap_or(0)
}

/// `<N>` of a tile path: 0 → `000`, 1234067 → `x001/x234/067`.
fn index_path(mut index: u64) -> String {
    let mut groups = vec![format!("{:03}", index % 1000)];
    index /= 1000;
    while index > 0 {
        groups.push(format!("x{:03}", index % 1000));
        index /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// The tiles holding `nodes`, sorted and deduplicated: what a store loads to
/// answer a proof planned by `inclusion::required_nodes` or
/// `consistency::required_nodes`. Every node such a plan names is complete
/// at the proof's tree size, so each tile can be loaded at its
/// [`TileId::width_at`] that size, or any wider version.
pub fn tiles_for(nodes: &[NodeId]) -> Vec<TileId> {
    let mut tiles: Vec<TileId> = nodes.iter().map(|&id| TileId::containing(id)).collect();
    tiles.sort_unstable();
    tiles.dedup();
    tiles
}

/// One hash tile: 1 to 256 entries, with every complete internal node
/// precomputed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tile {
    id: TileId,
    /// `levels[r]` holds the complete nodes `r` levels above the entries;
    /// `levels[0]` is the entries and `levels[8]` exists only when full.
    levels: Vec<Vec<Hash>>,
}

impl Tile {
    /// # Errors
    /// [`TileError::BadWidth`] unless there are 1 to 256 hashes.
    pub fn new(id: TileId, hashes: Vec<Hash>) -> Result<Tile, TileError> {
        if hashes.is_empty() || hashes.len() > TILE_WIDTH {
            return Err(TileError::BadWidth(hashes.len()));
        }
        let mut tile = Tile::empty(id);
        tile.extend(&hashes);
        Ok(tile)
    }

    /// A tile with no entries yet: only the right edge builds one, and fills
    /// it before anyone sees it.
    fn empty(id: TileId) -> Tile {
        Tile {
            id,
            levels: vec![Vec::new()],
        }
    }

    /// Parses the served form: the raw concatenation of 32-byte hashes.
    ///
    /// # Errors
    /// [`TileError::BadLength`] unless the length is a positive multiple of
    /// 32 no larger than 8192.
    pub fn from_bytes(id: TileId, bytes: &[u8]) -> Result<Tile, TileError> {
        if bytes.is_empty()
            || !bytes.len().is_multiple_of(HASH_LEN)
            || bytes.len() > TILE_WIDTH * HASH_LEN
        {
            return Err(TileError::BadLength(bytes.len()));
        }
        let hashes = bytes
            .chunks_exact(HASH_LEN)
            .map(|c| {
                let mut h = [0u8; HASH_LEN];
                h.copy_from_slice(c);
                Hash(h)
            })
            .collect();
        Tile::new(id, hashes)
    }

    /// The served form: entries concatenated, `32 × width` bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.hashes().iter().flat_map(|h| h.0).collect()
    }

    pub fn id(&self) -> TileId {
        self.id
    }

    pub fn width(&self) -> usize {
        self.hashes().len()
    }

    pub fn is_full(&self) -> bool {
        self.width() == TILE_WIDTH
    }

    /// The entries: node hashes at tree level `8 × level`.
    pub fn hashes(&self) -> &[Hash] {
        &self.levels[0]
    }

    /// The path to serve this tile at: partial tiles carry their width.
    pub fn path(&self) -> String {
        // A partial tile is narrower than 256, so its width fits a u8.
        let partial = u8::try_from(self.width()).ok();
        self.id.path(partial)
    }

    /// For a full tile, the hash of all 256 entries: the next entry of the
    /// tile one level up.
    pub fn root(&self) -> Option<Hash> {
        self.levels.get(usize::from(TILE_HEIGHT))?.first().copied()
    }

    /// The hash of `id` if this tile holds it and it is complete at this
    /// width; O(1).
    pub fn node(&self, id: NodeId) -> Option<Hash> {
        if TileId::containing(id) != self.id {
            return None;
        }
        let within = id.level % TILE_HEIGHT;
        let per_tile = (TILE_WIDTH >> within) as u64;
        // The remainder is below 256, so it fits a usize.
        let position = (id.index % per_tile) as usize;
        self.levels.get(usize::from(within))?.get(position).copied()
    }

    /// A copy with `more` entries appended, reusing the computed nodes so the
    /// cost is proportional to the new entries.
    ///
    /// # Errors
    /// [`TileError::BadWidth`] if the result would exceed 256 entries.
    pub fn extended(&self, more: &[Hash]) -> Result<Tile, TileError> {
        let width = self.width() + more.len();
        if width > TILE_WIDTH {
            return Err(TileError::BadWidth(width));
        }
        let mut tile = self.clone();
        tile.extend(more);
        Ok(tile)
    }

    /// Appends entries and the internal nodes they complete; the caller keeps
    /// the width within 256.
    fn extend(&mut self, more: &[Hash]) {
        self.levels[0].extend_from_slice(more);
        for r in 1..=usize::from(TILE_HEIGHT) {
            let below = self.levels[r - 1].len();
            if below < 2 {
                break;
            }
            if self.levels.len() == r {
                self.levels.push(Vec::new());
            }
            let (lower, upper) = self.levels.split_at_mut(r);
            let (children, parents) = (&lower[r - 1], &mut upper[0]);
            for i in parents.len()..below / 2 {
                parents.push(node_hash(&children[2 * i], &children[2 * i + 1]));
            }
        }
    }
}

/// Tiles keyed by address, keeping the widest version of each: what the
/// engine reads proofs from.
#[derive(Clone, Debug, Default)]
pub struct TileSet {
    tiles: BTreeMap<TileId, Tile>,
}

impl TileSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `tile`, replacing a narrower version of it; a narrower `tile`
    /// than the one held is dropped (hashes are immutable, so the wider one
    /// holds everything the narrower does).
    pub fn insert(&mut self, tile: Tile) {
        match self.tiles.get(&tile.id) {
            Some(held) if held.width() >= tile.width() => {}
            _ => {
                self.tiles.insert(tile.id, tile);
            }
        }
    }

    pub fn get(&self, id: TileId) -> Option<&Tile> {
        self.tiles.get(&id)
    }

    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }
}

impl Extend<Tile> for TileSet {
    fn extend<I: IntoIterator<Item = Tile>>(&mut self, tiles: I) {
        for tile in tiles {
            self.insert(tile);
        }
    }
}

impl HashReader for TileSet {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingHash> {
        read_from_tiles(ids, |tile_id| self.tiles.get(&tile_id))
    }
}

/// Answers each node from the tile `find` returns for its address; shared by
/// every tile-backed [`HashReader`].
pub(crate) fn read_from_tiles<'a>(
    ids: &[NodeId],
    find: impl Fn(TileId) -> Option<&'a Tile>,
) -> Result<Vec<Hash>, MissingHash> {
    ids.iter()
        .map(|&id| {
            find(TileId::containing(id))
                .and_then(|tile| tile.node(id))
                .ok_or(MissingHash(id))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::merkle::test_support::{leaves, naive_root};

    #[test]
    fn paths() {
        assert_eq!(TileId::new(0, 0).path(None), "tile/0/000");
        assert_eq!(TileId::new(0, 67).path(None), "tile/0/067");
        assert_eq!(TileId::new(1, 1000).path(None), "tile/1/x001/000");
        assert_eq!(TileId::new(2, 1_234_067).path(None), "tile/2/x001/x234/067");
        assert_eq!(
            TileId::new(0, 1_234_067).path(Some(7)),
            "tile/0/x001/x234/067.p/7"
        );
        assert_eq!(
            TileId::new(0, u64::MAX).path(None),
            "tile/0/x018/x446/x744/x073/x709/x551/615"
        );
        let partial = Tile::new(TileId::new(3, 5), leaves(255)).expect("tile");
        assert_eq!(partial.path(), "tile/3/005.p/255");
        let full = Tile::new(TileId::new(3, 5), leaves(256)).expect("tile");
        assert_eq!(full.path(), "tile/3/005");
    }

    #[test]
    fn widths_follow_the_tree_size() {
        let at = |level, index, size| TileId::new(level, index).width_at(TreeSize::new(size));
        assert_eq!(at(0, 0, 0), 0);
        assert_eq!(at(0, 0, 1), 1);
        assert_eq!(at(0, 0, 300), 256);
        assert_eq!(at(0, 1, 300), 44);
        assert_eq!(at(0, 2, 300), 0);
        assert_eq!(at(1, 0, 300), 1);
        assert_eq!(at(1, 0, 255), 0);
        assert_eq!(at(1, 0, 256 * 256 + 5), 256);
        assert_eq!(at(2, 0, 256 * 256 + 5), 1);
        assert_eq!(at(7, 0, u64::MAX), 255);
        assert_eq!(at(8, 0, u64::MAX), 0);
    }

    #[test]
    fn nodes_map_to_tiles() {
        assert_eq!(TileId::containing(NodeId::new(0, 300)), TileId::new(0, 1));
        assert_eq!(TileId::containing(NodeId::new(3, 31)), TileId::new(0, 0));
        assert_eq!(TileId::containing(NodeId::new(3, 32)), TileId::new(0, 1));
        assert_eq!(TileId::containing(NodeId::new(8, 0)), TileId::new(1, 0));
        assert_eq!(TileId::containing(NodeId::new(17, 3)), TileId::new(2, 0));
        assert_eq!(
            tiles_for(&[NodeId::new(0, 300), NodeId::new(8, 0), NodeId::new(1, 130)]),
            vec![TileId::new(0, 1), TileId::new(1, 0)]
        );
    }

    #[test]
    fn tile_nodes_are_subtree_hashes() {
        let all = leaves(512);
        let tile = Tile::new(TileId::new(0, 1), all[256..300].to_vec()).expect("tile");
        assert_eq!(tile.width(), 44);
        assert_eq!(tile.root(), None);
        // Node (2, 66) covers leaves 264..268, inside the partial tile.
        assert_eq!(
            tile.node(NodeId::new(2, 66)),
            Some(naive_root(&all[264..268]))
        );
        assert_eq!(
            tile.node(NodeId::new(5, 9)),
            None,
            "leaves 288..320 incomplete"
        );
        assert_eq!(
            tile.node(NodeId::new(5, 8)),
            Some(naive_root(&all[256..288]))
        );
        assert_eq!(tile.node(NodeId::new(0, 3)), None, "another tile");
        let full = tile.extended(&all[300..512]).expect("fits");
        assert_eq!(
            full,
            Tile::new(TileId::new(0, 1), all[256..].to_vec()).expect("tile")
        );
        assert_eq!(full.root(), Some(naive_root(&all[256..])));
        assert_eq!(full.node(NodeId::new(7, 3)), Some(naive_root(&all[384..])));
        assert!(full.extended(&all[..1]).is_err());
    }

    #[test]
    fn bytes_round_trip_and_bad_lengths_are_refused() {
        let tile = Tile::new(TileId::new(0, 0), leaves(3)).expect("tile");
        let bytes = tile.to_bytes();
        assert_eq!(bytes.len(), 96);
        assert_eq!(Tile::from_bytes(tile.id(), &bytes), Ok(tile));
        for len in [0, 31, 33, 8192 + 32] {
            assert_eq!(
                Tile::from_bytes(TileId::new(0, 0), &vec![0; len]),
                Err(TileError::BadLength(len))
            );
        }
        assert!(Tile::from_bytes(TileId::new(0, 0), &[0; 8192]).is_ok());
        assert_eq!(
            Tile::new(TileId::new(0, 0), vec![]),
            Err(TileError::BadWidth(0))
        );
        assert_eq!(
            Tile::new(TileId::new(0, 0), leaves(257)),
            Err(TileError::BadWidth(257))
        );
    }

    #[test]
    fn tile_sets_keep_the_widest_version() {
        let id = TileId::new(0, 0);
        let narrow = Tile::new(id, leaves(10)).expect("tile");
        let wide = Tile::new(id, leaves(20)).expect("tile");
        let mut set = TileSet::new();
        set.insert(narrow.clone());
        set.insert(wide.clone());
        set.insert(narrow);
        assert_eq!(set.get(id), Some(&wide));
        assert_eq!(set.len(), 1);
        let leaf = NodeId::new(0, 15);
        assert_eq!(
            set.read_hashes(&[leaf]),
            Ok(vec![leaf_hash(&15u64.to_be_bytes())])
        );
        let beyond = NodeId::new(0, 20);
        assert_eq!(set.read_hashes(&[leaf, beyond]), Err(MissingHash(beyond)));
    }
}
