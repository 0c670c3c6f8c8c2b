//! One CT log: its tree in the store, its key, its roots, and the RFC 6962
//! v1 operations in domain terms. Handlers in [`crate::api`] only translate
//! HTTP.
//!
//! Known gaps of this version:
//! - `extra_data` of `get-entries` is empty: the engine stores one opaque
//!   leaf (whose hash must be over the `MerkleTreeLeaf` alone) and a seal
//!   made by a sealer that never sees the request, so there is no clean
//!   place for the chain without a store column for per-leaf extra data.
//! - Index 0 of every tree holds the engine's genesis entry, here an
//!   `x509_entry` of the first configured root (a valid `MerkleTreeLeaf`,
//!   so `get-entries` clients can parse it).
//! - One tree per log: no rotation, and an STH is signed at request time
//!   (its timestamp is when it was asked for, over the latest committed head).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sigstack_core::hash::Hash;
use sigstack_core::ids::{LeafIndex, TreeId, TreeSize};
use sigstack_core::note::{EcdsaP256NoteSigner, NoteSigner};
use sigstack_engine::{Engine, EngineConfig, EngineError, EngineStore, Publisher};
use sigstack_store::TreeState;

use crate::chain::{self, Roots};
use crate::error::CtError;
use crate::leaf::{SignedEntry, extra_data, merkle_tree_leaf};
use crate::model::{AddChainResponse, Consistency, Entries, Entry, ProofByHash, SignedTreeHead};
use crate::sct::{
    SignedCertificateTimestamp, certificate_timestamp_input, digitally_signed_ecdsa_sha256,
    tree_head_signature_input,
};
use sigstack_core::entry::pki::LeafSignature;

/// How one CT log is set up.
#[derive(Debug, Clone)]
pub struct CtConfig {
    /// The store's name for this log's trees.
    pub log_name: String,
    /// Origin line of the engine's checkpoints (C2SP; e.g. `ct.example/2026`).
    pub origin: String,
    /// DER of the roots chains must lead to (at least one).
    pub roots: Vec<Vec<u8>>,
    /// Largest request body, in bytes (413 above it).
    pub body_limit: usize,
    /// Most entries one `get-entries` answers (RFC 6962 §4.6 lets a log
    /// return fewer than asked).
    pub max_entries: u64,
    pub engine: EngineConfig,
}

impl CtConfig {
    pub fn new(origin: impl Into<String>, roots: Vec<Vec<u8>>) -> Self {
        Self {
            log_name: "ctlog".into(),
            origin: origin.into(),
            roots,
            body_limit: 4 * 1024 * 1024,
            max_entries: 256,
            engine: EngineConfig {
                name: crate::metrics::LOG_LABEL.to_owned(),
                ..EngineConfig::default()
            },
        }
    }
}

/// The log: engine, key, roots and its one tree.
#[derive(Debug)]
pub struct CtLog<S> {
    engine: Engine<S>,
    signer: Arc<EcdsaP256NoteSigner>,
    roots: Roots,
    tree: TreeId,
    config: CtConfig,
}

impl<S: EngineStore> CtLog<S> {
    /// Opens the log in `store`, creating its tree (genesis at index 0)
    /// when it has none. `signer` is the CT key (ECDSA P-256, `spec/ca.md`
    /// §11.3); its note name signs the engine's checkpoints.
    ///
    /// # Errors
    /// No or unparsable roots, a store failure, or a frozen tree.
    pub async fn open(
        store: S,
        config: CtConfig,
        signer: Arc<EcdsaP256NoteSigner>,
    ) -> Result<Self, CtError> {
        let roots = Roots::from_der(&config.roots)
            .map_err(|e| CtError::Internal(format!("configured root: {e}")))?;
        let first_root = config
            .roots
            .first()
            .ok_or_else(|| CtError::Internal("a CT log needs at least one root".into()))?
            .clone();
        let origin = config.origin.clone();
        let publisher = Publisher::new(signer.clone(), Arc::new(move |_| origin.clone()));
        let engine = Engine::new(store, config.engine.clone(), publisher)?;
        let trees = engine
            .store()
            .trees(&config.log_name)
            .await
            .map_err(EngineError::from)?;
        let tree = match trees.last() {
            Some(record) if record.state == TreeState::Frozen => {
                return Err(CtError::Internal("the log's tree is frozen".into()));
            }
            Some(record) => record.tree_id,
            None => {
                let tree = TreeId::new(rand::random_range(1..i64::MAX))
                    .map_err(|e| CtError::Internal(e.to_string()))?;
                let genesis = merkle_tree_leaf(
                    now_ms(),
                    &SignedEntry::X509 {
                        certificate: first_root,
                    },
                    &[],
                )
                .map_err(|e| CtError::Internal(e.to_string()))?;
                engine.create_tree(&config.log_name, tree, genesis).await?;
                tree
            }
        };
        // Its sequencer starts now, so readiness and the tree-size gauge
        // describe it from the start.
        engine.writer(tree).await?;
        Ok(Self {
            engine,
            signer,
            roots,
            tree,
            config,
        })
    }

    pub fn engine(&self) -> &Engine<S> {
        &self.engine
    }

    pub fn tree(&self) -> TreeId {
        self.tree
    }

    pub fn body_limit(&self) -> usize {
        self.config.body_limit
    }

    /// SHA-256 of the CT key's DER SubjectPublicKeyInfo (`spec/ca.md` §10.1).
    pub fn log_id(&self) -> [u8; 32] {
        self.signer.log_id().0
    }

    /// DER SubjectPublicKeyInfo of the CT key.
    pub fn public_key_spki_der(&self) -> &[u8] {
        self.signer.public_key_spki_der()
    }

    /// `add-chain` (`precert` false) and `add-pre-chain` (true) over HTTP:
    /// the base64 chain of the request body in, the SCT as JSON out.
    ///
    /// # Errors
    /// As [`CtLog::add_der`], and 400 for a certificate that is not base64.
    pub async fn add(
        &self,
        chain_b64: &[String],
        precert: bool,
    ) -> Result<AddChainResponse, CtError> {
        let chain: Vec<Vec<u8>> = chain_b64
            .iter()
            .enumerate()
            .map(|(i, text)| {
                STANDARD
                    .decode(text)
                    .map_err(|e| CtError::BadRequest(format!("chain[{i}] is not base64: {e}")))
            })
            .collect::<Result<_, _>>()
            .inspect_err(|e| crate::metrics::chain_submitted(precert, Err(e)))?;
        let sct = self.add_der(&chain, precert).await?;
        Ok(AddChainResponse {
            sct_version: 0,
            id: STANDARD.encode(sct.log_id),
            timestamp: sct.timestamp,
            extensions: STANDARD.encode(&sct.extensions),
            signature: STANDARD.encode(&sct.signature),
        })
    }

    /// Validates a DER chain (leaf first), appends its `MerkleTreeLeaf`, and
    /// only once that is committed signs and returns the SCT. The CA calls
    /// this in process when both run in one process.
    ///
    /// # Errors
    /// 400 for a chain that is malformed or does not verify; a log failure.
    pub async fn add_der(
        &self,
        chain: &[Vec<u8>],
        precert: bool,
    ) -> Result<SignedCertificateTimestamp, CtError> {
        self.log_chain(chain, precert, LeafSignature::Check).await
    }

    /// `add-pre-chain` for the CA in this process: as [`CtLog::add_der`],
    /// except that the precertificate's signature, made a moment ago by the
    /// same process with the key of the certificate it names as its issuer,
    /// is not verified again. The chain must still lead to a configured root
    /// (those signatures checked, once), and the precertificate must still be
    /// one, valid, and issued by the next certificate.
    ///
    /// # Errors
    /// As [`CtLog::add_der`].
    pub async fn add_own_precertificate(
        &self,
        chain: &[Vec<u8>],
    ) -> Result<SignedCertificateTimestamp, CtError> {
        self.log_chain(chain, true, LeafSignature::MadeHere).await
    }

    async fn log_chain(
        &self,
        chain: &[Vec<u8>],
        precert: bool,
        leaf_signature: LeafSignature,
    ) -> Result<SignedCertificateTimestamp, CtError> {
        let result = self.append_chain(chain, precert, leaf_signature).await;
        crate::metrics::chain_submitted(precert, result.as_ref().map(|_| ()));
        result
    }

    async fn append_chain(
        &self,
        chain: &[Vec<u8>],
        precert: bool,
        leaf_signature: LeafSignature,
    ) -> Result<SignedCertificateTimestamp, CtError> {
        let chain::Validated {
            entry,
            chain: verified,
        } = chain::validate(&self.roots, chain, precert, leaf_signature)?;
        let extra = extra_data(&entry, &verified)?;
        let timestamp = now_ms();
        let extensions = Vec::new();
        let leaf = merkle_tree_leaf(timestamp, &entry, &extensions)?;
        let appended = self.engine.append_attached(self.tree, leaf, extra).await?;
        tracing::info!(leaf_index = appended.index.get(), precert, "chain logged");
        let input = certificate_timestamp_input(timestamp, &entry, &extensions)?;
        let signature = self
            .signer
            .sign(&input)
            .map_err(|e| CtError::Internal(format!("signing the SCT: {e}")))?;
        Ok(SignedCertificateTimestamp {
            log_id: self.log_id(),
            timestamp,
            extensions,
            signature: digitally_signed_ecdsa_sha256(&signature)?,
        })
    }

    /// `get-sth`: the latest committed head, signed now.
    ///
    /// # Errors
    /// A log failure.
    pub async fn signed_tree_head(&self) -> Result<SignedTreeHead, CtError> {
        let head = self.engine.head(self.tree).await?;
        let timestamp = now_ms();
        let input = tree_head_signature_input(timestamp, head.size.get(), head.root.as_bytes());
        let signature = self
            .signer
            .sign(&input)
            .map_err(|e| CtError::Internal(format!("signing the STH: {e}")))?;
        Ok(SignedTreeHead {
            tree_size: head.size.get(),
            timestamp,
            sha256_root_hash: STANDARD.encode(head.root.as_bytes()),
            tree_head_signature: STANDARD.encode(digitally_signed_ecdsa_sha256(&signature)?),
        })
    }

    /// `get-sth-consistency`.
    ///
    /// # Errors
    /// 400 for `first` = 0, `first` > `second` or `second` beyond the tree.
    pub async fn consistency(&self, first: u64, second: u64) -> Result<Consistency, CtError> {
        let proof = self
            .engine
            .reader()
            .consistency_proof(self.tree, TreeSize::new(first), TreeSize::new(second))
            .await?;
        Ok(Consistency {
            consistency: proof
                .iter()
                .map(|h| STANDARD.encode(h.as_bytes()))
                .collect(),
        })
    }

    /// `get-proof-by-hash`.
    ///
    /// # Errors
    /// 400 for a bad hash or a size beyond the tree, 404 for a leaf that is
    /// not in the tree at `tree_size`.
    pub async fn proof_by_hash(
        &self,
        hash_b64: &str,
        tree_size: u64,
    ) -> Result<ProofByHash, CtError> {
        let bytes = STANDARD
            .decode(hash_b64)
            .map_err(|e| CtError::BadRequest(format!("hash is not base64: {e}")))?;
        let hash = Hash::from_slice(&bytes)
            .map_err(|_| CtError::BadRequest("hash must be 32 bytes".into()))?;
        let reader = self.engine.reader();
        let size = TreeSize::new(tree_size);
        let not_found = || {
            CtError::NotFound(format!(
                "no leaf with this hash in the tree of size {tree_size}"
            ))
        };
        let index = reader
            .leaf_index(self.tree, &hash)
            .await?
            .ok_or_else(not_found)?;
        let current = self.engine.size(self.tree).await?;
        if size > current {
            return Err(CtError::BadRequest(format!(
                "tree_size {tree_size} is beyond the current size {current}"
            )));
        }
        if !index.is_within(size) {
            return Err(not_found());
        }
        let proof = reader.inclusion_proof(self.tree, index, size).await?;
        Ok(ProofByHash {
            leaf_index: index.get(),
            audit_path: proof
                .iter()
                .map(|h| STANDARD.encode(h.as_bytes()))
                .collect(),
        })
    }

    /// `get-entries`: leaves `start..=end`, at most `max_entries` of them.
    ///
    /// # Errors
    /// 400 for `start` > `end` or `start` beyond the tree.
    pub async fn entries(&self, start: u64, end: u64) -> Result<Entries, CtError> {
        if start > end {
            return Err(CtError::BadRequest(format!(
                "start {start} is after end {end}"
            )));
        }
        let size = self.engine.size(self.tree).await?.get();
        if start >= size {
            return Err(CtError::BadRequest(format!(
                "start {start} is beyond the tree size {size}"
            )));
        }
        let last = end
            .min(size - 1)
            .min(start.saturating_add(self.config.max_entries.max(1) - 1));
        let count = u32::try_from(last - start + 1).unwrap_or(u32::MAX);
        let rows = self
            .engine
            .reader()
            .leaves(self.tree, LeafIndex::new(start), count)
            .await?;
        Ok(Entries {
            entries: rows
                .into_iter()
                .map(|row| Entry {
                    leaf_input: STANDARD.encode(&row.data),
                    // The chain, stored with the leaf when it was logged.
                    extra_data: STANDARD.encode(&row.seal),
                })
                .collect(),
        })
    }

    /// `get-roots`.
    pub fn roots(&self) -> crate::model::Roots {
        crate::model::Roots {
            certificates: self
                .roots
                .certificates()
                .map(|der| STANDARD.encode(der))
                .collect(),
        }
    }
}

impl From<crate::leaf::EncodingError> for CtError {
    fn from(e: crate::leaf::EncodingError) -> Self {
        CtError::BadRequest(e.to_string())
    }
}

/// Milliseconds since the epoch (RFC 6962 §3.2 timestamps).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
