//! The RFC 6962 v1 API over HTTP on both backends, verified from the answers
//! alone: SCT and STH signatures are checked over inputs rebuilt here by
//! hand (`spec/ca.md` §10.1), proofs with `sigstack_core`'s verifiers, and
//! the precert TBS against an independently issued final certificate.

use std::sync::Arc;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair,
    SerialNumber,
};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use sigstack_core::hash::{Hash, leaf_hash};
use sigstack_core::ids::{LeafIndex, TreeSize};
use sigstack_core::note::EcdsaP256NoteSigner;
use sigstack_core::{consistency, inclusion};
use sigstack_ctlog::{CtConfig, CtLog, api};
use sigstack_engine::EngineStore;
use x509_cert::der::{Decode as _, Encode as _};

const POISON_OID: [u64; 9] = [1, 3, 6, 1, 4, 1, 11129, 2, 4];

struct Pki {
    root: Vec<u8>,
    intermediate: Vec<u8>,
    intermediate_spki: Vec<u8>,
    intermediate_issuer: Issuer<'static, KeyPair>,
    leaf_params: CertificateParams,
    leaf_key: KeyPair,
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params
}

fn poison() -> CustomExtension {
    let mut oid = POISON_OID.to_vec();
    oid.push(3);
    let mut ext = CustomExtension::from_oid_content(&oid, vec![0x05, 0x00]);
    ext.set_criticality(true);
    ext
}

impl Pki {
    fn new(root_name: &str) -> Self {
        let root_key = KeyPair::generate().expect("root key");
        let root_params = ca_params(root_name);
        let root = root_params.self_signed(&root_key).expect("root");
        let root_issuer = Issuer::new(root_params, root_key);
        let inter_key = KeyPair::generate().expect("intermediate key");
        let inter_params = ca_params("sigstack test intermediate");
        let intermediate = inter_params
            .signed_by(&inter_key, &root_issuer)
            .expect("intermediate");
        let intermediate_spki = x509_cert::Certificate::from_der(intermediate.der())
            .expect("intermediate parses")
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .expect("SPKI DER");
        let mut leaf_params =
            CertificateParams::new(vec!["signer.example".to_owned()]).expect("params");
        leaf_params.serial_number = Some(SerialNumber::from(vec![0x01, 0x23, 0x45]));
        Pki {
            root: root.der().to_vec(),
            intermediate: intermediate.der().to_vec(),
            intermediate_spki,
            intermediate_issuer: Issuer::new(inter_params, inter_key),
            leaf_params,
            leaf_key: KeyPair::generate().expect("leaf key"),
        }
    }

    fn final_certificate(&self) -> Vec<u8> {
        self.leaf_params
            .signed_by(&self.leaf_key, &self.intermediate_issuer)
            .expect("final")
            .der()
            .to_vec()
    }

    fn precertificate(&self) -> Vec<u8> {
        let mut params = self.leaf_params.clone();
        params.custom_extensions.push(poison());
        params
            .signed_by(&self.leaf_key, &self.intermediate_issuer)
            .expect("precert")
            .der()
            .to_vec()
    }
}

struct Served {
    base: String,
    spki: Vec<u8>,
    client: reqwest::Client,
}

async fn serve<S: EngineStore + Send + Sync>(store: S, roots: Vec<Vec<u8>>) -> Served {
    let signer = Arc::new(EcdsaP256NoteSigner::generate("ct.example").expect("CT key"));
    let spki = signer.public_key_spki_der().to_vec();
    let log = CtLog::open(store, CtConfig::new("ct.example/test", roots), signer)
        .await
        .expect("open the CT log");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let app = api::router(Arc::new(log));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Served {
        base,
        spki,
        client: reqwest::Client::new(),
    }
}

impl Served {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/ct/v1/{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON answer"))
    }

    async fn get(&self, path_and_query: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}/ct/v1/{path_and_query}", self.base))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON answer"))
    }

    fn verify(&self, message: &[u8], digitally_signed: &[u8]) {
        assert_eq!(&digitally_signed[..2], &[4, 3], "SHA-256 with ECDSA");
        let len = usize::from(u16::from_be_bytes([
            digitally_signed[2],
            digitally_signed[3],
        ]));
        assert_eq!(digitally_signed.len(), 4 + len);
        let point = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(&self.spki)
            .expect("CT SPKI")
            .subject_public_key
            .raw_bytes()
            .to_vec();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
            .verify(message, &digitally_signed[4..])
            .expect("signature verifies with the CT key");
    }

    async fn sth(&self) -> (u64, Hash) {
        let (status, sth) = self.get("get-sth").await;
        assert_eq!(status, 200, "{sth}");
        let size = sth["tree_size"].as_u64().expect("tree_size");
        let timestamp = sth["timestamp"].as_u64().expect("timestamp");
        let root = b64(&sth["sha256_root_hash"]);
        let mut input = vec![0u8, 1];
        input.extend_from_slice(&timestamp.to_be_bytes());
        input.extend_from_slice(&size.to_be_bytes());
        input.extend_from_slice(&root);
        self.verify(&input, &b64(&sth["tree_head_signature"]));
        (size, Hash::from_slice(&root).expect("32-byte root"))
    }
}

fn b64(value: &Value) -> Vec<u8> {
    STANDARD
        .decode(value.as_str().expect("base64 string"))
        .expect("base64")
}

/// A JSON array of base64 hashes (an audit path or consistency proof).
fn hashes(value: &Value) -> Vec<Hash> {
    value
        .as_array()
        .expect("array of hashes")
        .iter()
        .map(|h| Hash::from_slice(&b64(h)).expect("32 bytes"))
        .collect()
}

fn chain(certs: &[&[u8]]) -> Value {
    json!({ "chain": certs.iter().map(|c| STANDARD.encode(c)).collect::<Vec<_>>() })
}

fn u24(len: usize) -> [u8; 3] {
    let bytes = u32::try_from(len).expect("small").to_be_bytes();
    [bytes[1], bytes[2], bytes[3]]
}

/// Checks an SCT answer; returns its timestamp and the signed entry
/// (`entry_type | signed_entry`) it was verified over.
fn check_sct(served: &Served, sct: &Value, typed_entry: &[u8]) -> u64 {
    assert_eq!(sct["sct_version"], 0);
    assert_eq!(b64(&sct["id"]), Sha256::digest(&served.spki).to_vec());
    assert_eq!(sct["extensions"], "");
    let timestamp = sct["timestamp"].as_u64().expect("timestamp");
    let mut input = vec![0u8, 0];
    input.extend_from_slice(&timestamp.to_be_bytes());
    input.extend_from_slice(typed_entry);
    input.extend_from_slice(&[0, 0]);
    served.verify(&input, &b64(&sct["signature"]));
    timestamp
}

fn merkle_tree_leaf(timestamp: u64, typed_entry: &[u8]) -> Vec<u8> {
    let mut leaf = vec![0u8, 0];
    leaf.extend_from_slice(&timestamp.to_be_bytes());
    leaf.extend_from_slice(typed_entry);
    leaf.extend_from_slice(&[0, 0]);
    leaf
}

async fn ct_log_round_trip<S: EngineStore + Send + Sync>(store: S) {
    let pki = Pki::new("sigstack test root");
    let served = serve(store, vec![pki.root.clone()]).await;
    let (size0, _) = served.sth().await;
    assert_eq!(size0, 1, "genesis entry only");

    // add-pre-chain with the full chain, root included (ca.md §9.3).
    let precert = pki.precertificate();
    let (status, sct) = served
        .post(
            "add-pre-chain",
            chain(&[&precert, &pki.intermediate, &pki.root]),
        )
        .await;
    assert_eq!(status, 200, "{sct}");
    // The TBS the log signs equals the final certificate's, issued independently.
    let final_cert = x509_cert::Certificate::from_der(&pki.final_certificate()).expect("final");
    let tbs = final_cert.tbs_certificate().to_der().expect("TBS");
    let mut precert_entry = vec![0u8, 1];
    precert_entry.extend_from_slice(&Sha256::digest(&pki.intermediate_spki));
    precert_entry.extend_from_slice(&u24(tbs.len()));
    precert_entry.extend_from_slice(&tbs);
    let precert_time = check_sct(&served, &sct, &precert_entry);

    let (size1, root1) = served.sth().await;
    assert_eq!(size1, 2);
    let precert_leaf = merkle_tree_leaf(precert_time, &precert_entry);
    let precert_hash = leaf_hash(&precert_leaf);
    let (status, proof) = served
        .get(&format!(
            "get-proof-by-hash?hash={}&tree_size={size1}",
            urlencode(&precert_hash.to_base64())
        ))
        .await;
    assert_eq!(status, 200, "{proof}");
    let index = proof["leaf_index"].as_u64().expect("leaf_index");
    assert_eq!(index, 1);
    let path = hashes(&proof["audit_path"]);
    inclusion::verify(
        LeafIndex::new(index),
        TreeSize::new(size1),
        &precert_hash,
        &path,
        &root1,
    )
    .expect("inclusion proof verifies against the STH");

    // add-chain with the root omitted.
    let certificate = pki.final_certificate();
    let (status, sct) = served
        .post("add-chain", chain(&[&certificate, &pki.intermediate]))
        .await;
    assert_eq!(status, 200, "{sct}");
    let mut x509_entry = vec![0u8, 0];
    x509_entry.extend_from_slice(&u24(certificate.len()));
    x509_entry.extend_from_slice(&certificate);
    let x509_time = check_sct(&served, &sct, &x509_entry);

    let (size2, root2) = served.sth().await;
    assert_eq!(size2, 3);
    let (status, answer) = served
        .get(&format!("get-sth-consistency?first={size1}&second={size2}"))
        .await;
    assert_eq!(status, 200, "{answer}");
    let proof = hashes(&answer["consistency"]);
    consistency::verify(
        TreeSize::new(size1),
        TreeSize::new(size2),
        &proof,
        &root1,
        &root2,
    )
    .expect("consistency proof verifies");

    let (status, entries) = served.get("get-entries?start=1&end=100").await;
    assert_eq!(status, 200, "{entries}");
    let entries = entries["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    assert_eq!(b64(&entries[0]["leaf_input"]), precert_leaf);
    assert_eq!(
        b64(&entries[1]["leaf_input"]),
        merkle_tree_leaf(x509_time, &x509_entry)
    );
    // extra_data (RFC 6962 §4.6), built here by hand: PrecertChainEntry
    // (the precertificate, then the chain to the root), X509ChainEntry (the
    // chain, the omitted root completed by the log).
    let opaque = |bytes: &[u8]| [&u24(bytes.len())[..], bytes].concat();
    let issuers = [opaque(&pki.intermediate), opaque(&pki.root)].concat();
    assert_eq!(
        b64(&entries[0]["extra_data"]),
        [opaque(&precert), opaque(&issuers)].concat()
    );
    assert_eq!(b64(&entries[1]["extra_data"]), opaque(&issuers));

    let (status, roots) = served.get("get-roots").await;
    assert_eq!(status, 200);
    assert_eq!(roots["certificates"], json!([STANDARD.encode(&pki.root)]));
}

async fn bad_chains_are_refused<S: EngineStore + Send + Sync>(store: S) {
    let pki = Pki::new("sigstack test root");
    let stranger = Pki::new("some other root");
    let served = serve(store, vec![pki.root.clone()]).await;
    let (before, _) = served.sth().await;

    // A precertificate whose signature is not the intermediate's.
    let impostor_key = KeyPair::generate().expect("key");
    let impostor = Issuer::new(ca_params("sigstack test intermediate"), impostor_key);
    let mut params = pki.leaf_params.clone();
    params.custom_extensions.push(poison());
    let forged = params
        .signed_by(&pki.leaf_key, &impostor)
        .expect("forged")
        .der()
        .to_vec();

    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "add-pre-chain",
            chain(&[
                &stranger.precertificate(),
                &stranger.intermediate,
                &stranger.root,
            ]),
            "trusted root",
        ),
        (
            "add-pre-chain",
            chain(&[&stranger.precertificate(), &stranger.intermediate]),
            "trusted root",
        ),
        (
            "add-pre-chain",
            chain(&[&pki.final_certificate(), &pki.intermediate]),
            "poison",
        ),
        (
            "add-pre-chain",
            chain(&[&forged, &pki.intermediate]),
            "does not verify",
        ),
        (
            "add-chain",
            chain(&[&pki.precertificate(), &pki.intermediate]),
            "precertificate cannot",
        ),
        (
            "add-chain",
            json!({ "chain": ["not base64!"] }),
            "not base64",
        ),
        ("add-chain", json!({ "chain": [] }), "empty chain"),
        ("add-chain", json!({ "nope": 1 }), "malformed request body"),
        (
            "add-chain",
            json!({ "chain": [STANDARD.encode(b"junk")] }),
            "cannot be parsed",
        ),
    ];
    for (path, body, why) in cases {
        let (status, answer) = served.post(path, body.clone()).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
        assert_eq!(answer["code"], 400, "{answer}");
        let message = answer["message"].as_str().expect("message");
        assert!(message.contains(why), "{path}: {message} lacks {why:?}");
    }
    let huge = vec![b'a'; 5 * 1024 * 1024];
    let response = served
        .client
        .post(format!("{}/ct/v1/add-chain", served.base))
        .body(huge)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 413);
    let answer: Value = response.json().await.expect("JSON answer");
    assert_eq!(answer["code"], 413);

    let (after, _) = served.sth().await;
    assert_eq!(after, before, "no refused chain grew the tree");

    for query in [
        "get-entries?start=5&end=1",
        "get-entries?start=99&end=100",
        "get-entries?start=x&end=1",
        "get-sth-consistency?first=0&second=1",
        "get-sth-consistency?first=1&second=99",
        "get-proof-by-hash?hash=AAAA&tree_size=1",
    ] {
        let (status, answer) = served.get(query).await;
        assert_eq!(status, 400, "{query}: {answer}");
        assert_eq!(answer["code"], 400);
    }
    let missing = urlencode(&Hash([7; 32]).to_base64());
    let (status, answer) = served
        .get(&format!("get-proof-by-hash?hash={missing}&tree_size=1"))
        .await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["code"], 404);
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

#[tokio::test]
async fn round_trip_sqlite() {
    let fixture = sigstack_testkit::sqlite_store().await;
    ct_log_round_trip(fixture.store.clone()).await;
}

#[tokio::test]
async fn round_trip_postgres() {
    let fixture = sigstack_testkit::postgres_store().await;
    ct_log_round_trip(fixture.store.clone()).await;
}

#[tokio::test]
async fn bad_chains_sqlite() {
    let fixture = sigstack_testkit::sqlite_store().await;
    bad_chains_are_refused(fixture.store.clone()).await;
}

#[tokio::test]
async fn bad_chains_postgres() {
    let fixture = sigstack_testkit::postgres_store().await;
    bad_chains_are_refused(fixture.store.clone()).await;
}
