//! The sequencer: one task per tree that turns queued appends into batches.
//! Each batch runs three named steps inside one store transaction,
//!
//! 1. [`sequence`]: deduplicate by leaf hash and assign indices;
//! 2. [`crate::integrator::integrate`]: extend the tiles and compute the root;
//! 3. [`crate::publisher::Publisher::publish`]: sign one checkpoint,
//!
//! then commits leaves, tiles, checkpoint and head together with a
//! compare-and-swap on the head. No caller hears success before that commit
//! returns; a failed batch fails every request in it and leaves nothing
//! behind (the transaction rolls back and the in-memory right edge is
//! dropped, to be reloaded from the store by the next batch).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sigstack_core::hash::Hash;
use sigstack_core::ids::{LeafIndex, TreeId, TreeSize};
use sigstack_core::inclusion;
use sigstack_core::tile::{RightEdge, TileSet, tiles_for};
use sigstack_store::{
    BatchWrite, LeafRow, SearchKey, SequencerBatch, SequencerStore, StoreError, StoredHead,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::Instrument as _;

use crate::batch::fill_batch;
use crate::config::EngineConfig;
use crate::error::{EngineError, error_chain};
use crate::integrator::{integrate, load_right_edge, tiles_from_stored};
use crate::publisher::Publisher;
use crate::sealer::{LeafSealer, seal_all};

/// A tree head the sequencer committed and signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedHead {
    pub tree: TreeId,
    pub size: TreeSize,
    pub root: Hash,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

/// One queued append.
#[derive(Debug)]
pub(crate) struct AppendRequest {
    pub data: Vec<u8>,
    pub hash: Hash,
    /// Search keys to store with the leaf if it is new.
    pub keys: Vec<String>,
    /// Stored as the new leaf's seal when no sealer replaces it.
    pub attachment: Vec<u8>,
    pub reply: oneshot::Sender<Result<Sequenced, EngineError>>,
}

/// What the sequencer tells a caller after commit: enough to build its own
/// inclusion proof off the sequencer's task.
#[derive(Debug)]
pub(crate) struct Sequenced {
    pub index: LeafIndex,
    pub duplicate: bool,
    pub head: Arc<PublishedHead>,
    /// Holds every node the inclusion proof of each leaf of the batch needs
    /// at `head.size`.
    pub tiles: Arc<TileSet>,
    /// For a new leaf: when it was integrated and what the sealer attached.
    pub sealed: Option<Sealed>,
}

/// What the sequencer recorded with a new leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Unix seconds.
    pub integrated_at: i64,
    /// The [`crate::LeafSealer`]'s bytes (empty without a sealer).
    pub seal: Vec<u8>,
}

/// Where each request of a batch landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    New(LeafIndex),
    Duplicate(LeafIndex),
}

pub(crate) struct Sequencer<S> {
    pub tree: TreeId,
    pub store: S,
    pub publisher: Publisher,
    pub config: Arc<EngineConfig>,
    pub sealer: Option<Arc<dyn LeafSealer>>,
    /// The right edge as of the last committed batch; `None` when unknown
    /// (at start, after a failure, or when another writer may have moved the tree).
    pub edge: Option<RightEdge>,
    /// `sigstack_sequencer_queue_depth`, shared with the tree's writers.
    pub queue_depth: metrics::Gauge,
}

impl<S: SequencerStore> Sequencer<S> {
    /// Runs until every sender is dropped, then commits what is queued and returns.
    pub async fn run(mut self, mut queue: mpsc::Receiver<AppendRequest>) {
        while let Some(first) = queue.recv().await {
            let batch = fill_batch(
                &mut queue,
                first,
                self.config.max_batch,
                self.config.max_wait,
                None,
            )
            .await;
            #[allow(clippy::cast_precision_loss)]
            self.queue_depth.set(queue.len() as f64);
            let span = tracing::info_span!("batch", tree = %self.tree, entries = batch.len());
            self.process(batch).instrument(span).await;
        }
        tracing::debug!(tree = %self.tree, "sequencer stopped");
    }

    async fn process(&mut self, batch: Vec<AppendRequest>) {
        let hashes: Vec<Hash> = batch.iter().map(|r| r.hash).collect();
        let started = Instant::now();
        match self.commit_batch(&batch).await {
            Ok((head, slots, tiles, mut sealed)) => {
                // A batch of duplicates only signs no checkpoint.
                let signed_at = sealed.values().map(|s| s.integrated_at).max();
                crate::metrics::batch_committed(
                    &self.config.name,
                    self.tree,
                    batch.len(),
                    started.elapsed(),
                    signed_at,
                );
                crate::metrics::tree_size(&self.config.name, self.tree, head.size);
                let head = Arc::new(head);
                for (request, slot) in batch.into_iter().zip(slots) {
                    let (index, duplicate) = match slot {
                        Slot::New(i) => (i, false),
                        Slot::Duplicate(i) => (i, true),
                    };
                    let sealed = if duplicate {
                        None
                    } else {
                        sealed.remove(&index)
                    };
                    // A caller that gave up waiting is not an error of the batch.
                    let _ = request.reply.send(Ok(Sequenced {
                        index,
                        duplicate,
                        head: Arc::clone(&head),
                        tiles: Arc::clone(&tiles),
                        sealed,
                    }));
                }
            }
            Err(e) => {
                self.edge = None;
                crate::metrics::batch_failed(&self.config.name);
                tracing::warn!(error = %error_chain(&e), entries = hashes.len(), "batch failed");
                for request in batch {
                    let _ = request.reply.send(Err(fan_out(self.tree, &e)));
                }
            }
        }
    }

    async fn commit_batch(
        &mut self,
        batch: &[AppendRequest],
    ) -> Result<
        (
            PublishedHead,
            Vec<Slot>,
            Arc<TileSet>,
            HashMap<LeafIndex, Sealed>,
        ),
        EngineError,
    > {
        let started = Instant::now();
        let mut tx = self.store.begin_batch(self.tree).await?;
        let locked = Instant::now();
        let head = tx.head().clone();
        let mut edge = match self.edge.take() {
            Some(edge) if edge.size() == head.size && edge.root() == head.root => edge,
            _ => load_right_edge(&mut tx, self.tree, &head).await?,
        };

        let integrated_at = unix_seconds();
        let (slots, mut leaves, keys) = sequence(&mut tx, batch, head.size, integrated_at).await?;
        if let Some(sealer) = &self.sealer
            && !leaves.is_empty()
        {
            let (sealer, tree) = (Arc::clone(sealer), self.tree);
            // Signing is CPU work: keep it off the runtime's workers.
            leaves = tokio::task::spawn_blocking(move || {
                seal_all(&sealer, tree, &mut leaves).map(|()| leaves)
            })
            .await
            .map_err(|e| EngineError::BatchFailed(format!("sealing task: {e}")))?
            .map_err(|e| EngineError::BatchFailed(e.to_string()))?;
        }
        let sequenced = Instant::now();

        let previous = edge.tiles().to_vec();
        let new_hashes: Vec<Hash> = leaves.iter().map(|l| l.hash).collect();
        let integrated = integrate(&mut edge, &new_hashes);
        let integrated_at = Instant::now();

        // A batch of nothing but duplicates changes nothing: it is answered
        // with the committed head and writes no second checkpoint for it.
        let checkpoint = if leaves.is_empty() {
            head.checkpoint.clone()
        } else {
            self.publisher
                .publish(self.tree, integrated.size, integrated.root)
                .map_err(EngineError::Publish)?
        };

        let signed_at = Instant::now();

        // Proof material: the previous right edge and every changed tile hold
        // all nodes the new leaves' proofs need; older duplicates need the
        // tiles on their own paths, read in this transaction.
        let mut tiles = TileSet::default();
        for tile in previous
            .into_iter()
            .chain(integrated.changed.iter().cloned())
        {
            tiles.insert(tile);
        }
        let old_duplicates: Vec<LeafIndex> = slots
            .iter()
            .filter_map(|s| match s {
                Slot::Duplicate(i) if *i < head.size.next_index() => Some(*i),
                _ => None,
            })
            .collect();
        if !old_duplicates.is_empty() {
            let mut nodes = Vec::new();
            for index in &old_duplicates {
                nodes.extend(
                    inclusion::required_nodes(*index, integrated.size)
                        .map_err(|e| EngineError::Corrupt(e.to_string()))?,
                );
            }
            let wanted: Vec<_> = tiles_for(&nodes);
            for tile in tiles_from_stored(tx.tiles(&wanted).await?)? {
                tiles.insert(tile);
            }
        }

        let new_head = StoredHead {
            size: integrated.size,
            root: integrated.root,
            checkpoint,
        };
        let sealed: HashMap<LeafIndex, Sealed> = leaves
            .iter()
            .map(|l| {
                (
                    l.index,
                    Sealed {
                        integrated_at: l.integrated_at,
                        seal: l.seal.clone(),
                    },
                )
            })
            .collect();
        let write = BatchWrite {
            leaves,
            tiles: integrated
                .changed
                .iter()
                .map(crate::integrator::to_stored)
                .collect(),
            keys,
            head: new_head.clone(),
        };
        let new_leaves = write.leaves.len();
        let prepared = Instant::now();
        if new_leaves == 0 {
            drop(tx);
        } else {
            tx.commit(write).await?;
        }
        let committed = Instant::now();
        tracing::debug!(
            size = %integrated.size,
            new_leaves,
            lock_us = (locked - started).as_micros() as u64,
            sequence_us = (sequenced - locked).as_micros() as u64,
            integrate_us = (integrated_at - sequenced).as_micros() as u64,
            publish_us = (signed_at - integrated_at).as_micros() as u64,
            prepare_us = (prepared - signed_at).as_micros() as u64,
            commit_us = (committed - prepared).as_micros() as u64,
            "batch committed"
        );
        self.edge = Some(edge);
        let published = PublishedHead {
            tree: self.tree,
            size: new_head.size,
            root: new_head.root,
            checkpoint: new_head.checkpoint,
        };
        Ok((published, slots, Arc::new(tiles), sealed))
    }
}

/// Sequence: deduplicate the batch against itself and the stored tree, and
/// give each new leaf the next index. A duplicate gets the index it already
/// has.
async fn sequence<B: SequencerBatch>(
    tx: &mut B,
    batch: &[AppendRequest],
    size: TreeSize,
    integrated_at: i64,
) -> Result<(Vec<Slot>, Vec<LeafRow>, Vec<SearchKey>), EngineError> {
    let mut unique: Vec<Hash> = Vec::with_capacity(batch.len());
    let mut seen: HashSet<Hash> = HashSet::with_capacity(batch.len());
    for request in batch {
        if seen.insert(request.hash) {
            unique.push(request.hash);
        }
    }
    let stored: HashMap<Hash, LeafIndex> = tx.find_leaves(&unique).await?.into_iter().collect();

    let mut next = size.get();
    let mut assigned: HashMap<Hash, LeafIndex> = HashMap::with_capacity(batch.len());
    let mut slots = Vec::with_capacity(batch.len());
    let mut leaves = Vec::with_capacity(batch.len());
    let mut keys = Vec::new();
    for request in batch {
        if let Some(index) = stored.get(&request.hash) {
            slots.push(Slot::Duplicate(*index));
        } else if let Some(index) = assigned.get(&request.hash) {
            slots.push(Slot::Duplicate(*index));
        } else {
            let index = LeafIndex::new(next);
            next = next
                .checked_add(1)
                .ok_or_else(|| EngineError::Corrupt("tree size overflow".into()))?;
            assigned.insert(request.hash, index);
            slots.push(Slot::New(index));
            leaves.push(LeafRow {
                index,
                hash: request.hash,
                data: request.data.clone(),
                integrated_at,
                seal: request.attachment.clone(),
            });
            keys.extend(request.keys.iter().map(|k| SearchKey {
                key: k.clone(),
                index,
            }));
        }
    }
    Ok((slots, leaves, keys))
}

/// Now, in Unix seconds (what Rekor's `integratedTime` carries).
pub(crate) fn unix_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The error each request of a failed batch hears: the typed cause where it
/// is the caller's to act on, otherwise a transient batch failure.
fn fan_out(tree: TreeId, e: &EngineError) -> EngineError {
    match e {
        EngineError::Store(StoreError::TreeFrozen(_)) | EngineError::TreeFrozen(_) => {
            EngineError::TreeFrozen(tree)
        }
        EngineError::Store(StoreError::TreeNotFound(_)) | EngineError::UnknownTree(_) => {
            EngineError::UnknownTree(tree)
        }
        other => EngineError::BatchFailed(error_chain(other)),
    }
}
