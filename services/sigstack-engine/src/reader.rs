//! The read side: heads, leaves, and inclusion and consistency proofs
//! computed from stored tiles. It reads through [`LogReader`], which never
//! takes the write lock, and keeps a bounded cache of full tiles (full tiles
//! are immutable, so a cached one is never stale; partial tiles are always
//! read fresh).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;
use sigstack_core::hash::Hash;
use sigstack_core::ids::{LeafIndex, TreeId, TreeSize};
use sigstack_core::merkle::{self, NodeId};
use sigstack_core::tile::{TILE_WIDTH, Tile, TileId, TileSet, tiles_for};
use sigstack_core::{consistency, inclusion};
use sigstack_store::{LeafRow, LogReader, StoredHead};

use crate::error::EngineError;
use crate::integrator::tiles_from_stored;

type TileCache = LruCache<(TreeId, TileId), Arc<Tile>>;

/// Reads trees and proves things about them.
#[derive(Debug, Clone)]
pub struct TreeReader<S> {
    store: S,
    cache: Arc<Mutex<TileCache>>,
}

impl<S: LogReader> TreeReader<S> {
    pub fn new(store: S, cached_tiles: usize) -> Self {
        let capacity = NonZeroUsize::new(cached_tiles.max(1)).unwrap_or(NonZeroUsize::MIN);
        Self {
            store,
            cache: Arc::new(Mutex::new(LruCache::new(capacity))),
        }
    }

    /// The latest committed head of `tree`.
    ///
    /// # Errors
    /// [`EngineError::UnknownTree`], or a store error.
    pub async fn head(&self, tree: TreeId) -> Result<StoredHead, EngineError> {
        self.store
            .head(tree)
            .await?
            .ok_or(EngineError::UnknownTree(tree))
    }

    /// The leaf at `index`.
    ///
    /// # Errors
    /// [`EngineError::IndexBeyondTree`] when no such leaf is committed.
    pub async fn leaf(&self, tree: TreeId, index: LeafIndex) -> Result<LeafRow, EngineError> {
        let head = self.head(tree).await?;
        if !index.is_within(head.size) {
            return Err(EngineError::IndexBeyondTree {
                index,
                size: head.size,
            });
        }
        let mut rows = self.store.leaves(tree, index, 1).await?;
        match rows.pop() {
            Some(row) if row.index == index => Ok(row),
            _ => Err(EngineError::Corrupt(format!(
                "tree {tree}: leaf {index} missing below size {}",
                head.size
            ))),
        }
    }

    /// Up to `count` committed leaves from `start`.
    ///
    /// # Errors
    /// A store error.
    pub async fn leaves(
        &self,
        tree: TreeId,
        start: LeafIndex,
        count: u32,
    ) -> Result<Vec<LeafRow>, EngineError> {
        Ok(self.store.leaves(tree, start, count).await?)
    }

    /// The index of the leaf with `hash`, if it is in the tree.
    ///
    /// # Errors
    /// A store error.
    pub async fn leaf_index(
        &self,
        tree: TreeId,
        hash: &Hash,
    ) -> Result<Option<LeafIndex>, EngineError> {
        Ok(self.store.leaf_index(tree, hash).await?)
    }

    /// The RFC 6962 inclusion proof of leaf `index` in the tree at `size`.
    ///
    /// # Errors
    /// [`EngineError::SizeBeyondTree`] when `size` exceeds the committed size,
    /// [`EngineError::IndexBeyondTree`] when `index` is not below `size`.
    pub async fn inclusion_proof(
        &self,
        tree: TreeId,
        index: LeafIndex,
        size: TreeSize,
    ) -> Result<Vec<Hash>, EngineError> {
        self.check_size(tree, size).await?;
        if !index.is_within(size) {
            return Err(EngineError::IndexBeyondTree { index, size });
        }
        let nodes = inclusion::required_nodes(index, size)
            .map_err(|e| EngineError::InvalidRange(e.to_string()))?;
        let tiles = self.tile_set(tree, &nodes).await?;
        inclusion::prove(index, size, &tiles).map_err(|e| EngineError::Corrupt(e.to_string()))
    }

    /// The RFC 6962 consistency proof between sizes `first` and `second`.
    ///
    /// # Errors
    /// [`EngineError::InvalidRange`] for `first` = 0 or `first` > `second`,
    /// [`EngineError::SizeBeyondTree`] when `second` exceeds the committed size.
    pub async fn consistency_proof(
        &self,
        tree: TreeId,
        first: TreeSize,
        second: TreeSize,
    ) -> Result<Vec<Hash>, EngineError> {
        let nodes = consistency::required_nodes(first, second)
            .map_err(|e| EngineError::InvalidRange(e.to_string()))?;
        self.check_size(tree, second).await?;
        let tiles = self.tile_set(tree, &nodes).await?;
        consistency::prove(first, second, &tiles).map_err(|e| EngineError::Corrupt(e.to_string()))
    }

    /// The root of the tree at an earlier (or the current) `size`.
    ///
    /// # Errors
    /// [`EngineError::SizeBeyondTree`] when `size` exceeds the committed size.
    pub async fn root_at(&self, tree: TreeId, size: TreeSize) -> Result<Hash, EngineError> {
        self.check_size(tree, size).await?;
        let nodes = merkle::root_nodes(size);
        let tiles = self.tile_set(tree, &nodes).await?;
        merkle::tree_root(size, &tiles).map_err(|e| EngineError::Corrupt(e.to_string()))
    }

    async fn check_size(&self, tree: TreeId, size: TreeSize) -> Result<(), EngineError> {
        let head = self.head(tree).await?;
        if size > head.size {
            return Err(EngineError::SizeBeyondTree {
                requested: size,
                current: head.size,
            });
        }
        Ok(())
    }

    /// The tiles holding `nodes`: full ones from the cache where possible.
    async fn tile_set(&self, tree: TreeId, nodes: &[NodeId]) -> Result<TileSet, EngineError> {
        let wanted = tiles_for(nodes);
        let mut set = TileSet::default();
        let mut missing = Vec::new();
        {
            let mut cache = self
                .cache
                .lock()
                .map_err(|_| EngineError::Corrupt("tile cache poisoned".into()))?;
            for id in wanted {
                match cache.get(&(tree, id)) {
                    Some(tile) => set.insert(Tile::clone(tile)),
                    None => missing.push(id),
                }
            }
        }
        if !missing.is_empty() {
            let fetched = tiles_from_stored(self.store.tiles(tree, &missing).await?)?;
            let mut cache = self
                .cache
                .lock()
                .map_err(|_| EngineError::Corrupt("tile cache poisoned".into()))?;
            for tile in fetched {
                if tile.width() == TILE_WIDTH {
                    cache.put((tree, tile.id()), Arc::new(tile.clone()));
                }
                set.insert(tile);
            }
        }
        Ok(set)
    }
}
