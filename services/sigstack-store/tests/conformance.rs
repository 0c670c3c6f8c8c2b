//! One conformance suite for every storage backend, written once and
//! instantiated for SQLite and PostgreSQL in the same run. The PostgreSQL half
//! gets its server from `sigstack_testkit::postgres_admin_url`, which panics
//! when none is configured: these tests never skip.

use std::time::Duration;

use sigstack_core::hash::{Hash, leaf_hash};
use sigstack_core::ids::{LeafIndex, TreeId, TreeSize};
use sigstack_core::tile::TileId;
use sigstack_store::{
    BatchWrite, IntentState, IssuanceIntent, IssuanceStore, IssuedCertificate, LeafRow, LogReader,
    SearchKey, SequencerBatch, SequencerStore, StoreError, StoredHead, StoredTile, TreeCatalog,
    TreeState,
};

use sigstack_testkit::{postgres_store as postgres, sqlite_store as sqlite};

fn tree(id: i64) -> TreeId {
    TreeId::new(id).expect("positive tree id")
}

fn leaf(index: u64, data: &[u8]) -> LeafRow {
    LeafRow {
        integrated_at: 1_767_225_600 + i64::try_from(index).expect("small"),
        seal: format!("seal {index}").into_bytes(),
        index: LeafIndex::new(index),
        hash: leaf_hash(data),
        data: data.to_vec(),
    }
}

fn head(size: u64, tag: u8) -> StoredHead {
    StoredHead {
        size: TreeSize::new(size),
        root: Hash([tag; 32]),
        checkpoint: format!("checkpoint {size} {tag}\n"),
    }
}

fn tile(level: u8, index: u64, width: usize, tag: u8) -> StoredTile {
    StoredTile {
        id: TileId { level, index },
        hashes: vec![tag; 32 * width],
    }
}

fn genesis() -> BatchWrite {
    BatchWrite {
        leaves: vec![leaf(0, b"genesis")],
        tiles: vec![tile(0, 0, 1, 1)],
        keys: vec![SearchKey {
            key: "sha256:genesis".into(),
            index: LeafIndex::new(0),
        }],
        head: head(1, 1),
    }
}

fn batch_after(size: u64, count: u64, tag: u8) -> BatchWrite {
    let leaves = (size..size + count)
        .map(|i| leaf(i, format!("leaf {i} {tag}").as_bytes()))
        .collect();
    let width = usize::try_from((size + count) % 256).expect("small");
    // Every leaf is findable under its tag; the first also under its own key.
    let mut keys: Vec<SearchKey> = (size..size + count)
        .map(|i| SearchKey {
            key: format!("tag:{tag}"),
            index: LeafIndex::new(i),
        })
        .collect();
    keys.push(SearchKey {
        key: format!("leaf:{size}"),
        index: LeafIndex::new(size),
    });
    BatchWrite {
        leaves,
        tiles: vec![tile(0, 0, width.max(1), tag)],
        keys,
        head: head(size + count, tag),
    }
}

async fn create_and_read_tree<S: TreeCatalog + LogReader>(s: &S) {
    s.create_tree("rekor", tree(11), genesis())
        .await
        .expect("create");
    let trees = s.trees("rekor").await.expect("trees");
    assert_eq!(trees.len(), 1);
    assert_eq!(trees[0].tree_id, tree(11));
    assert_eq!(trees[0].state, TreeState::Active);
    assert_eq!(s.head(tree(11)).await.expect("head"), Some(head(1, 1)));
    assert_eq!(s.head(tree(12)).await.expect("head"), None);
    let leaves = s
        .leaves(tree(11), LeafIndex::new(0), 10)
        .await
        .expect("leaves");
    assert_eq!(leaves, vec![leaf(0, b"genesis")]);
    assert_eq!(
        s.leaf_index(tree(11), &leaf_hash(b"genesis"))
            .await
            .expect("by hash"),
        Some(LeafIndex::new(0))
    );
    let tiles = s.tiles(
        tree(11),
        &[TileId { level: 0, index: 0 }, TileId { level: 1, index: 0 }],
    );
    assert_eq!(tiles.await.expect("tiles"), vec![tile(0, 0, 1, 1)]);
    assert_eq!(
        s.checkpoint_at(tree(11), TreeSize::new(1))
            .await
            .expect("checkpoint"),
        Some(head(1, 1).checkpoint)
    );
}

async fn one_active_tree_per_log<S: TreeCatalog + LogReader>(s: &S) {
    s.create_tree("rekor", tree(21), genesis())
        .await
        .expect("create");
    let err = s
        .create_tree("rekor", tree(22), genesis())
        .await
        .expect_err("second active tree");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = s
        .create_tree("ct", tree(21), genesis())
        .await
        .expect_err("tree id taken");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        s.head(tree(22)).await.expect("head"),
        None,
        "refused tree left nothing"
    );
    assert!(s.trees("ct").await.expect("trees").is_empty());
    // After freezing, the log may start a new tree; both stay listed in order.
    s.freeze_tree(tree(21)).await.expect("freeze");
    s.create_tree("rekor", tree(22), genesis())
        .await
        .expect("create after freeze");
    let trees = s.trees("rekor").await.expect("trees");
    let listed: Vec<_> = trees.iter().map(|t| (t.tree_id, t.state)).collect();
    assert_eq!(
        listed,
        vec![(tree(21), TreeState::Frozen), (tree(22), TreeState::Active)]
    );
    assert!(matches!(
        s.freeze_tree(tree(99)).await,
        Err(StoreError::TreeNotFound(_))
    ));
}

async fn batch_commits_everything<S: TreeCatalog + LogReader + SequencerStore>(s: &S) {
    s.create_tree("rekor", tree(31), genesis())
        .await
        .expect("create");
    let mut batch = s.begin_batch(tree(31)).await.expect("begin");
    assert_eq!(batch.head(), &head(1, 1));
    let wanted = [leaf_hash(b"genesis"), leaf_hash(b"absent")];
    assert_eq!(
        batch.find_leaves(&wanted).await.expect("dedup"),
        vec![(wanted[0], LeafIndex::new(0))]
    );
    batch.commit(batch_after(1, 300, 2)).await.expect("commit");
    assert_eq!(s.head(tree(31)).await.expect("head"), Some(head(301, 2)));
    assert_eq!(
        s.leaves(tree(31), LeafIndex::new(0), 1000)
            .await
            .expect("leaves")
            .len(),
        301
    );
    assert_eq!(
        s.leaves(tree(31), LeafIndex::new(299), 5)
            .await
            .expect("leaves")
            .len(),
        2
    );
    assert!(
        s.checkpoint_at(tree(31), TreeSize::new(301))
            .await
            .expect("cp")
            .is_some()
    );
    // A narrower version of a tile never replaces a wider one.
    let batch = s.begin_batch(tree(31)).await.expect("begin");
    let mut write = batch_after(301, 1, 3);
    write.tiles = vec![tile(0, 0, 2, 3)];
    batch.commit(write).await.expect("commit");
    let stored = s
        .tiles(tree(31), &[TileId { level: 0, index: 0 }])
        .await
        .expect("tiles");
    assert_eq!(
        stored,
        vec![tile(0, 0, 45, 2)],
        "tile kept its wider version"
    );
}

async fn failed_batches_leave_nothing<S: TreeCatalog + LogReader + SequencerStore>(s: &S) {
    s.create_tree("rekor", tree(41), genesis())
        .await
        .expect("create");
    // Dropped without commit: rolled back.
    {
        let batch = s.begin_batch(tree(41)).await.expect("begin");
        drop(batch);
    }
    // Sizes that do not add up.
    let batch = s.begin_batch(tree(41)).await.expect("begin");
    let mut write = batch_after(1, 3, 2);
    write.head.size = TreeSize::new(9);
    assert!(matches!(
        batch.commit(write).await,
        Err(StoreError::Corrupt(_))
    ));
    // A leaf already stored.
    let batch = s.begin_batch(tree(41)).await.expect("begin");
    let mut write = batch_after(1, 3, 2);
    write.leaves[1] = LeafRow {
        index: LeafIndex::new(2),
        ..leaf(0, b"genesis")
    };
    assert!(matches!(
        batch.commit(write).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.head(tree(41)).await.expect("head"), Some(head(1, 1)));
    assert_eq!(
        s.leaves(tree(41), LeafIndex::new(0), 10)
            .await
            .expect("leaves")
            .len(),
        1
    );
    assert_eq!(
        s.checkpoint_at(tree(41), TreeSize::new(4))
            .await
            .expect("cp"),
        None
    );
    // The store keeps serving.
    let batch = s.begin_batch(tree(41)).await.expect("begin");
    batch.commit(batch_after(1, 3, 2)).await.expect("commit");
    assert_eq!(s.head(tree(41)).await.expect("head"), Some(head(4, 2)));
}

async fn search_keys_and_hashes<S: TreeCatalog + LogReader + SequencerStore>(s: &S) {
    s.create_tree("rekor", tree(71), genesis())
        .await
        .expect("create");
    let batch = s.begin_batch(tree(71)).await.expect("begin");
    batch.commit(batch_after(1, 20, 2)).await.expect("commit");
    let at = |i: u64| (tree(71), LeafIndex::new(i));
    let located = |found: Vec<(TreeId, LeafIndex, Hash)>| {
        found
            .into_iter()
            .map(|(t, i, _)| (t, i))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        s.find_by_key("sha256:genesis", 10).await.expect("key"),
        vec![(tree(71), LeafIndex::new(0), leaf_hash(b"genesis"))],
        "with the leaf hash"
    );
    let one = s.find_by_key("leaf:1", 10).await.expect("key");
    assert_eq!(located(one), vec![at(1)]);
    let tagged = located(s.find_by_key("tag:2", 100).await.expect("key"));
    assert_eq!(tagged, (1..=20).map(at).collect::<Vec<_>>());
    assert_eq!(
        s.find_by_key("tag:2", 5).await.expect("key").len(),
        5,
        "limit holds"
    );
    assert!(s.find_by_key("absent", 10).await.expect("key").is_empty());
    // The same leaf in two trees (a log rotated): found in both.
    s.freeze_tree(tree(71)).await.expect("freeze");
    s.create_tree("rekor", tree(72), genesis())
        .await
        .expect("second tree");
    let mut both = s
        .find_by_hash(&leaf_hash(b"genesis"))
        .await
        .expect("by hash");
    both.sort();
    assert_eq!(both, vec![at(0), (tree(72), LeafIndex::new(0))]);
    // A key outside the batch is refused and nothing is stored.
    let batch = s.begin_batch(tree(72)).await.expect("begin");
    let mut write = batch_after(1, 2, 3);
    write.keys.push(SearchKey {
        key: "stray".into(),
        index: LeafIndex::new(9),
    });
    assert!(matches!(
        batch.commit(write).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(s.find_by_key("tag:3", 10).await.expect("key").is_empty());
    let row = &s
        .leaves(tree(71), LeafIndex::new(3), 1)
        .await
        .expect("leaf")[0];
    assert_eq!(
        (row.integrated_at, row.seal.as_slice()),
        (1_767_225_603, b"seal 3".as_slice())
    );
}

async fn rotation_freezes_and_starts_a_tree<S: TreeCatalog + LogReader + SequencerStore>(s: &S) {
    s.create_tree("rekor", tree(81), genesis())
        .await
        .expect("create");
    let batch = s.begin_batch(tree(81)).await.expect("begin");
    batch.commit(batch_after(1, 4, 2)).await.expect("commit");
    // A refused genesis changes nothing.
    let refused = s
        .rotate_tree("rekor", tree(82), |_| Err("no key".to_owned()))
        .await;
    assert!(
        matches!(refused, Err(StoreError::Refused(_))),
        "{refused:?}"
    );
    let states: Vec<_> = s
        .trees("rekor")
        .await
        .expect("trees")
        .iter()
        .map(|t| (t.tree_id, t.state))
        .collect();
    assert_eq!(states, vec![(tree(81), TreeState::Active)]);
    let mut seen = Vec::new();
    s.rotate_tree("rekor", tree(82), |earlier| {
        seen = earlier.to_vec();
        Ok(genesis())
    })
    .await
    .expect("rotate");
    assert_eq!(
        seen,
        vec![(tree(81), TreeSize::new(5))],
        "the frozen tree with its final size"
    );
    let states: Vec<_> = s
        .trees("rekor")
        .await
        .expect("trees")
        .iter()
        .map(|t| (t.tree_id, t.state))
        .collect();
    assert_eq!(
        states,
        vec![(tree(81), TreeState::Frozen), (tree(82), TreeState::Active)]
    );
    assert!(matches!(
        s.begin_batch(tree(81)).await,
        Err(StoreError::TreeFrozen(_))
    ));
    assert_eq!(s.head(tree(82)).await.expect("head"), Some(head(1, 1)));
    // A second rotation sees both earlier trees, in order.
    let mut seen = Vec::new();
    s.rotate_tree("rekor", tree(83), |earlier| {
        seen = earlier.iter().map(|(t, _)| *t).collect();
        Ok(genesis())
    })
    .await
    .expect("rotate again");
    assert_eq!(seen, vec![tree(81), tree(82)]);
}

async fn issuance_intent_comes_first<S: IssuanceStore>(s: &S) {
    let intent = IssuanceIntent {
        serial: vec![0x01, 0x02, 0x03],
        principal: "alice@example.com".into(),
        issuer: "https://issuer.example".into(),
        key_hash: [7; 32],
    };
    s.record_intent(&intent).await.expect("intent");
    assert!(
        matches!(s.record_intent(&intent).await, Err(StoreError::Conflict(_))),
        "a serial is used once"
    );
    assert_eq!(
        s.intent_state(&intent.serial).await.expect("state"),
        Some(IntentState::Intended)
    );
    assert_eq!(s.certificate(&intent.serial).await.expect("none yet"), None);
    let cert = IssuedCertificate {
        serial: intent.serial.clone(),
        san: "alice@example.com".into(),
        issuer: intent.issuer.clone(),
        not_before: 1_767_225_600,
        not_after: 1_767_226_200,
        fingerprint: [9; 32],
        der: vec![0x30, 0x00],
    };
    s.record_certificate(&cert).await.expect("certificate");
    assert_eq!(
        s.intent_state(&intent.serial).await.expect("state"),
        Some(IntentState::Issued)
    );
    assert_eq!(
        s.certificate(&intent.serial).await.expect("stored"),
        Some(cert.clone())
    );
    assert_eq!(s.issued_count().await.expect("count"), 1);
    assert!(
        matches!(
            s.record_certificate(&cert).await,
            Err(StoreError::Corrupt(_))
        ),
        "issued once"
    );
    let stray = IssuedCertificate {
        serial: vec![0x09],
        ..cert.clone()
    };
    assert!(
        matches!(
            s.record_certificate(&stray).await,
            Err(StoreError::Corrupt(_))
        ),
        "no intent, no certificate"
    );
    let failing = IssuanceIntent {
        serial: vec![0x04],
        ..intent.clone()
    };
    s.record_intent(&failing).await.expect("intent");
    s.record_failure(&failing.serial, "no SCT")
        .await
        .expect("failure");
    assert_eq!(
        s.intent_state(&failing.serial).await.expect("state"),
        Some(IntentState::Failed)
    );
    let late = IssuedCertificate {
        serial: failing.serial.clone(),
        ..cert
    };
    assert!(matches!(
        s.record_certificate(&late).await,
        Err(StoreError::Corrupt(_))
    ));
    assert_eq!(s.issued_count().await.expect("count"), 1);
}

fn intent_for(serial: &[u8]) -> IssuanceIntent {
    let tag = serial.first().copied().unwrap_or_default();
    IssuanceIntent {
        serial: serial.to_vec(),
        principal: format!("user-{tag}@example.com"),
        issuer: "https://issuer.example".into(),
        key_hash: [tag; 32],
    }
}

fn certificate_for(serial: &[u8]) -> IssuedCertificate {
    IssuedCertificate {
        serial: serial.to_vec(),
        san: format!("user-{}@example.com", serial[0]),
        issuer: "https://issuer.example".into(),
        not_before: 1_767_225_600,
        not_after: 1_767_226_200,
        fingerprint: [serial[0]; 32],
        der: vec![0x30, 0x01, serial[0]],
    }
}

/// Outcomes as labels, to compare a whole batch at once.
fn labels(outcome: &[Result<(), StoreError>]) -> Vec<&'static str> {
    outcome
        .iter()
        .map(|o| match o {
            Ok(()) => "ok",
            Err(StoreError::Conflict(_)) => "conflict",
            Err(StoreError::Corrupt(_)) => "corrupt",
            Err(_) => "other",
        })
        .collect()
}

async fn issuance_batches_answer_each_item<S: IssuanceStore>(s: &S) {
    s.record_intent(&intent_for(&[0x20])).await.expect("intent");
    // 0x20 is taken before the batch; 0x22 is taken by the batch's own
    // earlier intent.
    let batch = [
        intent_for(&[0x21]),
        intent_for(&[0x20]),
        intent_for(&[0x22]),
        intent_for(&[0x22]),
        intent_for(&[0x23]),
    ];
    let outcome = s.record_intents(&batch).await.expect("batch commits");
    assert_eq!(labels(&outcome), ["ok", "conflict", "ok", "conflict", "ok"]);
    for serial in [0x20, 0x21, 0x22, 0x23] {
        assert_eq!(
            s.intent_state(&[serial]).await.expect("state"),
            Some(IntentState::Intended),
            "serial {serial:#x}"
        );
    }

    s.record_failure(&[0x23], "no SCT").await.expect("failure");
    // 0x24 has no intent, 0x23's failed, and 0x21 comes twice: its second
    // row finds the intent already issued.
    let certificates = [
        certificate_for(&[0x21]),
        certificate_for(&[0x24]),
        certificate_for(&[0x22]),
        certificate_for(&[0x23]),
        certificate_for(&[0x21]),
    ];
    let outcome = s
        .record_certificates(&certificates)
        .await
        .expect("batch commits");
    assert_eq!(
        labels(&outcome),
        ["ok", "corrupt", "ok", "corrupt", "corrupt"]
    );
    for serial in [0x21, 0x22] {
        assert_eq!(
            s.intent_state(&[serial]).await.expect("state"),
            Some(IntentState::Issued)
        );
        assert_eq!(
            s.certificate(&[serial]).await.expect("read"),
            Some(certificate_for(&[serial]))
        );
    }
    assert_eq!(s.intent_state(&[0x24]).await.expect("state"), None);
    assert_eq!(s.certificate(&[0x24]).await.expect("read"), None);
    assert_eq!(
        s.intent_state(&[0x23]).await.expect("state"),
        Some(IntentState::Failed)
    );
    assert_eq!(s.certificate(&[0x23]).await.expect("read"), None);
    assert_eq!(
        s.intent_state(&[0x20]).await.expect("state"),
        Some(IntentState::Intended)
    );
    assert_eq!(s.issued_count().await.expect("count"), 2);
}

async fn empty_issuance_batches<S: IssuanceStore>(s: &S) {
    assert!(s.record_intents(&[]).await.expect("intents").is_empty());
    assert!(
        s.record_certificates(&[])
            .await
            .expect("certificates")
            .is_empty()
    );
    assert_eq!(s.issued_count().await.expect("count"), 0);
}

async fn failed_issuance_batches_store_nothing<S: IssuanceStore>(s: &S) {
    // An empty serial breaks the schema's check: the whole batch fails,
    // the valid intents around it included.
    let batch = [intent_for(&[0x31]), intent_for(&[]), intent_for(&[0x32])];
    assert!(
        s.record_intents(&batch).await.is_err(),
        "a row the schema refuses fails the batch"
    );
    assert_eq!(s.intent_state(&[0x31]).await.expect("state"), None);
    assert_eq!(s.intent_state(&[0x32]).await.expect("state"), None);
    let outcome = s
        .record_intents(&[intent_for(&[0x31]), intent_for(&[0x32])])
        .await
        .expect("the same serials, retried");
    assert_eq!(labels(&outcome), ["ok", "ok"]);
}

async fn frozen_and_unknown_trees<S: TreeCatalog + LogReader + SequencerStore>(s: &S) {
    assert!(matches!(
        s.begin_batch(tree(51)).await,
        Err(StoreError::TreeNotFound(_))
    ));
    s.create_tree("rekor", tree(51), genesis())
        .await
        .expect("create");
    s.freeze_tree(tree(51)).await.expect("freeze");
    assert!(matches!(
        s.begin_batch(tree(51)).await,
        Err(StoreError::TreeFrozen(_))
    ));
    assert_eq!(
        s.head(tree(51)).await.expect("reads still work"),
        Some(head(1, 1))
    );
}

async fn writers_are_serialised<S>(s: &S)
where
    S: TreeCatalog + LogReader + SequencerStore + Clone + 'static,
{
    s.create_tree("rekor", tree(61), genesis())
        .await
        .expect("create");
    let first = s.begin_batch(tree(61)).await.expect("begin first");
    let other = s.clone();
    let second = tokio::spawn(async move {
        let batch = other.begin_batch(tree(61)).await.expect("begin second");
        batch.head().clone()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "second writer must wait for the first"
    );
    first
        .commit(batch_after(1, 5, 2))
        .await
        .expect("commit first");
    let seen = tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .expect("second writer proceeds")
        .expect("task");
    assert_eq!(seen, head(6, 2), "second writer sees the first one's head");
}

macro_rules! conformance_suite {
    ($backend:ident) => {
        mod $backend {
            #[tokio::test]
            async fn create_and_read_tree() {
                super::create_and_read_tree(&super::$backend().await.store).await;
            }
            #[tokio::test]
            async fn one_active_tree_per_log() {
                super::one_active_tree_per_log(&super::$backend().await.store).await;
            }
            #[tokio::test]
            async fn batch_commits_everything() {
                super::batch_commits_everything(&super::$backend().await.store).await;
            }
            #[tokio::test]
            async fn failed_batches_leave_nothing() {
                super::failed_batches_leave_nothing(&super::$backend().await.store).await;
            }
            #[tokio::test]
            async fn search_keys_and_hashes() {
                super::search_keys_and_hashes(&super::$backend().await.store).await;
            }
            #[tokio::test]
            async fn rotation_freezes_and_starts_a_tree() {
                super::rotation_freezes_and_starts_a_tree(&super::$backend().await.store).await;
            }
            #[tokio::test]
            async fn issuance_intent_comes_first() {
                super::issuance_intent_comes_first(&super::$backend().await.store).await;
            }
            #[tokio::test]
            async fn issuance_batches_answer_each_item() {
                super::issuance_batches_answer_each_item(&super::$backend().await.store).await;
            }
            #[tokio::test]
            async fn empty_issuance_batches() {
                super::empty_issuance_batches(&super::$backend().await.store).await;
            }
            #[tokio::test]
            async fn failed_issuance_batches_store_nothing() {
                super::failed_issuance_batches_store_nothing(&super::$backend().await.store).await;
            }
            #[tokio::test]
            async fn frozen_and_unknown_trees() {
                super::frozen_and_unknown_trees(&super::$backend().await.store).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn writers_are_serialised() {
                super::writers_are_serialised(&super::$backend().await.store).await;
            }
        }
    };
}

conformance_suite!(sqlite);
conformance_suite!(postgres);
