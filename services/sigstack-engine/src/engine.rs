//! The engine's front door: creating trees, appending through each tree's
//! sequencer, and reading.

use std::collections::HashMap;
use std::sync::Arc;

use sigstack_core::hash::{Hash, leaf_hash};
use sigstack_core::ids::{LeafIndex, TreeId, TreeSize};
use sigstack_core::inclusion;
use sigstack_core::tile::RightEdge;
use sigstack_store::{
    BatchWrite, LeafRow, LogReader, SearchKey, SequencerStore, StoredHead, TreeCatalog,
};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::EngineConfig;
use crate::error::EngineError;
use crate::integrator::{integrate, to_stored};
use crate::publisher::Publisher;
use crate::reader::TreeReader;
use crate::sealer::{LeafSealer, seal_all};
use crate::sequencer::{AppendRequest, PublishedHead, Sealed, Sequencer, unix_seconds};

/// What a caller hears once its leaf is committed.
#[derive(Debug, Clone)]
pub struct Appended {
    pub index: LeafIndex,
    /// The leaf was already in the tree; `index` is where it already was.
    pub duplicate: bool,
    /// The signed head of the batch that committed (or re-confirmed) the leaf.
    pub head: Arc<PublishedHead>,
    /// Inclusion proof of `index` against `head`, leaf level first.
    pub proof: Vec<Hash>,
    /// For a new leaf, its integration time and seal; `None` for a duplicate
    /// (read the stored leaf for those).
    pub sealed: Option<Sealed>,
}

/// Anything the engine can store to: every port of `sigstack-store`.
pub trait EngineStore: TreeCatalog + SequencerStore + LogReader + Clone + 'static {}
impl<T: TreeCatalog + SequencerStore + LogReader + Clone + 'static> EngineStore for T {}

/// Appends to one tree through its sequencer.
#[derive(Debug, Clone)]
pub struct TreeWriter {
    tree: TreeId,
    queue: mpsc::Sender<AppendRequest>,
    max_leaf_bytes: usize,
    /// Appends waiting, set at each enqueue (the sequencer sets it at each
    /// batch), so a sequencer stuck in a commit shows a growing queue.
    queue_depth: metrics::Gauge,
}

impl TreeWriter {
    pub fn tree(&self) -> TreeId {
        self.tree
    }

    /// Appends `data` as a leaf and waits until its batch is committed.
    ///
    /// # Errors
    /// [`EngineError::EmptyLeaf`] and [`EngineError::LeafTooLarge`] before
    /// anything is queued; [`EngineError::TreeFrozen`],
    /// [`EngineError::BatchFailed`] or [`EngineError::SequencerStopped`] when
    /// the batch did not commit (nothing of it was stored).
    pub async fn append(&self, data: Vec<u8>) -> Result<Appended, EngineError> {
        self.append_with_keys(data, Vec::new()).await
    }

    /// Appends `data` and, if it is new, stores it under the search `keys`
    /// in the same transaction (see [`TreeWriter::append`]).
    ///
    /// # Errors
    /// As [`TreeWriter::append`].
    pub async fn append_with_keys(
        &self,
        data: Vec<u8>,
        keys: Vec<String>,
    ) -> Result<Appended, EngineError> {
        self.append_with(data, keys, Vec::new()).await
    }

    /// Appends `data` and, if it is new, stores `attachment` with it in the
    /// same transaction: bytes that belong to the leaf but are not hashed
    /// into the tree (the CT log's `extra_data`, the chain). They are kept
    /// in the leaf's seal, so a personality uses either attachments or a
    /// [`crate::LeafSealer`], never both; a duplicate keeps the first leaf's.
    ///
    /// # Errors
    /// As [`TreeWriter::append`].
    pub async fn append_attached(
        &self,
        data: Vec<u8>,
        attachment: Vec<u8>,
    ) -> Result<Appended, EngineError> {
        self.append_with(data, Vec::new(), attachment).await
    }

    async fn append_with(
        &self,
        data: Vec<u8>,
        keys: Vec<String>,
        attachment: Vec<u8>,
    ) -> Result<Appended, EngineError> {
        check_leaf(&data, self.max_leaf_bytes)?;
        // Hashing here, on the caller's task, keeps it off the sequencer's.
        let hash = leaf_hash(&data);
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(AppendRequest {
                data,
                hash,
                keys,
                attachment,
                reply,
            })
            .await
            .map_err(|_| EngineError::SequencerStopped(self.tree))?;
        #[allow(clippy::cast_precision_loss)]
        self.queue_depth
            .set((self.queue.max_capacity() - self.queue.capacity()) as f64);
        let sequenced = answer
            .await
            .map_err(|_| EngineError::SequencerStopped(self.tree))??;
        let proof = inclusion::prove(
            sequenced.index,
            sequenced.head.size,
            sequenced.tiles.as_ref(),
        )
        .map_err(|e| EngineError::Corrupt(format!("proof of a committed leaf: {e}")))?;
        Ok(Appended {
            index: sequenced.index,
            duplicate: sequenced.duplicate,
            head: sequenced.head,
            proof,
            sealed: sequenced.sealed,
        })
    }
}

fn check_leaf(data: &[u8], max: usize) -> Result<(), EngineError> {
    if data.is_empty() {
        return Err(EngineError::EmptyLeaf);
    }
    if data.len() > max {
        return Err(EngineError::LeafTooLarge {
            size: data.len(),
            max,
        });
    }
    Ok(())
}

/// The log engine over one store.
#[derive(Debug)]
pub struct Engine<S> {
    store: S,
    config: Arc<EngineConfig>,
    publisher: Publisher,
    sealer: Option<Arc<dyn LeafSealer>>,
    reader: TreeReader<S>,
    writers: Mutex<HashMap<TreeId, (TreeWriter, JoinHandle<()>)>>,
}

impl<S: EngineStore> Engine<S> {
    /// # Errors
    /// [`EngineError::InvalidRange`] naming a setting out of range.
    pub fn new(store: S, config: EngineConfig, publisher: Publisher) -> Result<Self, EngineError> {
        config.validate().map_err(EngineError::InvalidRange)?;
        let reader = TreeReader::new(store.clone(), config.tile_cache_tiles);
        Ok(Self {
            store,
            config: Arc::new(config),
            publisher,
            sealer: None,
            reader,
            writers: Mutex::new(HashMap::new()),
        })
    }

    /// Seals every new leaf with `sealer` at integration (set it before any
    /// writer starts).
    #[must_use]
    pub fn with_sealer(mut self, sealer: Arc<dyn LeafSealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    pub fn reader(&self) -> &TreeReader<S> {
        &self.reader
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Creates `tree` as `log`'s active tree, with `genesis` (the log's own
    /// entry) at index 0, committed and signed before this returns, so that
    /// no client entry ever receives proof index 0.
    ///
    /// # Errors
    /// [`EngineError::EmptyLeaf`]/[`EngineError::LeafTooLarge`] for the
    /// genesis entry; a store conflict when the ID is taken or the log has an
    /// active tree.
    pub async fn create_tree(
        &self,
        log: &str,
        tree: TreeId,
        genesis: Vec<u8>,
    ) -> Result<PublishedHead, EngineError> {
        self.create_tree_with_keys(log, tree, genesis, Vec::new())
            .await
    }

    /// As [`Engine::create_tree`], storing the genesis entry under the
    /// search `keys`.
    ///
    /// # Errors
    /// As [`Engine::create_tree`].
    pub async fn create_tree_with_keys(
        &self,
        log: &str,
        tree: TreeId,
        genesis: Vec<u8>,
        keys: Vec<String>,
    ) -> Result<PublishedHead, EngineError> {
        let write = self.genesis_write(tree, genesis, keys, &[])?;
        let head = write.head.clone();
        self.store.create_tree(log, tree, write).await?;
        Ok(PublishedHead {
            tree,
            size: head.size,
            root: head.root,
            checkpoint: head.checkpoint,
        })
    }

    /// Freezes `log`'s active tree and starts `tree` as its new active tree
    /// with the `genesis` entry at index 0, in one store transaction. The
    /// old tree's sequencer fails its next batch with
    /// [`EngineError::TreeFrozen`]; reads of the old tree keep working.
    ///
    /// # Errors
    /// As [`Engine::create_tree`].
    pub async fn rotate_tree(
        &self,
        log: &str,
        tree: TreeId,
        genesis: Vec<u8>,
        keys: Vec<String>,
    ) -> Result<PublishedHead, EngineError> {
        check_leaf(&genesis, self.config.max_leaf_bytes)?;
        let mut published = None;
        self.store
            .rotate_tree(log, tree, |earlier| {
                let write = self
                    .genesis_write(tree, genesis, keys, earlier)
                    .map_err(|e| e.to_string())?;
                published = Some(write.head.clone());
                Ok(write)
            })
            .await?;
        let head =
            published.ok_or_else(|| EngineError::Corrupt("rotation wrote no head".into()))?;
        Ok(PublishedHead {
            tree,
            size: head.size,
            root: head.root,
            checkpoint: head.checkpoint,
        })
    }

    /// The first write of a new tree: its genesis leaf integrated, sealed
    /// (after telling the sealer which trees came `earlier`) and signed.
    fn genesis_write(
        &self,
        tree: TreeId,
        genesis: Vec<u8>,
        keys: Vec<String>,
        earlier: &[(TreeId, TreeSize)],
    ) -> Result<BatchWrite, EngineError> {
        check_leaf(&genesis, self.config.max_leaf_bytes)?;
        let mut edge = RightEdge::empty();
        let hash = leaf_hash(&genesis);
        let integrated = integrate(&mut edge, &[hash]);
        let checkpoint = self
            .publisher
            .publish(tree, integrated.size, integrated.root)
            .map_err(EngineError::Publish)?;
        let mut leaves = vec![LeafRow {
            index: LeafIndex::new(0),
            hash,
            data: genesis,
            integrated_at: unix_seconds(),
            seal: Vec::new(),
        }];
        if let Some(sealer) = &self.sealer {
            sealer.tree_added(tree, earlier);
            seal_all(sealer, tree, &mut leaves)
                .map_err(|e| EngineError::BatchFailed(e.to_string()))?;
        }
        Ok(BatchWrite {
            leaves,
            tiles: integrated.changed.iter().map(to_stored).collect(),
            keys: keys
                .into_iter()
                .map(|key| SearchKey {
                    key,
                    index: LeafIndex::new(0),
                })
                .collect(),
            head: StoredHead {
                size: integrated.size,
                root: integrated.root,
                checkpoint,
            },
        })
    }

    /// The writer of `tree`, starting its sequencer on first use.
    ///
    /// # Errors
    /// [`EngineError::UnknownTree`] for a tree the store does not have.
    pub async fn writer(&self, tree: TreeId) -> Result<TreeWriter, EngineError> {
        let mut writers = self.writers.lock().await;
        if let Some((writer, task)) = writers.get(&tree)
            && !task.is_finished()
        {
            return Ok(writer.clone());
        }
        let Some(head) = self.store.head(tree).await? else {
            return Err(EngineError::UnknownTree(tree));
        };
        crate::metrics::tree_size(&self.config.name, tree, head.size);
        let (queue, requests) = mpsc::channel(self.config.queue_depth);
        let queue_depth = crate::metrics::sequencer_started(&self.config.name);
        let sequencer = Sequencer {
            tree,
            store: self.store.clone(),
            publisher: self.publisher.clone(),
            config: Arc::clone(&self.config),
            sealer: self.sealer.clone(),
            edge: None,
            queue_depth: queue_depth.clone(),
        };
        let task = tokio::spawn(sequencer.run(requests));
        let writer = TreeWriter {
            tree,
            queue,
            max_leaf_bytes: self.config.max_leaf_bytes,
            queue_depth,
        };
        writers.insert(tree, (writer.clone(), task));
        Ok(writer)
    }

    /// Trees whose sequencer task has ended while the engine runs (a
    /// panic): readiness reports them. The next append restarts it.
    pub async fn stopped_sequencers(&self) -> Vec<TreeId> {
        self.writers
            .lock()
            .await
            .iter()
            .filter(|(_, (_, task))| task.is_finished())
            .map(|(tree, _)| *tree)
            .collect()
    }

    /// Appends to `tree` (see [`TreeWriter::append`]).
    ///
    /// # Errors
    /// As [`Engine::writer`] and [`TreeWriter::append`].
    pub async fn append(&self, tree: TreeId, data: Vec<u8>) -> Result<Appended, EngineError> {
        self.writer(tree).await?.append(data).await
    }

    /// Appends to `tree` with search keys (see [`TreeWriter::append_with_keys`]).
    ///
    /// # Errors
    /// As [`Engine::writer`] and [`TreeWriter::append`].
    pub async fn append_with_keys(
        &self,
        tree: TreeId,
        data: Vec<u8>,
        keys: Vec<String>,
    ) -> Result<Appended, EngineError> {
        self.writer(tree).await?.append_with_keys(data, keys).await
    }

    /// Appends to `tree` with an attachment (see [`TreeWriter::append_attached`]).
    ///
    /// # Errors
    /// As [`Engine::writer`] and [`TreeWriter::append`].
    pub async fn append_attached(
        &self,
        tree: TreeId,
        data: Vec<u8>,
        attachment: Vec<u8>,
    ) -> Result<Appended, EngineError> {
        self.writer(tree)
            .await?
            .append_attached(data, attachment)
            .await
    }

    /// The latest committed head of `tree`.
    ///
    /// # Errors
    /// [`EngineError::UnknownTree`], or a store error.
    pub async fn head(&self, tree: TreeId) -> Result<StoredHead, EngineError> {
        self.reader.head(tree).await
    }

    /// Stops taking appends, lets every sequencer commit what it has queued,
    /// and waits for them. Clones of a [`TreeWriter`] held elsewhere keep
    /// their sequencer alive until they are dropped.
    pub async fn shutdown(&self) {
        let drained: Vec<_> = self.writers.lock().await.drain().collect();
        for (_, (writer, task)) in drained {
            drop(writer);
            if let Err(e) = task.await {
                tracing::error!(error = %e, "sequencer task ended abnormally");
            }
        }
    }

    /// Size of a tree, for callers that only need the number.
    ///
    /// # Errors
    /// As [`Engine::head`].
    pub async fn size(&self, tree: TreeId) -> Result<TreeSize, EngineError> {
        Ok(self.head(tree).await?.size)
    }
}
