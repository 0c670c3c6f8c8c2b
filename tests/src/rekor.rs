//! A Rekor v1 log served on 127.0.0.1:0 over a real store, and a client key
//! that signs real hashedrekord proposals, for tests that speak HTTP to it.
//!
//! The same shape as `services/sigstack-rekor/tests/common/mod.rs`, built
//! from the crate's public API only (`RekorLog`, `api::router`).

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use sigstack_core::note::EcdsaP256NoteSigner;
use sigstack_engine::EngineStore;
use sigstack_rekor::{RekorConfig, RekorLog};

/// Request body limit of a served log.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A log answering on `base` until dropped.
pub struct Served<S> {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub base: String,
    pub log: Arc<RekorLog<S>>,
    pub signer: Arc<EcdsaP256NoteSigner>,
    pub client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl<S> std::fmt::Debug for Served<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl<S> Drop for Served<S> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<S> Served<S> {
    /// GET `path`; panics if the request cannot be sent.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET")
    }

    /// POST a JSON `body` to `path`; panics if the request cannot be sent.
    pub async fn post_json(&self, path: &str, body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST")
    }
}

/// Opens a log named `127.0.0.1` over `store` with a fresh ECDSA P-256 key
/// and serves its v1 API on a loopback port.
///
/// # Panics
/// When the key, the log or the listener cannot be made.
pub async fn serve<S: EngineStore>(store: S) -> Served<S> {
    let mut config = RekorConfig::new("127.0.0.1");
    config.body_limit = BODY_LIMIT;
    serve_config(store, config).await
}

/// As [`serve`], with request bodies limited to `limit` bytes.
///
/// # Panics
/// As [`serve`].
pub async fn serve_with_limit<S: EngineStore>(store: S, limit: usize) -> Served<S> {
    let mut config = RekorConfig::new("127.0.0.1");
    config.body_limit = limit;
    serve_config(store, config).await
}

/// As [`serve`], with the log configured by `config` (its hostname must
/// stay `127.0.0.1`, the key's name).
///
/// # Panics
/// As [`serve`].
pub async fn serve_config<S: EngineStore>(store: S, mut config: RekorConfig) -> Served<S> {
    let signer = Arc::new(EcdsaP256NoteSigner::generate("127.0.0.1").expect("log key"));
    let body_limit = config.body_limit;
    config.engine.max_wait = Duration::from_millis(1);
    let log = Arc::new(
        RekorLog::open(store, config, Arc::clone(&signer))
            .await
            .expect("open log"),
    );
    let router = sigstack_rekor::api::router(Arc::clone(&log), body_limit);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client");
    Served {
        base,
        log,
        signer,
        client,
        task,
    }
}

/// A client key that signs artifacts as cosign and sigstore-python do.
pub struct ClientKey {
    pair: EcdsaKeyPair,
    /// The public key as canonical PEM (SubjectPublicKeyInfo).
    pub pem: String,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("pem", &self.pem)
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// A fresh ECDSA P-256 key.
    ///
    /// # Panics
    /// If aws-lc cannot generate or encode it.
    pub fn generate() -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .expect("generate client key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
            .expect("load key");
        let der = pair.public_key().as_der().expect("spki der");
        let pem = sigstack_core::entry::pki::PublicKey::from_spki_der(der.as_ref())
            .expect("spki")
            .canonical_pem();
        Self { pair, pem }
    }

    /// ECDSA over SHA-256 of `artifact` (DER signature).
    ///
    /// # Panics
    /// If aws-lc fails to sign.
    pub fn sign(&self, artifact: &[u8]) -> Vec<u8> {
        self.pair
            .sign(&SystemRandom::new(), artifact)
            .expect("sign")
            .as_ref()
            .to_vec()
    }

    /// A proposed hashedrekord 0.0.1 for `artifact`, signed now (ECDSA
    /// signatures are randomised: keep the value to resubmit it).
    pub fn hashedrekord(&self, artifact: &[u8]) -> serde_json::Value {
        serde_json::json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(artifact))}},
                "signature": {
                    "content": STANDARD.encode(self.sign(artifact)),
                    "publicKey": {"content": STANDARD.encode(self.pem.as_bytes())}
                }
            }
        })
    }
}
