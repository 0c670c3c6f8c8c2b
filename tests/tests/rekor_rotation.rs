//! Rotation: another process freezes the active tree and starts a new one
//! while the log serves. Old entries stay retrievable by entry ID and by
//! virtual index with proofs against the frozen tree's checkpoint; new
//! entries go to the new tree, continuing the virtual index.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sigstack_core::checkpoint::open_checkpoint;
use sigstack_core::entry::set::verify_set;
use sigstack_core::hash::{Hash, leaf_hash};
use sigstack_core::ids::{LeafIndex, TreeSize};
use sigstack_core::inclusion;
use sigstack_e2e::rekor::{ClientKey, serve_with_limit};
use sigstack_engine::EngineStore;
use sigstack_rekor::{RekorConfig, RekorLog};
use sigstack_testkit::{postgres_store as postgres, sqlite_store as sqlite};

fn hash(text: &str) -> Hash {
    Hash::from_slice(&hex::decode(text).expect("hex")).expect("32 bytes")
}

async fn rotation_keeps_old_entries<S: EngineStore>(store: S) {
    let s = serve_with_limit(store.clone(), 1 << 20).await;
    let key = ClientKey::generate();
    let post = |artifact: &'static [u8]| {
        let s = &s;
        let proposal = key.hashedrekord(artifact);
        async move {
            let r = s
                .client
                .post(format!("{}/api/v1/log/entries", s.base))
                .json(&proposal)
                .send()
                .await
                .expect("post");
            assert_eq!(r.status().as_u16(), 201);
            let map: serde_json::Map<String, serde_json::Value> = r.json().await.expect("entry");
            map.into_iter().next().expect("one member")
        }
    };
    let (old_id, old_value) = post(b"before rotation").await;
    let old_tree = s.log.log_info().await.expect("info").active.tree_id;

    // The operator's `sigstack log rotate` is another process with its own
    // handle on the same database and key.
    let operator = RekorLog::open(
        store.clone(),
        RekorConfig::new("127.0.0.1"),
        s.signer.clone(),
    )
    .await
    .expect("open");
    let new_shard = operator.rotate().await.expect("rotate");
    assert_ne!(new_shard.tree.to_string(), old_tree);
    assert_eq!(
        new_shard.offset, 2,
        "genesis + one entry in the frozen tree"
    );

    // The serving log notices on its next write and moves to the new tree.
    let (new_id, new_value) = post(b"after rotation").await;
    assert_eq!(
        &new_id[..16],
        format!("{:016x}", new_shard.tree.get()),
        "new entries go to the new tree"
    );
    assert_eq!(
        new_value["logIndex"], 3,
        "virtual index continues: 2 old + genesis at 2 + this at 3"
    );
    assert_eq!(new_value["verification"]["inclusionProof"]["logIndex"], 1);
    let spki = s.signer.public_key_spki_der();
    assert!(verify_set(
        spki,
        new_value["body"].as_str().expect("body"),
        new_value["integratedTime"].as_i64().expect("time"),
        &s.log.log_id(),
        3,
        &STANDARD
            .decode(
                new_value["verification"]["signedEntryTimestamp"]
                    .as_str()
                    .expect("set")
            )
            .expect("b64"),
    ));

    let info: serde_json::Value = s
        .client
        .get(format!("{}/api/v1/log", s.base))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("info");
    assert_eq!(info["treeID"], new_shard.tree.to_string());
    let inactive = info["inactiveShards"]
        .as_array()
        .expect("one inactive shard");
    assert_eq!(inactive.len(), 1);
    assert_eq!(inactive[0]["treeID"], old_tree);
    assert_eq!(inactive[0]["treeSize"], 2);

    // Old entries: by entry ID and by virtual index, proven against the frozen tree.
    for path in [
        format!("/api/v1/log/entries/{old_id}"),
        "/api/v1/log/entries?logIndex=1".to_owned(),
    ] {
        let r = s
            .client
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status().as_u16(), 200, "{path}");
        let map: serde_json::Map<String, serde_json::Value> = r.json().await.expect("entry");
        let (id, value) = map.into_iter().next().expect("one member");
        assert_eq!(id, old_id);
        assert_eq!(value["body"], old_value["body"]);
        assert_eq!(
            value["verification"]["signedEntryTimestamp"],
            old_value["verification"]["signedEntryTimestamp"]
        );
        let proof = &value["verification"]["inclusionProof"];
        let checkpoint = open_checkpoint(
            proof["checkpoint"].as_str().expect("cp"),
            &s.signer.verifier(),
        )
        .expect("verifies");
        assert_eq!(
            checkpoint.origin,
            format!("127.0.0.1 - {old_tree}"),
            "the frozen tree's checkpoint"
        );
        assert_eq!(checkpoint.size, TreeSize::new(2));
        let hashes: Vec<Hash> = proof["hashes"]
            .as_array()
            .expect("hashes")
            .iter()
            .map(|h| hash(h.as_str().expect("hex")))
            .collect();
        let body = STANDARD
            .decode(value["body"].as_str().expect("body"))
            .expect("b64");
        inclusion::verify(
            LeafIndex::new(1),
            checkpoint.size,
            &leaf_hash(&body),
            &hashes,
            &checkpoint.root,
        )
        .expect("proof");
    }
    let key_of_old = s
        .client
        .get(format!("{}/api/v1/log/publicKey?treeID={old_tree}", s.base))
        .send()
        .await
        .expect("get");
    assert_eq!(key_of_old.status().as_u16(), 200);
    let proof_of_old = s
        .client
        .get(format!(
            "{}/api/v1/log/proof?firstSize=1&lastSize=2&treeID={old_tree}",
            s.base
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(proof_of_old.status().as_u16(), 200);
    // The same artifact may be logged again in the new tree (duplicates are per tree).
    let again = s.client.post(format!("{}/api/v1/log/entries", s.base)).json(&serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": serde_json::from_slice::<serde_json::Value>(&STANDARD.decode(old_value["body"].as_str().expect("b")).expect("b64")).expect("json")["spec"]})).send().await.expect("post");
    assert_eq!(
        again.status().as_u16(),
        201,
        "a frozen tree's entry may be appended to the new tree"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rotation_keeps_old_entries() {
    let f = sqlite().await;
    rotation_keeps_old_entries(f.store.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rotation_keeps_old_entries() {
    let f = postgres().await;
    rotation_keeps_old_entries(f.store.clone()).await;
}
