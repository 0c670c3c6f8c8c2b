//! The engine over both real backends: appends, deduplication, proofs,
//! restarts, and bad input. Written once, instantiated for SQLite and
//! PostgreSQL (which must be reachable: these tests never skip).

use std::sync::Arc;
use std::time::Duration;

use sigstack_core::checkpoint::open_checkpoint;
use sigstack_core::hash::{Hash, leaf_hash, node_hash};
use sigstack_core::ids::{LeafIndex, TreeId, TreeSize};
use sigstack_core::note::{EcdsaP256NoteSigner, NoteVerifier};
use sigstack_core::{consistency, inclusion};
use sigstack_engine::{
    Engine, EngineConfig, EngineError, EngineStore, LeafSealer, Publisher, SealError,
};
use sigstack_store::LogReader;

use sigstack_testkit::{postgres_store as postgres, sqlite_store as sqlite};

const TREE: i64 = 1234;

fn tree() -> TreeId {
    TreeId::new(TREE).expect("positive")
}

fn signer() -> Arc<EcdsaP256NoteSigner> {
    Arc::new(EcdsaP256NoteSigner::generate("log.example.com").expect("generate key"))
}

fn engine<S: EngineStore>(store: &S, signer: &Arc<EcdsaP256NoteSigner>) -> Engine<S> {
    let publisher = Publisher::new(
        signer.clone(),
        Arc::new(|tree: TreeId| format!("log.example.com - {tree}")),
    );
    let config = EngineConfig {
        max_wait: Duration::from_millis(5),
        ..EngineConfig::default()
    };
    Engine::new(store.clone(), config, publisher).expect("engine")
}

/// The RFC 6962 root of `leaves`, computed naively from all of them.
fn naive_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => sigstack_core::hash::EMPTY_ROOT,
        1 => leaves[0],
        n => {
            // The largest power of two strictly below n (RFC 6962 §2.1).
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
        }
    }
}

async fn stored_leaf_hashes<S: LogReader>(store: &S) -> Vec<Hash> {
    let rows = store
        .leaves(tree(), LeafIndex::new(0), 1_000_000)
        .await
        .expect("leaves");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.index.get(), i as u64, "leaves are contiguous");
        assert_eq!(row.hash, leaf_hash(&row.data));
    }
    rows.into_iter().map(|r| r.hash).collect()
}

async fn appends_are_proven_and_signed<S: EngineStore>(store: S) {
    let key = signer();
    let engine = engine(&store, &key);
    let genesis = engine
        .create_tree("rekor", tree(), b"genesis".to_vec())
        .await
        .expect("create");
    assert_eq!(genesis.size, TreeSize::new(1));

    let appended = engine
        .append(tree(), b"first".to_vec())
        .await
        .expect("append");
    assert_eq!(
        appended.index,
        LeafIndex::new(1),
        "index 0 belongs to the log"
    );
    assert!(!appended.duplicate);
    let verifier = key.verifier();
    let checkpoint = open_checkpoint(&appended.head.checkpoint, &verifier as &dyn NoteVerifier)
        .expect("checkpoint verifies");
    assert_eq!(checkpoint.origin, format!("log.example.com - {TREE}"));
    assert_eq!(checkpoint.size, appended.head.size);
    assert_eq!(checkpoint.root, appended.head.root);
    inclusion::verify(
        appended.index,
        appended.head.size,
        &leaf_hash(b"first"),
        &appended.proof,
        &appended.head.root,
    )
    .expect("inclusion proof verifies");
    engine.shutdown().await;
}

async fn concurrent_appends_form_one_tree<S: EngineStore>(store: S) {
    let key = signer();
    let engine = Arc::new(engine(&store, &key));
    engine
        .create_tree("rekor", tree(), b"genesis".to_vec())
        .await
        .expect("create");
    let mut tasks = Vec::new();
    for i in 0..600u32 {
        let engine = Arc::clone(&engine);
        tasks.push(tokio::spawn(async move {
            let data = format!("entry {i}").into_bytes();
            let appended = engine.append(tree(), data.clone()).await.expect("append");
            inclusion::verify(
                appended.index,
                appended.head.size,
                &leaf_hash(&data),
                &appended.proof,
                &appended.head.root,
            )
            .expect("proof verifies against its batch's checkpoint");
            (appended.index, data)
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.push(t.await.expect("task"));
    }
    let mut indexes: Vec<u64> = acked.iter().map(|(i, _)| i.get()).collect();
    indexes.sort_unstable();
    assert_eq!(
        indexes,
        (1..=600).collect::<Vec<_>>(),
        "indices are dense and unique"
    );

    let hashes = stored_leaf_hashes(&store).await;
    for (index, data) in &acked {
        assert_eq!(
            hashes[usize::try_from(index.get()).expect("small")],
            leaf_hash(data)
        );
    }
    let head = engine.head(tree()).await.expect("head");
    assert_eq!(head.size, TreeSize::new(601));
    assert_eq!(
        head.root,
        naive_root(&hashes),
        "head root equals a recomputation from leaves"
    );
    engine.shutdown().await;
}

async fn duplicates_get_their_index_back<S: EngineStore>(store: S) {
    let key = signer();
    let engine = Arc::new(engine(&store, &key));
    engine
        .create_tree("rekor", tree(), b"genesis".to_vec())
        .await
        .expect("create");
    let first = engine
        .append(tree(), b"same".to_vec())
        .await
        .expect("append");
    // Within one batch and across batches.
    let (a, b) = tokio::join!(
        engine.append(tree(), b"same".to_vec()),
        engine.append(tree(), b"other".to_vec())
    );
    let (a, b) = (a.expect("dup"), b.expect("other"));
    assert!(a.duplicate && !first.duplicate && !b.duplicate);
    assert_eq!(a.index, first.index);
    inclusion::verify(
        a.index,
        a.head.size,
        &leaf_hash(b"same"),
        &a.proof,
        &a.head.root,
    )
    .expect("dup proof");
    let (c, d) = tokio::join!(
        engine.append(tree(), b"twice".to_vec()),
        engine.append(tree(), b"twice".to_vec())
    );
    let (c, d) = (c.expect("c"), d.expect("d"));
    assert_eq!(c.index, d.index);
    assert!(
        c.duplicate != d.duplicate,
        "one of the pair is new, the other its duplicate"
    );
    // The genesis entry itself is a duplicate too.
    let g = engine
        .append(tree(), b"genesis".to_vec())
        .await
        .expect("genesis dup");
    assert!(g.duplicate);
    assert_eq!(g.index, LeafIndex::new(0));
    assert_eq!(stored_leaf_hashes(&store).await.len(), 4);
    engine.shutdown().await;
}

async fn attachments_are_stored_with_new_leaves<S: EngineStore>(store: S) {
    let key = signer();
    let engine = engine(&store, &key);
    engine
        .create_tree("ct", tree(), b"genesis".to_vec())
        .await
        .expect("create");
    let first = engine
        .append_attached(tree(), b"leaf".to_vec(), b"chain one".to_vec())
        .await
        .expect("append");
    let again = engine
        .append_attached(tree(), b"leaf".to_vec(), b"chain two".to_vec())
        .await
        .expect("duplicate");
    assert!(again.duplicate);
    assert_eq!(again.index, first.index);
    let rows = engine
        .reader()
        .leaves(tree(), LeafIndex::new(0), 2)
        .await
        .expect("leaves");
    assert_eq!(rows[0].seal, b"", "genesis has none");
    assert_eq!(rows[1].data, b"leaf");
    assert_eq!(rows[1].seal, b"chain one", "a duplicate keeps the first");
    engine.shutdown().await;
}

async fn bad_input_is_refused_and_stores_nothing<S: EngineStore>(store: S) {
    let key = signer();
    let engine = engine(&store, &key);
    engine
        .create_tree("rekor", tree(), b"genesis".to_vec())
        .await
        .expect("create");
    engine
        .append(tree(), b"one".to_vec())
        .await
        .expect("append");
    let before = engine.head(tree()).await.expect("head");

    assert!(matches!(
        engine.append(tree(), Vec::new()).await,
        Err(EngineError::EmptyLeaf)
    ));
    let big = vec![7u8; sigstack_engine::MAX_LEAF_BYTES + 1];
    assert!(matches!(
        engine.append(tree(), big).await,
        Err(EngineError::LeafTooLarge { .. })
    ));
    let unknown = TreeId::new(999).expect("positive");
    assert!(matches!(
        engine.append(unknown, b"x".to_vec()).await,
        Err(EngineError::UnknownTree(_))
    ));
    let reader = engine.reader();
    assert!(matches!(
        reader
            .inclusion_proof(tree(), LeafIndex::new(2), TreeSize::new(2))
            .await,
        Err(EngineError::IndexBeyondTree { .. })
    ));
    assert!(matches!(
        reader
            .inclusion_proof(tree(), LeafIndex::new(0), TreeSize::new(3))
            .await,
        Err(EngineError::SizeBeyondTree { .. })
    ));
    assert!(matches!(
        reader
            .consistency_proof(tree(), TreeSize::new(1), TreeSize::new(5))
            .await,
        Err(EngineError::SizeBeyondTree { .. })
    ));
    assert!(matches!(
        reader
            .consistency_proof(tree(), TreeSize::new(0), TreeSize::new(2))
            .await,
        Err(EngineError::InvalidRange(_))
    ));
    assert!(matches!(
        reader
            .consistency_proof(tree(), TreeSize::new(2), TreeSize::new(1))
            .await,
        Err(EngineError::InvalidRange(_))
    ));
    assert!(matches!(
        reader.leaf(tree(), LeafIndex::new(2)).await,
        Err(EngineError::IndexBeyondTree { .. })
    ));
    assert!(matches!(
        reader.head(unknown).await,
        Err(EngineError::UnknownTree(_))
    ));
    assert!(matches!(
        engine.create_tree("rekor", unknown, Vec::new()).await,
        Err(EngineError::EmptyLeaf)
    ));

    assert_eq!(
        engine.head(tree()).await.expect("head"),
        before,
        "nothing was stored"
    );
    assert!(
        sigstack_store::TreeCatalog::trees(&store, "rekor")
            .await
            .expect("trees")
            .len()
            == 1
    );
    // ...and the engine keeps serving.
    let next = engine
        .append(tree(), b"two".to_vec())
        .await
        .expect("append after bad input");
    assert_eq!(next.index, LeafIndex::new(2));
    engine.shutdown().await;
}

async fn restart_continues_the_tree<S: EngineStore>(store: S) {
    let key = signer();
    let first = engine(&store, &key);
    first
        .create_tree("rekor", tree(), b"genesis".to_vec())
        .await
        .expect("create");
    for i in 0..300u32 {
        first
            .append(tree(), format!("a{i}").into_bytes())
            .await
            .expect("append");
    }
    let old = first.head(tree()).await.expect("head");
    first.shutdown().await;
    drop(first);

    let second = engine(&store, &key);
    let appended = second
        .append(tree(), b"after restart".to_vec())
        .await
        .expect("append");
    assert_eq!(appended.index, old.size.next_index());
    let reader = second.reader();
    let proof = reader
        .consistency_proof(tree(), old.size, appended.head.size)
        .await
        .expect("consistency");
    consistency::verify(
        old.size,
        appended.head.size,
        &proof,
        &old.root,
        &appended.head.root,
    )
    .expect("old head is consistent with the new one");
    for index in [0u64, 1, 255, 256, 300] {
        let index = LeafIndex::new(index);
        let leaf = reader.leaf(tree(), index).await.expect("leaf");
        let proof = reader
            .inclusion_proof(tree(), index, appended.head.size)
            .await
            .expect("inclusion");
        inclusion::verify(
            index,
            appended.head.size,
            &leaf.hash,
            &proof,
            &appended.head.root,
        )
        .expect("verifies");
    }
    assert_eq!(
        appended.head.root,
        naive_root(&stored_leaf_hashes(&store).await)
    );
    second.shutdown().await;
}

async fn frozen_trees_refuse_appends<S: EngineStore>(store: S) {
    let key = signer();
    let engine = engine(&store, &key);
    engine
        .create_tree("rekor", tree(), b"genesis".to_vec())
        .await
        .expect("create");
    engine
        .append(tree(), b"one".to_vec())
        .await
        .expect("append");
    sigstack_store::TreeCatalog::freeze_tree(&store, tree())
        .await
        .expect("freeze");
    assert!(matches!(
        engine.append(tree(), b"two".to_vec()).await,
        Err(EngineError::TreeFrozen(_))
    ));
    let head = engine.head(tree()).await.expect("reads still work");
    assert_eq!(head.size, TreeSize::new(2));
    engine.shutdown().await;
}

/// Seals a leaf with text naming it, or fails for leaves that ask to.
#[derive(Debug)]
struct NamingSealer;

impl LeafSealer for NamingSealer {
    fn seal(
        &self,
        tree: TreeId,
        index: LeafIndex,
        data: &[u8],
        at: i64,
    ) -> Result<Vec<u8>, SealError> {
        if data.starts_with(b"refuse") {
            return Err(SealError {
                index,
                reason: "asked to refuse".into(),
            });
        }
        Ok(format!("{tree}/{index}/{at}/{}", data.len()).into_bytes())
    }
}

async fn sealed_leaves_and_search_keys<S: EngineStore>(store: S) {
    let key = signer();
    let engine = Arc::new(engine(&store, &key).with_sealer(Arc::new(NamingSealer)));
    engine
        .create_tree_with_keys(
            "rekor",
            tree(),
            b"genesis".to_vec(),
            vec!["kind:genesis".into()],
        )
        .await
        .expect("create");
    let writer = engine.writer(tree()).await.expect("writer");
    let mut tasks = Vec::new();
    for i in 0..100u32 {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            writer
                .append_with_keys(
                    format!("entry {i}").into_bytes(),
                    vec![format!("n:{i}"), "all".into()],
                )
                .await
                .expect("append")
        }));
    }
    for t in tasks {
        let appended = t.await.expect("task");
        let sealed = appended.sealed.expect("new leaves are sealed");
        let want = format!("{TREE}/{}/{}/", appended.index, sealed.integrated_at);
        assert!(String::from_utf8_lossy(&sealed.seal).starts_with(&want));
        let stored = engine
            .reader()
            .leaf(tree(), appended.index)
            .await
            .expect("leaf");
        assert_eq!(
            (stored.integrated_at, &stored.seal),
            (sealed.integrated_at, &sealed.seal)
        );
    }
    assert_eq!(
        store.find_by_key("kind:genesis", 10).await.expect("key"),
        vec![(tree(), LeafIndex::new(0), leaf_hash(b"genesis"))]
    );
    assert_eq!(
        store.find_by_key("all", 1000).await.expect("key").len(),
        100
    );
    let genesis = engine
        .reader()
        .leaf(tree(), LeafIndex::new(0))
        .await
        .expect("genesis");
    assert!(String::from_utf8_lossy(&genesis.seal).starts_with(&format!("{TREE}/0/")));
    // A duplicate is not sealed again and adds no keys.
    let dup = writer
        .append_with_keys(b"entry 7".to_vec(), vec!["late".into()])
        .await
        .expect("dup");
    assert!(dup.duplicate && dup.sealed.is_none());
    assert!(store.find_by_key("late", 10).await.expect("key").is_empty());
    // A leaf the sealer refuses fails its batch, and nothing of it is stored.
    let before = engine.head(tree()).await.expect("head");
    let refused = writer
        .append_with_keys(b"refuse me".to_vec(), vec!["refused".into()])
        .await;
    assert!(
        matches!(refused, Err(EngineError::BatchFailed(_))),
        "{refused:?}"
    );
    assert_eq!(engine.head(tree()).await.expect("head"), before);
    assert!(
        store
            .find_by_key("refused", 10)
            .await
            .expect("key")
            .is_empty()
    );
    writer
        .append(b"after".to_vec())
        .await
        .expect("keeps serving");
    drop(writer);
    engine.shutdown().await;
}

macro_rules! engine_suite {
    ($backend:ident) => {
        mod $backend {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn appends_are_proven_and_signed() {
                let f = super::$backend().await;
                super::appends_are_proven_and_signed(f.store.clone()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_appends_form_one_tree() {
                let f = super::$backend().await;
                super::concurrent_appends_form_one_tree(f.store.clone()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn duplicates_get_their_index_back() {
                let f = super::$backend().await;
                super::duplicates_get_their_index_back(f.store.clone()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn bad_input_is_refused_and_stores_nothing() {
                let f = super::$backend().await;
                super::bad_input_is_refused_and_stores_nothing(f.store.clone()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn restart_continues_the_tree() {
                let f = super::$backend().await;
                super::restart_continues_the_tree(f.store.clone()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sealed_leaves_and_search_keys() {
                let f = super::$backend().await;
                super::sealed_leaves_and_search_keys(f.store.clone()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn attachments_are_stored_with_new_leaves() {
                let f = super::$backend().await;
                super::attachments_are_stored_with_new_leaves(f.store.clone()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn frozen_trees_refuse_appends() {
                let f = super::$backend().await;
                super::frozen_trees_refuse_appends(f.store.clone()).await;
            }
        }
    };
}

engine_suite!(sqlite);
engine_suite!(postgres);
