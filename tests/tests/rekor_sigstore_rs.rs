//! Entries created over HTTP on a running Rekor v1 log, verified from the
//! HTTP answers alone by sigstore-rs (the `sigstore` crate), code we did not
//! write (style.md practice 9), on both backends.
//!
//! The only trusted input is the PEM of `GET /api/v1/log/publicKey`. For
//! every hashedrekord entry, the raw answer of its create and of a read by
//! its UUID go through what sigstore-rs's client does with them
//! (`entries_api::parse_response`, then `LogEntry::from_str`, which denies
//! unknown fields), and sigstore-rs checks:
//! - the RFC 6962 inclusion of hash_leaf(JCS(body)) up to the proof's root,
//!   the proof's checkpoint signed by the published key, and that
//!   checkpoint's size and root equal to the proof's
//!   (`LogEntry::verify_inclusion`);
//! - the SET over `{body, integratedTime, logIndex, logID}`, with the key
//!   looked up by `logID` = SHA-256 of the published key's DER
//!   (`SignedArtifactBundle::new_verified`, as for a cosign bundle);
//! - the checkpoint's signature on its own
//!   (`SignedCheckpoint::verify_signature`).
//!
//! One more entry is created, and entries are read by UUID and by index,
//! through sigstore-rs's own client (`entries_api`, `tlog_api`,
//! `pubkey_api`). Then the log-info heads before and after the writes, and
//! every entry's checkpoint against the last head, are proven consistent
//! (`LogInfo::verify_consistency`, which also checks the new head's
//! signature). Tampered copies (SET, SET payload, proof hash, body,
//! checkpoint signature, consistency hash, old root, another log key) must be
//! rejected, so the oracle is shown able to fail.
//!
//! What sigstore-rs does not check, so this test does not prove (our own
//! checks in `services/sigstack-rekor/tests/api.rs` do): the checkpoint's
//! origin line, and the key name and key hash of its signature lines (it
//! tries the key on every signature line); the entry UUID against the body;
//! the top-level (virtual) `logIndex` against the proof's shard-local one
//! (only the SET binds the former); `integratedTime` against a clock; the
//! bundle's `base64Signature` and `cert` (`new_verified` does not read them).
//!
//! Hashedrekord only: sigstore-rs 0.15 has no `dsse` body kind
//! (`LogEntry::from_str` rejects one as an unknown variant). It does model
//! `intoto`, which can be added here later.

use std::collections::BTreeMap;
use std::str::FromStr as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use sigstack_e2e::rekor::{ClientKey, Served, serve};
use sigstack_engine::EngineStore;
use sigstack_testkit::{postgres_store, sqlite_store};
use sigstore::cosign::bundle::SignedArtifactBundle;
use sigstore::crypto::{CosignVerificationKey, SigningScheme};
use sigstore::errors::SigstoreError;
use sigstore::rekor::apis::configuration::Configuration;
use sigstore::rekor::apis::{entries_api, pubkey_api, tlog_api};
use sigstore::rekor::models::checkpoint::SignedCheckpoint;
use sigstore::rekor::models::hashedrekord::Spec;
use sigstore::rekor::models::log_entry::Body;
use sigstore::rekor::models::{
    ConsistencyProof, LogEntry, LogInfo, ProposedEntry, RekorConsistencyProof, RekorLogInfo,
};

/// Entries created with raw requests; one more goes through sigstore-rs's client.
const RAW_CREATES: u8 = 6;

/// A log key as sigstore-rs holds it, and the log ID it is looked up by.
#[derive(Clone)]
struct Oracle {
    key: CosignVerificationKey,
    log_id: String,
}

impl Oracle {
    /// From a PEM public key alone: the log ID is SHA-256 of its DER.
    fn from_pem(pem: &str) -> Self {
        let key =
            CosignVerificationKey::from_pem(pem.as_bytes(), &SigningScheme::ECDSA_P256_SHA256_ASN1)
                .expect("sigstore-rs reads the published key");
        let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(der).expect("PEM body is base64");
        let log_id = hex::encode(Sha256::digest(&der));
        Self { key, log_id }
    }

    fn keys(&self) -> BTreeMap<String, CosignVerificationKey> {
        BTreeMap::from([(self.log_id.clone(), self.key.clone())])
    }

    /// The SET check, the way cosign bundles are verified.
    fn verify_set(&self, bundle: &Value) -> Result<(), SigstoreError> {
        SignedArtifactBundle::new_verified(&bundle.to_string(), &self.keys()).map(|_| ())
    }
}

/// Another log's key, for checks that must fail.
fn another_log_key() -> Oracle {
    let signer = sigstack_core::note::EcdsaP256NoteSigner::generate("127.0.0.1").expect("key");
    let pem = sigstack_core::entry::pki::PublicKey::from_spki_der(signer.public_key_spki_der())
        .expect("spki")
        .canonical_pem();
    Oracle::from_pem(&pem)
}

fn flip_hex(h: &str) -> String {
    let mut bytes = hex::decode(h).expect("hex");
    bytes[0] ^= 1;
    hex::encode(bytes)
}

fn flip_base64(b: &str) -> String {
    let mut bytes = STANDARD.decode(b).expect("base64");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    STANDARD.encode(bytes)
}

fn hash32(h: &str) -> [u8; 32] {
    hex::decode(h)
        .expect("hex")
        .try_into()
        .expect("32-byte hash")
}

fn checkpoint(text: &str) -> SignedCheckpoint {
    serde_json::from_value(Value::String(text.to_owned()))
        .unwrap_or_else(|e| panic!("sigstore-rs cannot parse the checkpoint {text:?}: {e}"))
}

/// Parses a raw `{"<entry ID>": {...}}\n` answer as sigstore-rs's client does.
fn parse_entry(raw: &str) -> LogEntry {
    // parse_response slices at fixed offsets (an 80-character entry ID) and
    // panics on shorter input.
    assert!(raw.len() > 85, "a LogEntry answer, not {raw:?}");
    LogEntry::from_str(&entries_api::parse_response(raw.to_owned()))
        .unwrap_or_else(|e| panic!("sigstore-rs cannot parse the answer {raw}: {e}"))
}

/// A cosign bundle around the entry's SET: the payload is taken from the
/// raw answer (the body as the log sent it). The signature and cert are
/// required by the format but not checked by `new_verified`.
fn bundle(raw: &str, proposal: &Value, client_pem: &str) -> Value {
    let map: serde_json::Map<String, Value> = serde_json::from_str(raw).expect("JSON map");
    let (_, value) = map.into_iter().next().expect("one member");
    json!({
        "base64Signature": proposal["spec"]["signature"]["content"],
        "cert": STANDARD.encode(client_pem),
        "rekorBundle": {
            "SignedEntryTimestamp": value["verification"]["signedEntryTimestamp"],
            "Payload": {
                "body": value["body"],
                "integratedTime": value["integratedTime"],
                "logIndex": value["logIndex"],
                "logID": value["logID"],
            }
        }
    })
}

/// Every sigstore-rs check of one raw entry answer; returns the parsed
/// entry and its SET bundle.
fn verify_entry(o: &Oracle, raw: &str, proposal: &Value, client_pem: &str) -> (LogEntry, Value) {
    let entry = parse_entry(raw);
    let uuid = entry.uuid.clone().expect("parse_response names the UUID");
    let Body::hashedrekord(body) = &entry.body else {
        panic!("a hashedrekord body, not {:?}", entry.body);
    };
    assert_eq!(body.api_version, "0.0.1");
    let spec: Spec =
        serde_json::from_value(body.spec.clone()).expect("sigstore-rs's model reads the spec");
    assert_eq!(
        spec.data.hash.value, proposal["spec"]["data"]["hash"]["value"],
        "the body carries the proposed digest"
    );
    assert_eq!(
        spec.signature.content, proposal["spec"]["signature"]["content"],
        "the body carries the proposed signature"
    );
    assert_eq!(
        entry.log_i_d, o.log_id,
        "logID is SHA-256 of the published key"
    );

    entry
        .verify_inclusion(&o.key)
        .unwrap_or_else(|e| panic!("sigstore-rs rejects the inclusion of {uuid}: {e}"));
    let proof = entry
        .verification
        .inclusion_proof
        .as_ref()
        .expect("an inclusion proof");
    let signed = checkpoint(&proof.checkpoint);
    signed
        .verify_signature(&o.key)
        .unwrap_or_else(|e| panic!("sigstore-rs rejects the checkpoint of {uuid}: {e}"));
    assert_eq!(
        (signed.note.size, hex::encode(signed.note.hash)),
        (proof.tree_size, proof.root_hash.clone()),
        "the checkpoint names the proof's tree"
    );

    let set = bundle(raw, proposal, client_pem);
    o.verify_set(&set)
        .unwrap_or_else(|e| panic!("sigstore-rs rejects the SET of {uuid}: {e}"));
    (entry, set)
}

/// `GET /api/v1/log`, through sigstore-rs's types, its head's signature checked.
async fn log_info(s: &Served<impl EngineStore>, o: &Oracle) -> LogInfo {
    let answer = s.get("/api/v1/log").await;
    assert_eq!(answer.status(), StatusCode::OK);
    let raw = answer.text().await.expect("log info");
    let info: RekorLogInfo = serde_json::from_str(&raw)
        .unwrap_or_else(|e| panic!("sigstore-rs cannot parse the log info {raw}: {e}"));
    let info = LogInfo::try_from(info).expect("sigstore-rs converts the log info");
    info.signed_tree_head
        .verify_signature(&o.key)
        .expect("sigstore-rs verifies the signed tree head");
    info
}

/// `GET /api/v1/log/proof`, through sigstore-rs's types.
async fn consistency_proof(
    s: &Served<impl EngineStore>,
    first: u64,
    last: u64,
) -> ConsistencyProof {
    let answer = s
        .get(&format!(
            "/api/v1/log/proof?firstSize={first}&lastSize={last}"
        ))
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let raw = answer.text().await.expect("proof");
    let proof: RekorConsistencyProof = serde_json::from_str(&raw)
        .unwrap_or_else(|e| panic!("sigstore-rs cannot parse the proof {raw}: {e}"));
    ConsistencyProof::try_from(proof).expect("sigstore-rs converts the proof")
}

async fn create(s: &Served<impl EngineStore>, proposal: &Value) -> String {
    let answer = s
        .post_json(
            "/api/v1/log/entries",
            serde_json::to_vec(proposal).expect("json"),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::CREATED);
    answer.text().await.expect("create answer")
}

async fn read(s: &Served<impl EngineStore>, uuid: &str) -> String {
    let answer = s.get(&format!("/api/v1/log/entries/{uuid}")).await;
    assert_eq!(answer.status(), StatusCode::OK);
    answer.text().await.expect("read answer")
}

async fn sigstore_rs_verifies_the_log<S: EngineStore>(store: S) {
    let s = serve(store).await;
    let config = Configuration {
        base_path: s.base.clone(),
        ..Configuration::default()
    };

    // The log's key, from its answer only.
    let answer = s.get("/api/v1/log/publicKey").await;
    assert_eq!(answer.status(), StatusCode::OK);
    let pem = answer.text().await.expect("pem");
    assert_eq!(
        pubkey_api::get_public_key(&config, None)
            .await
            .expect("sigstore-rs's client reads the key"),
        pem
    );
    let o = Oracle::from_pem(&pem);
    let before = log_info(&s, &o).await;

    let client = ClientKey::generate();
    let mut created = Vec::new();
    for i in 0..RAW_CREATES {
        let proposal = client.hashedrekord(format!("artifact {i}").as_bytes());
        let raw = create(&s, &proposal).await;
        let (entry, set) = verify_entry(&o, &raw, &proposal, &client.pem);
        let uuid = entry.uuid.clone().expect("uuid");
        let (read_entry, read_set) =
            verify_entry(&o, &read(&s, &uuid).await, &proposal, &client.pem);
        assert_eq!(read_entry.uuid, entry.uuid);
        assert_eq!(
            read_set, set,
            "a read answers the body, time, index and SET of the create"
        );
        created.push((entry, set));
    }

    // One entry proposed, read by UUID and by index through sigstore-rs's client.
    let proposal = client.hashedrekord(b"created by sigstore-rs");
    let spec: Spec = serde_json::from_value(proposal["spec"].clone()).expect("sigstore-rs spec");
    let entry = entries_api::create_log_entry(
        &config,
        ProposedEntry::Hashedrekord {
            api_version: "0.0.1".into(),
            spec,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("sigstore-rs's client cannot create an entry: {e:?}"));
    entry
        .verify_inclusion(&o.key)
        .expect("sigstore-rs verifies the inclusion of its own create");
    let uuid = entry.uuid.clone().expect("uuid");
    let by_uuid = entries_api::get_log_entry_by_uuid(&config, &uuid)
        .await
        .unwrap_or_else(|e| panic!("sigstore-rs's client cannot read {uuid}: {e:?}"));
    let index = i32::try_from(entry.log_index).expect("small index");
    let by_index = entries_api::get_log_entry_by_index(&config, index)
        .await
        .unwrap_or_else(|e| panic!("sigstore-rs's client cannot read index {index}: {e:?}"));
    for found in [&by_uuid, &by_index] {
        assert_eq!(found.uuid, entry.uuid);
        assert_eq!(found.body, entry.body);
        found
            .verify_inclusion(&o.key)
            .expect("sigstore-rs verifies the inclusion of a read");
    }
    let (_, set) = verify_entry(&o, &read(&s, &uuid).await, &proposal, &client.pem);
    created.push((entry, set));

    // Append-only: the heads before and after, and every entry's checkpoint
    // against the last head.
    let after = log_info(&s, &o).await;
    assert_eq!(
        after.tree_size,
        before.tree_size + u64::from(RAW_CREATES) + 1,
        "one leaf per create"
    );
    assert_eq!(
        tlog_api::get_log_info(&config)
            .await
            .expect("sigstore-rs's client reads the log info"),
        after
    );
    let proof = consistency_proof(&s, before.tree_size, after.tree_size).await;
    after
        .verify_consistency(before.tree_size, &before.root_hash, &proof, &o.key)
        .expect("sigstore-rs verifies the heads consistent");
    assert_eq!(
        tlog_api::get_log_proof(
            &config,
            after.tree_size,
            Some(&before.tree_size.to_string()),
            None
        )
        .await
        .expect("sigstore-rs's client reads the proof"),
        proof
    );
    for (entry, _) in &created {
        let included = entry.verification.inclusion_proof.as_ref().expect("proof");
        let old_root = hash32(&included.root_hash);
        let p = consistency_proof(&s, included.tree_size, after.tree_size).await;
        after
            .verify_consistency(included.tree_size, &old_root, &p, &o.key)
            .unwrap_or_else(|e| {
                panic!(
                    "sigstore-rs rejects size {} against {}: {e}",
                    included.tree_size, after.tree_size
                )
            });
    }

    let (entry, set) = &created[0];
    rejects_tampering(&o, entry, set, &before, &after, &proof);
}

/// sigstore-rs refuses altered copies of answers it accepted.
fn rejects_tampering(
    o: &Oracle,
    entry: &LogEntry,
    set: &Value,
    before: &LogInfo,
    after: &LogInfo,
    proof: &ConsistencyProof,
) {
    let other = another_log_key();

    // The SET: its signature, each payload field, another key.
    let mut t = set.clone();
    let sig = t["rekorBundle"]["SignedEntryTimestamp"]
        .as_str()
        .expect("SET");
    t["rekorBundle"]["SignedEntryTimestamp"] = flip_base64(sig).into();
    assert!(o.verify_set(&t).is_err(), "a flipped SET byte");
    for field in ["integratedTime", "logIndex"] {
        let mut t = set.clone();
        let n = t["rekorBundle"]["Payload"][field].as_i64().expect(field);
        t["rekorBundle"]["Payload"][field] = (n + 1).into();
        assert!(o.verify_set(&t).is_err(), "a changed {field}");
    }
    let mut t = set.clone();
    let body = t["rekorBundle"]["Payload"]["body"].as_str().expect("body");
    t["rekorBundle"]["Payload"]["body"] = flip_base64(body).into();
    assert!(o.verify_set(&t).is_err(), "a changed body under the SET");
    let wrong_key = Oracle {
        key: other.key.clone(),
        log_id: o.log_id.clone(),
    };
    assert!(wrong_key.verify_set(set).is_err(), "another log's key");
    assert!(
        matches!(
            other.verify_set(set),
            Err(SigstoreError::RekorPublicKeyNotFoundError(_))
        ),
        "a logID naming no key we hold"
    );

    // The inclusion proof: a hash, the body, the checkpoint's signature, another key.
    let mut t = entry.clone();
    let included = t.verification.inclusion_proof.as_mut().expect("proof");
    assert!(
        !included.hashes.is_empty(),
        "the log's own entry 0 is a sibling"
    );
    included.hashes[0] = flip_hex(&included.hashes[0]);
    assert!(
        matches!(
            t.verify_inclusion(&o.key),
            Err(SigstoreError::InclusionProofError(_))
        ),
        "a flipped proof hash"
    );
    let mut t = entry.clone();
    let Body::hashedrekord(body) = &mut t.body else {
        panic!("hashedrekord");
    };
    let digest = body.spec["data"]["hash"]["value"]
        .as_str()
        .expect("digest")
        .to_owned();
    body.spec["data"]["hash"]["value"] = flip_hex(&digest).into();
    assert!(
        matches!(
            t.verify_inclusion(&o.key),
            Err(SigstoreError::InclusionProofError(_))
        ),
        "a changed body"
    );
    assert!(
        matches!(
            entry.verify_inclusion(&other.key),
            Err(SigstoreError::CheckpointSignatureVerificationError)
        ),
        "another log's key"
    );
    let included = entry.verification.inclusion_proof.as_ref().expect("proof");
    let mut signed = checkpoint(&included.checkpoint);
    assert!(
        signed.verify_signature(&other.key).is_err(),
        "another log's key on the checkpoint"
    );
    signed.signatures[0].raw[10] ^= 1;
    assert!(
        signed.verify_signature(&o.key).is_err(),
        "a flipped checkpoint signature byte"
    );

    // The consistency proof: a hash, the old root, another key.
    let mut t = proof.clone();
    t.hashes[0][0] ^= 1;
    assert!(
        after
            .verify_consistency(before.tree_size, &before.root_hash, &t, &o.key)
            .is_err(),
        "a flipped consistency hash"
    );
    let mut old_root = before.root_hash;
    old_root[0] ^= 1;
    assert!(
        after
            .verify_consistency(before.tree_size, &old_root, proof, &o.key)
            .is_err(),
        "another old root"
    );
    assert!(
        matches!(
            after.verify_consistency(before.tree_size, &before.root_hash, proof, &other.key),
            Err(SigstoreError::CheckpointSignatureVerificationError)
        ),
        "another log's key on the new head"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_answers_verify_with_sigstore_rs() {
    let f = sqlite_store().await;
    sigstore_rs_verifies_the_log(f.store.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_answers_verify_with_sigstore_rs() {
    let f = postgres_store().await;
    sigstore_rs_verifies_the_log(f.store.clone()).await;
}
