//! The v1 API over HTTP, on both backends: create, reads, duplicates, log
//! info, consistency, and the answers' exact shapes, verified from the
//! responses alone with the log's published key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use sigstack_core::checkpoint::open_checkpoint;
use sigstack_core::entry::set::verify_set;
use sigstack_core::hash::{Hash, leaf_hash};
use sigstack_core::ids::{LeafIndex, TreeSize};
use sigstack_core::note::EcdsaP256NoteVerifier;
use sigstack_core::{consistency, inclusion};
use sigstack_e2e::rekor::{ClientKey, Served, serve_with_limit};
use sigstack_engine::EngineStore;
use sigstack_testkit::{postgres_store as postgres, sqlite_store as sqlite};

const LIMIT: usize = 1024 * 1024;

fn log_id_of(hex_text: &str) -> sigstack_core::ids::LogId {
    sigstack_core::ids::LogId(
        hex::decode(hex_text)
            .expect("hex")
            .try_into()
            .expect("32 bytes"),
    )
}

fn hash(hex_text: &str) -> Hash {
    Hash::from_slice(&hex::decode(hex_text).expect("hex")).expect("32 bytes")
}

/// Checks one LogEntry map answer from the response bytes alone.
fn check_entry(
    raw: &[u8],
    verifier: &EcdsaP256NoteVerifier,
    spki: &[u8],
    log_id: &str,
) -> (String, serde_json::Value) {
    assert!(raw.ends_with(b"}}\n"), "one trailing newline after the map");
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(raw).expect("json map");
    assert_eq!(map.len(), 1, "exactly one member");
    let (id, value) = map.into_iter().next().expect("one member");
    assert_eq!(id.len(), 80);
    let body = STANDARD
        .decode(value["body"].as_str().expect("body"))
        .expect("base64 body");
    assert_eq!(
        &id[16..],
        leaf_hash(&body).to_hex(),
        "UUID = leaf hash of the body"
    );
    assert_eq!(value["logID"], log_id);
    let proof = &value["verification"]["inclusionProof"];
    let size = TreeSize::new(proof["treeSize"].as_u64().expect("size"));
    let index = LeafIndex::new(proof["logIndex"].as_u64().expect("index"));
    let root = hash(proof["rootHash"].as_str().expect("root"));
    let hashes: Vec<Hash> = proof["hashes"]
        .as_array()
        .expect("hashes")
        .iter()
        .map(|h| hash(h.as_str().expect("hex")))
        .collect();
    inclusion::verify(index, size, &leaf_hash(&body), &hashes, &root)
        .expect("inclusion proof verifies");
    let checkpoint = open_checkpoint(proof["checkpoint"].as_str().expect("checkpoint"), verifier)
        .expect("checkpoint verifies");
    assert_eq!(
        (checkpoint.size, checkpoint.root),
        (size, root),
        "checkpoint matches the proof"
    );
    assert!(checkpoint.origin.starts_with("127.0.0.1 - "));
    let set = STANDARD
        .decode(
            value["verification"]["signedEntryTimestamp"]
                .as_str()
                .expect("set"),
        )
        .expect("b64");
    assert!(
        verify_set(
            spki,
            value["body"].as_str().expect("body"),
            value["integratedTime"].as_i64().expect("time"),
            &log_id_of(log_id),
            value["logIndex"].as_u64().expect("virtual index"),
            &set,
        ),
        "SET verifies"
    );
    (id, value)
}

async fn post(s: &Served<impl EngineStore>, path: &str, body: Vec<u8>) -> reqwest::Response {
    s.client
        .post(format!("{}{path}", s.base))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("post")
}

async fn get(s: &Served<impl EngineStore>, path: &str) -> reqwest::Response {
    s.client
        .get(format!("{}{path}", s.base))
        .send()
        .await
        .expect("get")
}

async fn create_read_and_prove<S: EngineStore>(store: S) {
    let s = serve_with_limit(store, LIMIT).await;
    let key = ClientKey::generate();
    let pem = get(&s, "/api/v1/log/publicKey").await;
    assert_eq!(pem.status(), StatusCode::OK);
    assert_eq!(pem.headers()["content-type"], "application/x-pem-file");
    let pem = pem.text().await.expect("pem");
    let verifier = s.signer.verifier();
    let spki = s.signer.public_key_spki_der();
    let published = sigstack_core::entry::pki::PublicKey::from_spki_der(spki)
        .expect("spki")
        .canonical_pem();
    assert_eq!(pem, published);
    let log_id = s.log.log_id().to_hex();

    let info_before: serde_json::Value =
        get(&s, "/api/v1/log").await.json().await.expect("log info");
    // ECDSA signatures are randomised: keep the one proposal to resubmit it.
    let proposal = serde_json::to_vec(&key.hashedrekord(b"artifact one")).expect("json");
    let created = post(&s, "/api/v1/log/entries", proposal.clone()).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let etag = created.headers()["etag"].to_str().expect("etag").to_owned();
    let location = created.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let raw = created.bytes().await.expect("body");
    let (id, value) = check_entry(&raw, &verifier, spki, &log_id);
    assert_eq!(etag, id);
    assert_eq!(location, format!("/api/v1/log/entries/{id}"));
    assert!(
        value["logIndex"].as_u64().expect("index") >= 1,
        "index 0 is the log's own"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    assert!(
        (now - value["integratedTime"].as_i64().expect("time")).abs() < 60,
        "integratedTime in seconds"
    );

    // Reads by index, UUID and entry ID (with and without a trailing slash) answer the same bytes.
    let index = value["logIndex"].as_u64().expect("index");
    let by_index = get(&s, &format!("/api/v1/log/entries?logIndex={index}"))
        .await
        .bytes()
        .await
        .expect("by index");
    let by_uuid = get(&s, &format!("/api/v1/log/entries/{}", &id[16..]))
        .await
        .bytes()
        .await
        .expect("by uuid");
    let by_id = get(&s, &format!("/api/v1/log/entries/{id}/"))
        .await
        .bytes()
        .await
        .expect("by id");
    check_entry(&by_index, &verifier, spki, &log_id);
    assert_eq!(by_index, by_uuid);
    assert_eq!(by_index, by_id);
    // The stored SET is returned, not a fresh one.
    let stored: serde_json::Value = serde_json::from_slice(&by_index).expect("json");
    assert_eq!(
        stored[&id]["verification"]["signedEntryTimestamp"],
        value["verification"]["signedEntryTimestamp"]
    );

    // A duplicate answers 409 naming the existing entry.
    let dup = post(&s, "/api/v1/log/entries/", proposal).await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    assert_eq!(
        dup.headers()["location"].to_str().expect("location"),
        format!("/api/v1/log/entries/{id}")
    );
    let body: serde_json::Value = dup.json().await.expect("json error");
    assert_eq!(body["code"], 409);
    assert!(body["message"].as_str().expect("message").contains(&id));

    // Log info and a consistency proof between two signed heads.
    for i in 0..5u8 {
        let r = post(
            &s,
            "/api/v1/log/entries",
            serde_json::to_vec(&key.hashedrekord(&[b'x', i])).expect("json"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let info: serde_json::Value = get(&s, "/api/v1/log").await.json().await.expect("log info");
    let old = open_checkpoint(
        info_before["signedTreeHead"].as_str().expect("sth"),
        &verifier,
    )
    .expect("old sth");
    let new =
        open_checkpoint(info["signedTreeHead"].as_str().expect("sth"), &verifier).expect("new sth");
    assert_eq!(new.size.get(), info["treeSize"].as_u64().expect("size"));
    assert_eq!(new.root.to_hex(), info["rootHash"]);
    assert_eq!(info["inactiveShards"], serde_json::Value::Null);
    let proof: serde_json::Value = get(
        &s,
        &format!(
            "/api/v1/log/proof?firstSize={}&lastSize={}",
            old.size, new.size
        ),
    )
    .await
    .json()
    .await
    .expect("proof");
    let hashes: Vec<Hash> = proof["hashes"]
        .as_array()
        .expect("hashes")
        .iter()
        .map(|h| hash(h.as_str().expect("hex")))
        .collect();
    consistency::verify(old.size, new.size, &hashes, &old.root, &new.root).expect("consistent");
    let same: serde_json::Value = get(
        &s,
        &format!("/api/v1/log/proof?firstSize={0}&lastSize={0}", new.size),
    )
    .await
    .json()
    .await
    .expect("proof");
    assert_eq!(same["hashes"], serde_json::json!([]));
}

async fn search_finds_entries_at_once<S: EngineStore>(store: S) {
    let s = serve_with_limit(store, LIMIT).await;
    let (key, other) = (ClientKey::generate(), ClientKey::generate());
    let proposal = key.hashedrekord(b"searchable");
    let created = post(
        &s,
        "/api/v1/log/entries",
        serde_json::to_vec(&proposal).expect("json"),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.headers()["etag"].to_str().expect("etag").to_owned();
    let other_created = post(
        &s,
        "/api/v1/log/entries",
        serde_json::to_vec(&other.hashedrekord(b"searchable")).expect("json"),
    )
    .await;
    let other_id = other_created.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_owned();
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"searchable"));

    let search = |body: serde_json::Value| {
        let s = &s;
        async move {
            let r = s
                .client
                .post(format!("{}/api/v1/index/retrieve", s.base))
                .json(&body)
                .send()
                .await
                .expect("search");
            assert_eq!(r.status(), StatusCode::OK, "{body}");
            let mut ids: Vec<String> = r.json().await.expect("array of IDs");
            ids.sort();
            ids
        }
    };
    let mut both = vec![id.clone(), other_id.clone()];
    both.sort();
    // Right after the 201s, with and without the prefix, in either case.
    assert_eq!(search(serde_json::json!({"hash": digest})).await, both);
    assert_eq!(
        search(serde_json::json!({"hash": format!("sha256:{}", digest.to_uppercase())})).await,
        both
    );
    let by_key = serde_json::json!({"publicKey": {"format": "x509", "content": STANDARD.encode(key.pem.as_bytes())}});
    assert_eq!(search(by_key.clone()).await, vec![id.clone()]);
    let mut and = by_key.clone();
    and["hash"] = digest.clone().into();
    and["operator"] = "and".into();
    assert_eq!(search(and).await, vec![id.clone()]);
    let mut or = by_key;
    or["hash"] = digest.clone().into();
    assert_eq!(search(or).await, both);
    assert!(
        search(serde_json::json!({"hash": "ab".repeat(32)}))
            .await
            .is_empty()
    );

    // Bulk retrieval by UUID, entry ID, proposed entry and index.
    let retrieve = |body: serde_json::Value| {
        let s = &s;
        async move {
            let r = s
                .client
                .post(format!("{}/api/v1/log/entries/retrieve/", s.base))
                .json(&body)
                .send()
                .await
                .expect("retrieve");
            (
                r.status(),
                r.json::<serde_json::Value>().await.expect("json"),
            )
        }
    };
    let (status, found) =
        retrieve(serde_json::json!({"entryUUIDs": [&id[16..], &other_id], "entries": [proposal]}))
            .await;
    assert_eq!(status, StatusCode::OK);
    let keys: Vec<&str> = found
        .as_array()
        .expect("array")
        .iter()
        .map(|m| {
            m.as_object()
                .expect("map")
                .keys()
                .next()
                .expect("key")
                .as_str()
        })
        .collect();
    assert_eq!(keys, vec![id.as_str(), other_id.as_str(), id.as_str()]);
    let (_, by_index) = retrieve(serde_json::json!({"logIndexes": [0, 999]})).await;
    assert_eq!(
        by_index.as_array().expect("array").len(),
        1,
        "absent indexes are skipped"
    );
    let (status, _) =
        retrieve(serde_json::json!({"logIndexes": (0..11).collect::<Vec<_>>()})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = retrieve(serde_json::json!({"logIndexes": [0, 1, 2, 3, 4, 5], "entryUUIDs": ["ab".repeat(32), "cd".repeat(32), "ef".repeat(32), "01".repeat(32), "23".repeat(32)]})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "more than ten in total"
    );
    let (status, body) = retrieve(serde_json::json!({"entryUUIDs": ["xyz"]})).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(400))
    );
}

async fn disabled_operations_answer_501<S: EngineStore>(store: S) {
    let mut config = sigstack_rekor::RekorConfig::new("127.0.0.1");
    config.enabled = vec![sigstack_rekor::Operation::GetLogInfo];
    let s = sigstack_e2e::rekor::serve_config(store, config).await;
    let key = ClientKey::generate();
    let r = post(
        &s,
        "/api/v1/log/entries",
        serde_json::to_vec(&key.hashedrekord(b"x")).expect("json"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_IMPLEMENTED);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["code"], 501);
    assert_eq!(
        body["message"],
        "createLogEntry API not enabled in this Rekor instance"
    );
    assert_eq!(
        get(&s, "/api/v1/log/entries?logIndex=0").await.status(),
        StatusCode::NOT_IMPLEMENTED
    );
    assert_eq!(get(&s, "/api/v1/log").await.status(), StatusCode::OK);
}

macro_rules! api_suite {
    ($backend:ident) => {
        mod $backend {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn create_read_and_prove() {
                let f = super::$backend().await;
                super::create_read_and_prove(f.store.clone()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn disabled_operations_answer_501() {
                let f = super::$backend().await;
                super::disabled_operations_answer_501(f.store.clone()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn search_finds_entries_at_once() {
                let f = super::$backend().await;
                super::search_finds_entries_at_once(f.store.clone()).await;
            }
        }
    };
}

api_suite!(sqlite);
api_suite!(postgres);
