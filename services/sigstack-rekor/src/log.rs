//! One Rekor v1 log: its trees (shards) in the store, its key, and the
//! operations of the v1 API in domain terms. Handlers in [`crate::api`] only
//! translate HTTP.

use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sigstack_core::checkpoint::rekor_v1_origin;
use sigstack_core::entry::canonicalize_proposed;
use sigstack_core::entry::id::{entry_id, parse_entry_or_uuid};
use sigstack_core::entry::pki::PublicKey;
use sigstack_core::hash::Hash;
use sigstack_core::ids::{LeafIndex, LogId, TreeId, TreeSize};
use sigstack_core::note::EcdsaP256NoteSigner;
use sigstack_engine::{Appended, Engine, EngineConfig, EngineError, EngineStore, Publisher};
use sigstack_store::{LeafRow, StoredHead, TreeState};

use crate::error::RekorError;
use crate::genesis::genesis_entry;
use crate::model::{
    ConsistencyProof, InclusionProof, LogEntry, LogEntryValue, LogInfo, ShardHead, Verification,
};
use crate::set::SetSealer;

/// How one log is set up.
#[derive(Debug, Clone)]
pub struct RekorConfig {
    /// The store's name for this log's list of trees.
    pub log_name: String,
    /// Host of the log's published URL, without port: the checkpoint's key
    /// name and origin host (`spec/log.md` §4.1, §4.3).
    pub hostname: String,
    /// Largest request body, in bytes (413 above it).
    pub body_limit: usize,
    /// Longest any request may take before it is answered 504.
    pub request_timeout: std::time::Duration,
    /// The API operations served; the others answer 501 (Rekor's
    /// `--enabled_api_endpoints`).
    pub enabled: Vec<Operation>,
    pub engine: EngineConfig,
}

/// The v1 API's operations, by Rekor's operationIds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    SearchIndex,
    GetLogInfo,
    GetPublicKey,
    GetLogProof,
    CreateLogEntry,
    GetLogEntryByIndex,
    GetLogEntryByUuid,
    SearchLogQuery,
}

impl Operation {
    pub const ALL: [Operation; 8] = [
        Operation::SearchIndex,
        Operation::GetLogInfo,
        Operation::GetPublicKey,
        Operation::GetLogProof,
        Operation::CreateLogEntry,
        Operation::GetLogEntryByIndex,
        Operation::GetLogEntryByUuid,
        Operation::SearchLogQuery,
    ];

    pub fn operation_id(self) -> &'static str {
        match self {
            Operation::SearchIndex => "searchIndex",
            Operation::GetLogInfo => "getLogInfo",
            Operation::GetPublicKey => "getPublicKey",
            Operation::GetLogProof => "getLogProof",
            Operation::CreateLogEntry => "createLogEntry",
            Operation::GetLogEntryByIndex => "getLogEntryByIndex",
            Operation::GetLogEntryByUuid => "getLogEntryByUUID",
            Operation::SearchLogQuery => "searchLogQuery",
        }
    }

    pub fn from_operation_id(id: &str) -> Option<Operation> {
        Operation::ALL
            .into_iter()
            .find(|op| op.operation_id() == id)
    }
}

impl RekorConfig {
    pub fn new(hostname: impl Into<String>) -> Self {
        Self {
            log_name: "rekor".into(),
            hostname: hostname.into(),
            body_limit: 32 * 1024 * 1024,
            request_timeout: std::time::Duration::from_secs(30),
            enabled: Operation::ALL.to_vec(),
            engine: EngineConfig {
                name: crate::metrics::LOG_LABEL.to_owned(),
                ..EngineConfig::default()
            },
        }
    }
}

/// A tree of the log and where its entries start in the virtual index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub tree: TreeId,
    pub offset: u64,
    pub frozen: bool,
}

/// The log: engine, key and shards.
#[derive(Debug)]
pub struct RekorLog<S> {
    engine: Engine<S>,
    log_id: LogId,
    public_key_pem: String,
    config: RekorConfig,
    signer: Arc<EcdsaP256NoteSigner>,
    sealer: Arc<SetSealer>,
    /// In virtual-index order; the last is the active tree. Reloaded from
    /// the store when the log rotates.
    shards: RwLock<Vec<Shard>>,
}

impl<S: EngineStore> RekorLog<S> {
    /// Opens the log in `store`, creating its first tree (with the genesis
    /// entry at index 0) when it has none.
    ///
    /// # Errors
    /// An invalid hostname, a store failure, or a log whose newest tree is frozen.
    pub async fn open(
        store: S,
        config: RekorConfig,
        signer: Arc<EcdsaP256NoteSigner>,
    ) -> Result<Self, RekorError> {
        let host = config.hostname.clone();
        rekor_v1_origin(
            &host,
            TreeId::new(1).map_err(|e| RekorError::Internal(e.to_string()))?,
        )
        .map_err(|e| RekorError::BadRequest(format!("invalid log hostname: {e}")))?;
        let publisher = Publisher::new(
            signer.clone(),
            // The hostname was checked above, so the origin is always valid.
            Arc::new(move |tree: TreeId| format!("{host} - {tree}")),
        );
        let log_id = signer.log_id();
        let public_key_pem = public_key_pem(signer.public_key_spki_der())?;

        let mut shards = load_shards(&store, &config.log_name).await?;
        let new_tree = if shards.is_empty() {
            let tree = random_tree_id()?;
            shards.push(Shard {
                tree,
                offset: 0,
                frozen: false,
            });
            Some(tree)
        } else {
            None
        };
        if shards.last().is_none_or(|active| active.frozen) {
            return Err(RekorError::Internal(
                "the log's newest tree is frozen: rotate to a new one".into(),
            ));
        }
        let sealer = Arc::new(SetSealer::new(
            signer.clone(),
            shards.iter().map(|s| (s.tree, s.offset)).collect(),
        ));
        let engine =
            Engine::new(store, config.engine.clone(), publisher)?.with_sealer(sealer.clone());
        if let Some(tree) = new_tree {
            let genesis = genesis_entry(&signer)?;
            engine
                .create_tree_with_keys(&config.log_name, tree, genesis.body, genesis.index_keys)
                .await?;
        }
        // The active tree's sequencer starts now (not at the first append),
        // so readiness and the tree-size gauge describe it from the start.
        if let Some(active) = shards.last() {
            engine.writer(active.tree).await?;
        }
        crate::metrics::register();
        Ok(Self {
            engine,
            log_id,
            public_key_pem,
            config,
            signer,
            sealer,
            shards: RwLock::new(shards),
        })
    }

    /// Freezes the active tree and starts a new one with its genesis entry,
    /// in one transaction, without stopping the service: entries of frozen
    /// trees stay readable by entry ID and virtual index, and their proofs
    /// are against each frozen tree's final checkpoint. The new tree is
    /// signed with the same key, so the log keeps one log ID.
    ///
    /// # Errors
    /// A store failure; nothing changes then.
    pub async fn rotate(&self) -> Result<Shard, RekorError> {
        let tree = random_tree_id()?;
        let genesis = genesis_entry(&self.signer)?;
        self.engine
            .rotate_tree(
                &self.config.log_name,
                tree,
                genesis.body,
                genesis.index_keys,
            )
            .await?;
        self.reload().await?;
        self.active()
    }

    /// Re-reads the log's trees (another process may have rotated it).
    async fn reload(&self) -> Result<(), RekorError> {
        let shards = load_shards(self.engine.store(), &self.config.log_name).await?;
        for shard in &shards {
            self.sealer.set_offset(shard.tree, shard.offset);
        }
        if let Ok(mut current) = self.shards.write() {
            *current = shards;
        }
        Ok(())
    }

    fn shards(&self) -> Vec<Shard> {
        self.shards.read().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn body_limit(&self) -> usize {
        self.config.body_limit
    }

    pub fn request_timeout(&self) -> std::time::Duration {
        self.config.request_timeout
    }

    /// 501 for an operation this instance does not serve.
    ///
    /// # Errors
    /// [`RekorError::NotEnabled`].
    pub fn check_enabled(&self, operation: Operation) -> Result<(), RekorError> {
        if self.config.enabled.contains(&operation) {
            Ok(())
        } else {
            Err(RekorError::NotEnabled(operation.operation_id()))
        }
    }

    pub fn log_id(&self) -> LogId {
        self.log_id
    }

    pub fn engine(&self) -> &Engine<S> {
        &self.engine
    }

    fn active(&self) -> Result<Shard, RekorError> {
        self.shards()
            .last()
            .copied()
            .filter(|s| !s.frozen)
            .ok_or_else(|| RekorError::Internal("the log has no active tree".into()))
    }

    fn shard(&self, tree: TreeId) -> Option<Shard> {
        self.shards().into_iter().find(|s| s.tree == tree)
    }

    /// `POST /api/v1/log/entries`: canonicalise, verify, append, and answer
    /// with the committed entry. `path` is the request path, for `Location`.
    ///
    /// # Errors
    /// The entry's own problems (400/422), [`RekorError::Duplicate`] when it
    /// is already in the active tree, or a log failure.
    pub async fn create(&self, proposed: &[u8], path: &str) -> Result<LogEntry, RekorError> {
        let canonical = match canonicalize_proposed(proposed) {
            Ok(canonical) => canonical,
            Err(e) => {
                let e = RekorError::from(e);
                crate::metrics::entry_submitted(crate::metrics::proposed_kind(proposed), Err(&e));
                return Err(e);
            }
        };
        let kind = canonical.kind.name();
        let result = self.append_canonical(canonical, path).await;
        crate::metrics::entry_submitted(kind, result.as_ref().map(|_| ()));
        result
    }

    async fn append_canonical(
        &self,
        canonical: sigstack_core::entry::CanonicalEntry,
        path: &str,
    ) -> Result<LogEntry, RekorError> {
        let uuid = canonical.leaf_hash();
        let mut active = self.active()?;
        let appended = match self
            .engine
            .append_with_keys(
                active.tree,
                canonical.body.clone(),
                canonical.index_keys.clone(),
            )
            .await
        {
            // Rotated by another process: move to the new active tree once.
            Err(EngineError::TreeFrozen(_)) => {
                self.reload().await?;
                active = self.active()?;
                self.engine
                    .append_with_keys(active.tree, canonical.body.clone(), canonical.index_keys)
                    .await?
            }
            other => other?,
        };
        let id = entry_id(active.tree, &uuid);
        if appended.duplicate {
            return Err(RekorError::Duplicate {
                location: format!("{path}/{id}"),
                entry_id: id,
            });
        }
        self.entry_from_append(active, id, &canonical.body, &appended)
    }

    fn entry_from_append(
        &self,
        shard: Shard,
        id: String,
        body: &[u8],
        appended: &Appended,
    ) -> Result<LogEntry, RekorError> {
        let sealed = appended
            .sealed
            .as_ref()
            .ok_or_else(|| RekorError::Internal("new entry without a seal".into()))?;
        Ok(LogEntry {
            entry_id: id,
            value: LogEntryValue {
                body: STANDARD.encode(body),
                integrated_time: sealed.integrated_at,
                log_id: self.log_id.to_hex(),
                log_index: shard.offset + appended.index.get(),
                verification: Verification {
                    inclusion_proof: InclusionProof {
                        checkpoint: appended.head.checkpoint.clone(),
                        hashes: appended.proof.iter().map(Hash::to_hex).collect(),
                        log_index: appended.index.get(),
                        root_hash: appended.head.root.to_hex(),
                        tree_size: appended.head.size.get(),
                    },
                    signed_entry_timestamp: STANDARD.encode(&sealed.seal),
                },
            },
        })
    }

    /// The stored entry at `index` of `shard`, with its stored SET and an
    /// inclusion proof against the latest stored checkpoint.
    async fn stored_entry(&self, shard: Shard, index: LeafIndex) -> Result<LogEntry, RekorError> {
        let reader = self.engine.reader();
        let head: StoredHead = reader.head(shard.tree).await?;
        let row: LeafRow = reader.leaf(shard.tree, index).await?;
        let proof = reader.inclusion_proof(shard.tree, index, head.size).await?;
        Ok(LogEntry {
            entry_id: entry_id(shard.tree, &row.hash),
            value: LogEntryValue {
                body: STANDARD.encode(&row.data),
                integrated_time: row.integrated_at,
                log_id: self.log_id.to_hex(),
                log_index: shard.offset + index.get(),
                verification: Verification {
                    inclusion_proof: InclusionProof {
                        checkpoint: head.checkpoint,
                        hashes: proof.iter().map(Hash::to_hex).collect(),
                        log_index: index.get(),
                        root_hash: head.root.to_hex(),
                        tree_size: head.size.get(),
                    },
                    signed_entry_timestamp: STANDARD.encode(&row.seal),
                },
            },
        })
    }

    /// `GET /api/v1/log/entries?logIndex=`: by virtual index across shards.
    ///
    /// # Errors
    /// [`RekorError::NotFound`] beyond the end of the log.
    pub async fn entry_at(&self, virtual_index: u64) -> Result<LogEntry, RekorError> {
        let not_found = || RekorError::NotFound(format!("no entry at log index {virtual_index}"));
        let shard = self
            .shards()
            .into_iter()
            .rev()
            .find(|s| s.offset <= virtual_index)
            .ok_or_else(not_found)?;
        let index = LeafIndex::new(virtual_index - shard.offset);
        let size = self.engine.size(shard.tree).await?;
        if !index.is_within(size) {
            return Err(not_found());
        }
        self.stored_entry(shard, index).await
    }

    /// `GET /api/v1/log/entries/{entryUUID}`: a 64-hex UUID is looked up in
    /// every shard (active first), an 80-hex entry ID only in its tree.
    ///
    /// # Errors
    /// 422 for an ID that is not 64 or 80 hex; 404 when absent.
    pub async fn entry_by_id(&self, id: &str) -> Result<LogEntry, RekorError> {
        let (tree, uuid) = parse_entry_or_uuid(id).map_err(|_| {
            RekorError::unprocessable(
                crate::error::validation::PATTERN,
                "entryUUID in path should match '^([0-9a-fA-F]{64}|[0-9a-fA-F]{80})$'",
            )
        })?;
        let not_found = || RekorError::NotFound(format!("no entry with ID {id}"));
        let candidates: Vec<Shard> = match tree {
            Some(tree) => self.shard(tree).into_iter().collect(),
            None => self.shards().into_iter().rev().collect(),
        };
        for shard in candidates {
            if let Some(index) = self.engine.reader().leaf_index(shard.tree, &uuid).await? {
                return self.stored_entry(shard, index).await;
            }
        }
        Err(not_found())
    }

    /// Every entry of this log whose leaf hash is `uuid`, one per shard
    /// holding it.
    ///
    /// # Errors
    /// A log failure.
    pub async fn entries_with_hash(&self, uuid: &Hash) -> Result<Vec<LogEntry>, RekorError> {
        let mut found = Vec::new();
        let locations = self
            .engine
            .store()
            .find_by_hash(uuid)
            .await
            .map_err(EngineError::from)?;
        for (tree, index) in locations {
            if let Some(shard) = self.shard(tree) {
                found.push(self.stored_entry(shard, index).await?);
            }
        }
        Ok(found)
    }

    /// `GET /api/v1/log`.
    ///
    /// # Errors
    /// A log failure.
    pub async fn log_info(&self) -> Result<LogInfo, RekorError> {
        let active = self.shard_head(self.active()?).await?;
        let mut inactive = Vec::new();
        for shard in self.shards().into_iter().filter(|s| s.frozen) {
            inactive.push(self.shard_head(shard).await?);
        }
        Ok(LogInfo {
            inactive_shards: (!inactive.is_empty()).then_some(inactive),
            active,
        })
    }

    async fn shard_head(&self, shard: Shard) -> Result<ShardHead, RekorError> {
        let head = self.engine.head(shard.tree).await?;
        Ok(ShardHead {
            root_hash: head.root.to_hex(),
            signed_tree_head: head.checkpoint,
            tree_id: shard.tree.to_string(),
            tree_size: head.size.get(),
        })
    }

    /// `GET /api/v1/log/proof`.
    ///
    /// # Errors
    /// 400 for `first > last`, a size beyond the tree, or an unknown tree.
    pub async fn consistency(
        &self,
        first: u64,
        last: u64,
        tree: Option<i64>,
    ) -> Result<ConsistencyProof, RekorError> {
        let shard = self.shard_for(tree)?;
        if first > last {
            return Err(RekorError::BadRequest(format!(
                "firstSize({first}) must be less than lastSize({last})"
            )));
        }
        let reader = self.engine.reader();
        let proof = reader
            .consistency_proof(shard.tree, TreeSize::new(first), TreeSize::new(last))
            .await?;
        let root = reader.root_at(shard.tree, TreeSize::new(last)).await?;
        Ok(ConsistencyProof {
            hashes: proof.iter().map(Hash::to_hex).collect(),
            root_hash: root.to_hex(),
        })
    }

    /// `GET /api/v1/log/publicKey`: one key signs every shard of this log.
    ///
    /// # Errors
    /// 400 for an unknown tree.
    pub fn public_key_pem(&self, tree: Option<i64>) -> Result<&str, RekorError> {
        self.shard_for(tree)?;
        Ok(&self.public_key_pem)
    }

    fn shard_for(&self, tree: Option<i64>) -> Result<Shard, RekorError> {
        match tree {
            None => self.active(),
            Some(id) => TreeId::new(id)
                .ok()
                .and_then(|t| self.shard(t))
                .ok_or_else(|| {
                    RekorError::BadRequest(format!("no log range found for tree ID {id}"))
                }),
        }
    }
}

/// The PEM `PUBLIC KEY` of a DER SubjectPublicKeyInfo, as the API serves it.
pub(crate) fn public_key_pem(spki_der: &[u8]) -> Result<String, RekorError> {
    PublicKey::from_spki_der(spki_der)
        .map(|key| key.canonical_pem())
        .map_err(|e| RekorError::Internal(format!("log public key: {e}")))
}

/// The log's trees in virtual-index order, each with its offset.
async fn load_shards<S: EngineStore>(store: &S, log_name: &str) -> Result<Vec<Shard>, RekorError> {
    let trees = store.trees(log_name).await.map_err(EngineError::from)?;
    let mut shards = Vec::with_capacity(trees.len());
    let mut offset = 0u64;
    for record in &trees {
        shards.push(Shard {
            tree: record.tree_id,
            offset,
            frozen: record.state == TreeState::Frozen,
        });
        let head = store
            .head(record.tree_id)
            .await
            .map_err(EngineError::from)?;
        offset = offset.saturating_add(head.map_or(0, |h| h.size.get()));
    }
    Ok(shards)
}

/// A random positive int64, as Trillian tree IDs are.
fn random_tree_id() -> Result<TreeId, RekorError> {
    TreeId::new(rand::random_range(1..i64::MAX)).map_err(|e| RekorError::Internal(e.to_string()))
}
