//! The tree's right edge: what the integrator extends (C2SP tlog-tiles,
//! "Merkle Tree" and "Partial Tiles").
//!
//! At size `n` a level-`T` tile level has `c = n >> 8T` complete entries; the
//! edge keeps the tile holding entry `c - 1` (partial, or just filled) for
//! every level with `c > 0`. Those tiles hold every root node of the tree
//! (each root node is the last complete node of its level), so the root needs
//! no other hash, and appending needs only them: memory stays below
//! `8 × 511` hashes whatever the tree size.

use super::{TILE_WIDTH, Tile, TileError, TileId, level_count, read_from_tiles};
use crate::hash::{EMPTY_ROOT, Hash, node_hash};
use crate::ids::TreeSize;
use crate::merkle::{HashReader, MissingHash, NodeId, root_nodes};

/// The last tile of each tile level at one tree size, and that size's root.
///
/// # Proofs for a batch
/// After [`RightEdge::append`], a [`super::TileSet`] holding the tiles of the
/// edge *before* the append plus every tile `append` returned answers, at the
/// new size: the root, the inclusion proof of every leaf just appended, and
/// the consistency proof from the old size. Why: on the path of a new leaf
/// `m`, at each tile level `T` the needed hashes lie in the tile holding
/// `m`'s level-`8T` ancestor `a`. If `a` is complete it was not complete
/// before (it covers `m`), so its tile gained an entry and was returned;
/// otherwise `a` is the first incomplete entry of its level, the hashes
/// needed are the complete entries left of it in the same tile, and that tile
/// is the last one at level `T`, either returned or unchanged from the old
/// edge. An incomplete right sibling is folded from root nodes of the new
/// tree, all on the new edge, which is the old edge widened by what was
/// returned. Older leaves' proofs need the tiles the store keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RightEdge {
    size: TreeSize,
    root: Hash,
    /// `tiles[T]` is the last tile at tile level `T`.
    tiles: Vec<Tile>,
}

impl RightEdge {
    /// The edge of the empty tree.
    pub fn empty() -> Self {
        Self {
            size: TreeSize::ZERO,
            root: EMPTY_ROOT,
            tiles: Vec::new(),
        }
    }

    /// The tiles to load (at width [`TileId::width_at`] `size`) to rebuild
    /// the edge with [`RightEdge::from_tiles`], lowest level first.
    pub fn required_tiles(size: TreeSize) -> Vec<TileId> {
        (0u8..)
            .map(|level| (level, level_count(level, size)))
            .take_while(|&(_, count)| count > 0)
            .map(|(level, count)| TileId::new(level, (count - 1) / TILE_WIDTH as u64))
            .collect()
    }

    /// Rebuilds the edge from exactly the tiles [`RightEdge::required_tiles`]
    /// names, in any order.
    ///
    /// # Errors
    /// [`TileError::UnexpectedTile`] for a tile not on the edge (or given
    /// twice), [`TileError::WidthMismatch`] for a tile of the wrong width at
    /// `size`, [`TileError::MissingTile`] for an edge tile not given.
    pub fn from_tiles(size: TreeSize, tiles: Vec<Tile>) -> Result<Self, TileError> {
        let required = Self::required_tiles(size);
        let mut slots: Vec<Option<Tile>> = vec![None; required.len()];
        for tile in tiles {
            let id = tile.id();
            let level = usize::from(id.level);
            match (required.get(level), slots.get(level)) {
                (Some(want), Some(None)) if *want == id => {}
                _ => return Err(TileError::UnexpectedTile(id)),
            }
            let expected = id.width_at(size);
            if tile.width() != expected {
                return Err(TileError::WidthMismatch {
                    id,
                    expected,
                    actual: tile.width(),
                });
            }
            slots[level] = Some(tile);
        }
        let tiles = slots
            .into_iter()
            .zip(&required)
            .map(|(slot, id)| slot.ok_or(TileError::MissingTile(*id)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut edge = Self {
            size,
            root: EMPTY_ROOT,
            tiles,
        };
        edge.root = edge
            .compute_root()
            .map_err(|MissingHash(node)| TileError::MissingTile(TileId::containing(node)))?;
        Ok(edge)
    }

    pub fn size(&self) -> TreeSize {
        self.size
    }

    /// The MTH at [`RightEdge::size`].
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The last tile of each level, lowest level first.
    pub fn tiles(&self) -> &[Tile] {
        &self.tiles
    }

    /// Appends leaf hashes and returns every tile that gained entries (new or
    /// widened, full or partial, each at its new width, lowest level first)
    /// for the caller to persist. A tile filled to 256 entries contributes its
    /// root as the next entry one level up; partial tiles never do. Costs one
    /// hash per new node, about two per leaf.
    pub fn append(&mut self, leaf_hashes: &[Hash]) -> Vec<Tile> {
        let Some(size) = u64::try_from(leaf_hashes.len())
            .ok()
            .and_then(|n| self.size.checked_add(n).ok())
        else {
            // A tree of 2^64 leaves would need 2^69 bytes of leaf hashes alone;
            // no log gets there, so refusing loudly beats a wrong root.
            panic!("tree size overflows u64");
        };
        let mut changed = Vec::new();
        let mut pending = leaf_hashes.to_vec();
        let mut level: u8 = 0;
        while !pending.is_empty() {
            let mut filled = Vec::new();
            let mut current = self.tiles.get(usize::from(level)).cloned();
            let mut rest = pending.as_slice();
            while !rest.is_empty() {
                let mut tile = match current.take() {
                    Some(tile) if !tile.is_full() => tile,
                    Some(full) => Tile::empty(TileId::new(level, full.id().index + 1)),
                    None => Tile::empty(TileId::new(level, 0)),
                };
                let take = (TILE_WIDTH - tile.width()).min(rest.len());
                tile.extend(&rest[..take]);
                rest = &rest[take..];
                filled.extend(tile.root());
                changed.push(tile.clone());
                current = Some(tile);
            }
            if let Some(tile) = current {
                match self.tiles.get_mut(usize::from(level)) {
                    Some(slot) => *slot = tile,
                    None => self.tiles.push(tile),
                }
            }
            pending = filled;
            level += 1;
        }
        self.size = size;
        // The loop just refreshed the last tile of every level that gained an
        // entry, and the others still hold their last entry, so every root
        // node is present.
        self.root = self
            .compute_root()
            .expect("the right edge holds every root node");
        changed
    }

    /// Folds the root nodes right to left (RFC 6962 §2.1); they are all on
    /// the edge, so only a broken edge misses one.
    fn compute_root(&self) -> Result<Hash, MissingHash> {
        let hashes = self.read_hashes(&root_nodes(self.size))?;
        Ok(hashes
            .into_iter()
            .rev()
            .reduce(|right, left| node_hash(&left, &right))
            .unwrap_or(EMPTY_ROOT))
    }
}

impl Default for RightEdge {
    fn default() -> Self {
        Self::empty()
    }
}

impl HashReader for RightEdge {
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingHash> {
        // Tile::node checks the index, so looking up by level is enough.
        read_from_tiles(ids, |tile_id| self.tiles.get(usize::from(tile_id.level)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::TileSet;
    use super::*;
    use crate::ids::LeafIndex;
    use crate::merkle::test_support::{NodeTable, leaves, naive_root};
    use crate::{consistency, inclusion};
    use proptest::prelude::*;

    #[test]
    fn empty_edge() {
        let edge = RightEdge::empty();
        assert_eq!(edge.root(), EMPTY_ROOT);
        assert!(RightEdge::required_tiles(TreeSize::ZERO).is_empty());
        assert_eq!(RightEdge::from_tiles(TreeSize::ZERO, vec![]), Ok(edge));
    }

    #[test]
    fn required_tiles_name_the_last_tile_per_level() {
        let at = |n| RightEdge::required_tiles(TreeSize::new(n));
        assert_eq!(at(1), vec![TileId::new(0, 0)]);
        assert_eq!(at(256), vec![TileId::new(0, 0), TileId::new(1, 0)]);
        assert_eq!(at(257), vec![TileId::new(0, 1), TileId::new(1, 0)]);
        assert_eq!(
            at(256 * 256 * 3 + 512),
            vec![TileId::new(0, 769), TileId::new(1, 3), TileId::new(2, 0)]
        );
        assert_eq!(at(u64::MAX).len(), 8);
    }

    #[test]
    fn append_fills_tiles_and_carries_full_roots_up() {
        let all = leaves(256 * 256 + 3);
        let mut edge = RightEdge::empty();
        let changed = edge.append(&all[..300]);
        let ids: Vec<(TileId, usize)> = changed.iter().map(|t| (t.id(), t.width())).collect();
        assert_eq!(
            ids,
            vec![
                (TileId::new(0, 0), 256),
                (TileId::new(0, 1), 44),
                (TileId::new(1, 0), 1)
            ]
        );
        assert_eq!(edge.root(), naive_root(&all[..300]));
        // Filling the rest of level 0 to 256 × 256 fills level 1 too.
        let changed = edge.append(&all[300..]);
        assert_eq!(changed.len(), 255 + 1 + 1 + 1);
        assert_eq!(
            changed.last().map(|t| (t.id(), t.width())),
            Some((TileId::new(2, 0), 1))
        );
        assert_eq!(edge.root(), naive_root(&all));
        assert_eq!(edge.tiles().len(), 3);
        assert!(edge.append(&[]).is_empty());
    }

    #[test]
    fn from_tiles_checks_what_it_is_given() {
        let all = leaves(300);
        let mut edge = RightEdge::empty();
        edge.append(&all);
        let size = edge.size();
        let tiles = edge.tiles().to_vec();
        let reversed: Vec<Tile> = tiles.iter().rev().cloned().collect();
        assert_eq!(RightEdge::from_tiles(size, reversed), Ok(edge.clone()));
        assert_eq!(
            RightEdge::from_tiles(size, tiles[..1].to_vec()),
            Err(TileError::MissingTile(TileId::new(1, 0)))
        );
        let doubled = vec![tiles[0].clone(), tiles[0].clone(), tiles[1].clone()];
        assert_eq!(
            RightEdge::from_tiles(size, doubled),
            Err(TileError::UnexpectedTile(TileId::new(0, 1)))
        );
        let narrow = Tile::new(TileId::new(0, 1), all[256..290].to_vec()).expect("tile");
        assert_eq!(
            RightEdge::from_tiles(size, vec![narrow, tiles[1].clone()]),
            Err(TileError::WidthMismatch {
                id: TileId::new(0, 1),
                expected: 44,
                actual: 34
            })
        );
        let wrong = Tile::new(TileId::new(0, 0), all[..44].to_vec()).expect("tile");
        assert_eq!(
            RightEdge::from_tiles(size, vec![wrong]),
            Err(TileError::UnexpectedTile(TileId::new(0, 0)))
        );
    }

    /// Appends batches and checks, after each, that the old edge plus the
    /// returned tiles answer the root, every new leaf's inclusion proof and
    /// the consistency proof from the old size; that the edge reloads from
    /// persisted tiles; and that all persisted tiles answer proofs at sizes
    /// seen earlier. Expected hashes come from a table of every complete node
    /// built bottom-up from the leaves.
    fn check_batches(batches: &[usize], probes: &[(u64, u64)]) -> Result<(), TestCaseError> {
        let total: usize = batches.iter().sum();
        let all = leaves(total as u64);
        let oracle = NodeTable::new(&all);
        let mut edge = RightEdge::empty();
        let mut persisted = TileSet::new();
        for &len in batches {
            let old = edge.size();
            let mut batch_set = TileSet::new();
            batch_set.extend(edge.tiles().iter().cloned());
            let start = old.get() as usize;
            let changed = edge.append(&all[start..start + len]);
            let size = edge.size();
            prop_assert!(edge.tiles().len() <= 8);
            prop_assert_eq!(crate::merkle::tree_root(size, &oracle), Ok(edge.root()));
            batch_set.extend(changed.iter().cloned());
            persisted.extend(changed);
            prop_assert_eq!(crate::merkle::tree_root(size, &batch_set), Ok(edge.root()));
            for m in old.get()..size.get() {
                let index = LeafIndex::new(m);
                let proof = inclusion::prove(index, size, &batch_set);
                prop_assert_eq!(&proof, &inclusion::prove(index, size, &oracle));
            }
            if old != TreeSize::ZERO {
                let proof = consistency::prove(old, size, &batch_set);
                prop_assert_eq!(proof, consistency::prove(old, size, &oracle));
            }
            let reload: Vec<Tile> = RightEdge::required_tiles(size)
                .into_iter()
                .filter_map(|id| persisted.get(id).cloned())
                .collect();
            prop_assert_eq!(RightEdge::from_tiles(size, reload), Ok(edge.clone()));
        }
        prop_assert_eq!(edge.root(), naive_root(&all));
        for &(a, b) in probes {
            let n = b % total as u64 + 1;
            let (m, size) = (a % n, TreeSize::new(n));
            let proof = inclusion::prove(LeafIndex::new(m), size, &persisted);
            prop_assert_eq!(proof, inclusion::prove(LeafIndex::new(m), size, &oracle));
            let first = TreeSize::new(m + 1);
            let proof = consistency::prove(first, size, &persisted);
            prop_assert_eq!(proof, consistency::prove(first, size, &oracle));
        }
        Ok(())
    }

    #[test]
    fn batches_across_a_level_one_tile() {
        // 256 × 256 leaves fill tile 1/0 and open level 2.
        let mut batches = vec![256; 256];
        batches.extend([1, 255, 700]);
        check_batches(&batches[..], &[(3, 65_535), (65_536, 65_537), (9, 66_000)])
            .expect("tile proofs");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn tile_proofs_equal_naive_ones(
            batches in prop::collection::vec(1usize..=600, 1..12),
            probes in prop::collection::vec((any::<u64>(), any::<u64>()), 8),
        ) {
            check_batches(&batches, &probes)?;
        }
    }
}
