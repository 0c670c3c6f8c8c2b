//! One entry of every kind sigstack accepts (`spec/log.md` §2: hashedrekord
//! 0.0.1 with a public key and with an email certificate, dsse 0.0.1,
//! intoto 0.0.2, intoto 0.0.1), created over HTTP on a served Rekor v1 log,
//! on both backends, as the clients of §1.12 send them.
//!
//! Each answer is checked from its bytes alone, with the PEM of
//! `GET /api/v1/log/publicKey` as the only trusted input:
//! - 201 exactly, `ETag` = map key = entry ID, `Location` ending in it
//!   (§1.6); the body one JSON member and one trailing `\n`;
//! - the entry ID's tree part the log's tree ID, its UUID part the RFC 6962
//!   leaf hash of the decoded body (§1.2);
//! - the decoded body byte-equal to the canonical body of §2, spelled out
//!   by hand in `proposals`, and its shape per kind;
//! - `logID` = SHA-256 of the key's DER; `integratedTime` in seconds;
//! - the SET over the top-level (virtual) `logIndex` (§3, with
//!   `sigstack_core::entry::set::verify_set`);
//! - the inclusion proof up to its root, and the embedded checkpoint signed
//!   by that key, origin `127.0.0.1 - <treeID>`, one signature line named
//!   `127.0.0.1` whose key hint is the first 4 bytes of the log ID, with the
//!   proof's size and root (§4.1).
//!
//! Then: the reads by index, by UUID and by entry ID are byte-identical and
//! carry the create's body, time, index and SET; the search index finds
//! each entry by its digests at once after its 201, and by email, public
//! key and key fingerprint (§2.6); sigstore-rs (practice 9) accepts the
//! entries it models, all but dsse; a resubmitted dsse proposal gets 409
//! with a `Location` naming the first entry (§1.7).

#[path = "rekor_entry_kinds/proposals.rs"]
mod proposals;

use std::collections::BTreeSet;
use std::str::FromStr as _;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proposals::{Case, Signer, b64, email_certificate, sha256_hex, statement};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, ETAG, LOCATION};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use sigstack_core::checkpoint::open_checkpoint;
use sigstack_core::entry::set::verify_set;
use sigstack_core::hash::Hash;
use sigstack_core::ids::{LeafIndex, LogId, TreeSize};
use sigstack_core::inclusion;
use sigstack_core::note::{EcdsaP256NoteVerifier, SignedNote};
use sigstack_e2e::rekor::{Served, serve};
use sigstack_engine::EngineStore;
use sigstack_testkit::{postgres_store, sqlite_store};
use sigstore::crypto::{CosignVerificationKey, SigningScheme};
use sigstore::rekor::apis::entries_api;
use sigstore::rekor::models::LogEntry;
use sigstore::rekor::models::log_entry::Body;

const HOST: &str = "127.0.0.1";
/// Mixed case in the certificate; the index lower-cases it (§2.6).
const EMAIL: &str = "Alice.Builder@Example.COM";

/// What the log published about itself.
struct LogKey {
    pem: String,
    spki_der: Vec<u8>,
    log_id: LogId,
    verifier: EcdsaP256NoteVerifier,
    tree_id: i64,
}

impl LogKey {
    async fn fetch(s: &Served<impl EngineStore>) -> Self {
        let answer = s.get("/api/v1/log/publicKey").await;
        assert_eq!(answer.status(), StatusCode::OK);
        let pem = answer.text().await.expect("public key");
        let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let spki_der = STANDARD.decode(der).expect("PEM body is base64");
        let log_id = LogId(Sha256::digest(&spki_der).into());
        let verifier = EcdsaP256NoteVerifier::from_spki_der(HOST, &spki_der).expect("P-256 key");
        let info = log_info(s).await;
        let tree_id = info["treeID"]
            .as_str()
            .expect("treeID is a string")
            .parse()
            .expect("treeID is decimal");
        Self {
            pem,
            spki_der,
            log_id,
            verifier,
            tree_id,
        }
    }

    /// The entry ID of `uuid` in the active tree: 16 hex of the tree ID, then the UUID.
    fn entry_id(&self, uuid: &str) -> String {
        format!("{:016x}{uuid}", self.tree_id)
    }
}

/// A verified entry answer's members that must not change between reads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    entry_id: String,
    uuid: String,
    body: String,
    integrated_time: i64,
    log_index: u64,
    set: String,
}

async fn log_info(s: &Served<impl EngineStore>) -> Value {
    let answer = s.get("/api/v1/log").await;
    assert_eq!(answer.status(), StatusCode::OK);
    serde_json::from_slice(&answer.bytes().await.expect("log info")).expect("log info JSON")
}

fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    i64::try_from(secs).expect("a plausible clock")
}

fn hash(hex_str: &str) -> Hash {
    Hash::from_slice(&hex::decode(hex_str).expect("hex")).expect("32 bytes")
}

fn keys(object: &Value) -> Vec<&str> {
    object
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Every check of §1.6, §1.2, §3 and §4.1 on one raw LogEntry answer.
fn check_entry(log: &LogKey, raw: &[u8], case: &Case, label: &str) -> Entry {
    let what = format!("{} ({label})", case.label);
    assert!(
        raw.ends_with(b"}}\n") && !raw.ends_with(b"\n\n"),
        "{what}: one JSON value and one trailing newline"
    );
    let map: Map<String, Value> = serde_json::from_slice(raw).expect("a JSON object");
    assert_eq!(map.len(), 1, "{what}: exactly one member");
    let (entry_id, value) = map.into_iter().next().expect("one member");
    assert_eq!(
        keys(&value),
        [
            "body",
            "integratedTime",
            "logID",
            "logIndex",
            "verification"
        ],
        "{what}: LogEntry members"
    );

    // The body and the IDs (§1.2, §2).
    let body_b64 = value["body"].as_str().expect("body is a string").to_owned();
    let body = STANDARD.decode(&body_b64).expect("body is standard base64");
    assert_eq!(
        String::from_utf8(body.clone()).expect("UTF-8 body"),
        case.body,
        "{what}: the canonical body of §2"
    );
    assert_eq!(STANDARD.encode(&body), body_b64, "{what}: padded base64");
    let mut prefixed = vec![0u8];
    prefixed.extend_from_slice(&body);
    let uuid = sha256_hex(&prefixed);
    assert_eq!(entry_id, log.entry_id(&uuid), "{what}: entry ID");
    assert!(
        entry_id.len() == 80
            && entry_id
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{what}: 80 lowercase hex"
    );
    let decoded: Value = serde_json::from_slice(&body).expect("body JSON");
    assert_eq!(decoded["kind"], case.kind, "{what}");
    assert_eq!(decoded["apiVersion"], case.api_version, "{what}");
    check_shape(case, &decoded["spec"]);

    // Log ID, time, SET (§3).
    assert_eq!(value["logID"], log.log_id.to_hex(), "{what}: logID");
    let integrated_time = value["integratedTime"].as_i64().expect("integratedTime");
    assert!(
        (now() - 600..=now() + 5).contains(&integrated_time),
        "{what}: integratedTime {integrated_time} is Unix seconds of about now"
    );
    let log_index = value["logIndex"].as_u64().expect("logIndex");
    let set_b64 = value["verification"]["signedEntryTimestamp"]
        .as_str()
        .expect("SET")
        .to_owned();
    let set = STANDARD.decode(&set_b64).expect("SET base64");
    assert!(
        verify_set(
            &log.spki_der,
            &body_b64,
            integrated_time,
            &log.log_id,
            log_index,
            &set
        ),
        "{what}: the SET verifies over the top-level logIndex"
    );

    // Inclusion proof and its checkpoint (§1.6, §4.1).
    let proof = &value["verification"]["inclusionProof"];
    assert_eq!(
        keys(proof),
        ["checkpoint", "hashes", "logIndex", "rootHash", "treeSize"],
        "{what}: inclusionProof members"
    );
    let tree_index = proof["logIndex"].as_u64().expect("proof logIndex");
    assert_eq!(
        tree_index, log_index,
        "{what}: one shard, so virtual = per-tree index"
    );
    let tree_size = proof["treeSize"].as_u64().expect("treeSize");
    let root = hash(proof["rootHash"].as_str().expect("rootHash"));
    let hashes: Vec<Hash> = proof["hashes"]
        .as_array()
        .expect("hashes")
        .iter()
        .map(|h| hash(h.as_str().expect("hex hash")))
        .collect();
    inclusion::verify(
        LeafIndex::new(tree_index),
        TreeSize::new(tree_size),
        &hash(&uuid),
        &hashes,
        &root,
    )
    .unwrap_or_else(|e| panic!("{what}: inclusion proof: {e}"));
    let note = proof["checkpoint"].as_str().expect("checkpoint");
    let checkpoint = open_checkpoint(note, &log.verifier)
        .unwrap_or_else(|e| panic!("{what}: checkpoint {note:?}: {e}"));
    assert_eq!(
        checkpoint.origin,
        format!("{HOST} - {}", log.tree_id),
        "{what}"
    );
    assert_eq!(
        (checkpoint.size, checkpoint.root),
        (TreeSize::new(tree_size), root),
        "{what}: the checkpoint is the proof's tree"
    );
    assert!(checkpoint.extensions.is_empty(), "{what}");
    let signatures = SignedNote::parse(note).expect("a signed note");
    let [line] = signatures.signatures() else {
        panic!("{what}: exactly one signature line in {note:?}");
    };
    assert_eq!(line.name, HOST, "{what}: key name");
    assert_eq!(line.key_id, log.log_id.0[..4], "{what}: key hint");

    Entry {
        entry_id,
        uuid,
        body: body_b64,
        integrated_time,
        log_index,
        set: set_b64,
    }
}

/// The shape of §2 per kind, beyond the exact bytes: what is dropped, kept
/// and sorted.
fn check_shape(case: &Case, spec: &Value) {
    let what = case.label;
    match (case.kind, case.api_version) {
        ("hashedrekord", _) => {
            assert_eq!(keys(spec), ["data", "signature"], "{what}");
            assert_eq!(keys(&spec["signature"]), ["content", "publicKey"], "{what}");
        }
        ("dsse", _) => {
            assert_eq!(
                keys(spec),
                ["envelopeHash", "payloadHash", "signatures"],
                "{what}: proposedContent dropped"
            );
            let sigs: Vec<&str> = spec["signatures"]
                .as_array()
                .expect("signatures")
                .iter()
                .map(|s| s["signature"].as_str().expect("signature"))
                .collect();
            assert!(sigs.len() > 1, "{what}: several signatures to sort");
            assert!(sigs.is_sorted(), "{what}: signatures sorted");
        }
        ("intoto", "0.0.2") => {
            let content = &spec["content"];
            assert_eq!(keys(content), ["envelope", "hash", "payloadHash"], "{what}");
            assert_eq!(
                keys(&content["envelope"]),
                ["payloadType", "signatures"],
                "{what}: payload dropped"
            );
        }
        ("intoto", _) => {
            assert_eq!(keys(spec), ["content", "publicKey"], "{what}");
            assert_eq!(
                keys(&spec["content"]),
                ["hash", "payloadHash"],
                "{what}: envelope dropped"
            );
        }
        other => panic!("no such case {other:?}"),
    }
}

/// POSTs a proposal and checks the 201 and its headers; returns the raw body.
async fn create(s: &Served<impl EngineStore>, case: &Case) -> Vec<u8> {
    let answer = s
        .post_json("/api/v1/log/entries", case.proposal.clone())
        .await;
    let status = answer.status();
    let headers = answer.headers().clone();
    let raw = answer.bytes().await.expect("create answer").to_vec();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}: {}",
        case.label,
        String::from_utf8_lossy(&raw)
    );
    let map: Map<String, Value> = serde_json::from_slice(&raw).expect("JSON map");
    let key = map.keys().next().expect("one member");
    assert_eq!(headers[CONTENT_TYPE], "application/json", "{}", case.label);
    assert_eq!(headers[ETAG], key.as_str(), "{}: ETag", case.label);
    let location = headers[LOCATION].to_str().expect("ASCII Location");
    assert_eq!(
        location,
        format!("/api/v1/log/entries/{key}"),
        "{}: Location",
        case.label
    );
    raw
}

/// `POST /api/v1/index/retrieve`, the entry IDs found as a set.
async fn search(s: &Served<impl EngineStore>, query: Value) -> BTreeSet<String> {
    let answer = s
        .post_json(
            "/api/v1/index/retrieve",
            serde_json::to_vec(&query).expect("JSON"),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::OK, "search {query}");
    let ids: Vec<String> =
        serde_json::from_slice(&answer.bytes().await.expect("search answer")).expect("ID array");
    let set: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(set.len(), ids.len(), "search {query}: no ID twice");
    set
}

fn ids<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> BTreeSet<String> {
    entries.into_iter().map(|e| e.entry_id.clone()).collect()
}

async fn get_ok(s: &Served<impl EngineStore>, path: &str) -> Vec<u8> {
    let answer = s.get(path).await;
    assert_eq!(answer.status(), StatusCode::OK, "GET {path}");
    answer.bytes().await.expect("read answer").to_vec()
}

/// The three reads of one entry: byte-identical, and the create's entry.
async fn reads_agree(s: &Served<impl EngineStore>, log: &LogKey, case: &Case, created: &Entry) {
    let by_index = get_ok(
        s,
        &format!("/api/v1/log/entries?logIndex={}", created.log_index),
    )
    .await;
    let by_uuid = get_ok(s, &format!("/api/v1/log/entries/{}", created.uuid)).await;
    let by_id = get_ok(s, &format!("/api/v1/log/entries/{}", created.entry_id)).await;
    assert_eq!(by_index, by_uuid, "{}: by index = by UUID", case.label);
    assert_eq!(by_index, by_id, "{}: by index = by entry ID", case.label);
    let read = check_entry(log, &by_id, case, "read");
    assert_eq!(
        &read, created,
        "{}: a read answers the create's body, time, index and SET",
        case.label
    );
}

/// sigstore-rs's client path: `parse_response`, `LogEntry::from_str` (which
/// denies unknown fields), then its inclusion and checkpoint check.
fn sigstore_rs_accepts(log: &LogKey, raw: &[u8], case: &Case, entry: &Entry) {
    let what = case.label;
    let raw = String::from_utf8(raw.to_vec()).expect("UTF-8 answer");
    let parsed = LogEntry::from_str(&entries_api::parse_response(raw))
        .unwrap_or_else(|e| panic!("{what}: sigstore-rs cannot parse the answer: {e}"));
    assert_eq!(
        parsed.uuid.as_deref(),
        Some(entry.entry_id.as_str()),
        "{what}"
    );
    let api_version = match (&parsed.body, case.kind) {
        (Body::hashedrekord(b), "hashedrekord") => &b.api_version,
        (Body::intoto(b), "intoto") => &b.api_version,
        (other, _) => panic!("{what}: sigstore-rs reads the body as {other:?}"),
    };
    assert_eq!(api_version, case.api_version, "{what}");
    let key =
        CosignVerificationKey::from_pem(log.pem.as_bytes(), &SigningScheme::ECDSA_P256_SHA256_ASN1)
            .expect("sigstore-rs reads the log key");
    parsed
        .verify_inclusion(&key)
        .unwrap_or_else(|e| panic!("{what}: sigstore-rs rejects the inclusion: {e}"));
}

async fn every_kind_over_http<S: EngineStore>(store: S) {
    let s = serve(store).await;
    let log = LogKey::fetch(&s).await;
    let key = Signer::generate();
    let cert_key = Signer::generate();
    let cert = email_certificate(&cert_key, EMAIL);
    let cases = [
        proposals::hashedrekord(
            "hashedrekord 0.0.1, public key",
            &key,
            &key.pem,
            b"artifact one",
        ),
        proposals::hashedrekord(
            "hashedrekord 0.0.1, certificate",
            &cert_key,
            &cert,
            b"artifact two",
        ),
        proposals::dsse(&statement("dsse"), &[(&cert_key, &cert), (&key, &key.pem)]),
        proposals::intoto_v002(&statement("intoto 0.0.2"), &key),
        proposals::intoto_v001(&statement("intoto 0.0.1"), &cert_key, &cert),
    ];

    let mut created = Vec::new();
    for case in &cases {
        let raw = create(&s, case).await;
        let entry = check_entry(&log, &raw, case, "create");
        if let Some((_, previous)) = created.last() {
            let previous: &Entry = previous;
            assert_eq!(entry.log_index, previous.log_index + 1, "{}", case.label);
        }
        // The index is written in the entry's own transaction: no waiting.
        for digest in &case.digests {
            assert_eq!(
                search(&s, json!({ "hash": digest })).await,
                ids([&entry]),
                "{}: search by {digest}",
                case.label
            );
        }
        created.push((raw, entry));
    }
    let entry = |i: usize| &created[i].1;

    for (case, (_, entry)) in cases.iter().zip(&created) {
        reads_agree(&s, &log, case, entry).await;
    }

    // Identity and key searches (§1.11, §2.6).
    let by_email = ids([entry(1), entry(2), entry(4)]);
    for email in [
        EMAIL,
        "alice.builder@example.com",
        "ALICE.BUILDER@EXAMPLE.COM",
    ] {
        assert_eq!(
            search(&s, json!({ "email": email })).await,
            by_email,
            "{email}"
        );
    }
    for (pem, expected) in [(&key.pem, entry(0)), (&cert, entry(1))] {
        let query = json!({"publicKey": {"format": "x509", "content": b64(pem)}});
        assert_eq!(
            search(&s, query).await,
            ids([expected]),
            "a publicKey search finds the hashedrekord entry only"
        );
    }
    for (pem, expected) in [
        (&key.pem, ids([entry(2), entry(3)])),
        (&cert, ids([entry(2), entry(4)])),
    ] {
        let query = json!({ "hash": format!("sha256:{}", sha256_hex(pem)) });
        assert_eq!(
            search(&s, query).await,
            expected,
            "dsse and intoto are found by their verifiers' fingerprints"
        );
    }
    let both = json!({"email": EMAIL, "hash": cases[2].digests[0], "operator": "and"});
    assert_eq!(search(&s, both).await, ids([entry(2)]));

    // sigstore-rs models every kind here but dsse.
    for (case, (raw, entry)) in cases.iter().zip(&created) {
        if case.kind != "dsse" {
            sigstore_rs_accepts(&log, raw, case, entry);
        }
    }

    // The same dsse proposal again: 409 naming the first entry (§1.7).
    let size = log_info(&s).await["treeSize"].clone();
    let dsse = entry(2);
    let answer = s
        .post_json("/api/v1/log/entries", cases[2].proposal.clone())
        .await;
    assert_eq!(answer.status(), StatusCode::CONFLICT);
    let headers = answer.headers().clone();
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    assert!(headers.get(ETAG).is_none(), "no ETag on a 409");
    let location = headers[LOCATION].to_str().expect("ASCII Location");
    assert_eq!(location, format!("/api/v1/log/entries/{}", dsse.entry_id));
    let body: Value =
        serde_json::from_slice(&answer.bytes().await.expect("409 body")).expect("error JSON");
    assert_eq!(
        body,
        json!({"code": 409, "message": format!(
            "an equivalent entry already exists in the transparency log with UUID {}",
            dsse.entry_id
        )})
    );
    let fetched = get_ok(&s, location).await;
    assert_eq!(
        check_entry(&log, &fetched, &cases[2], "after 409"),
        *dsse,
        "the Location names the existing entry"
    );
    assert_eq!(
        log_info(&s).await["treeSize"],
        size,
        "a duplicate appends nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_creates_and_serves_every_entry_kind() {
    let f = sqlite_store().await;
    every_kind_over_http(f.store.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_creates_and_serves_every_entry_kind() {
    let f = postgres_store().await;
    every_kind_over_http(f.store.clone()).await;
}
