//! A Rekor log served on 127.0.0.1:0 over a real store, and a client that
//! signs real hashedrekord entries.

#![allow(dead_code)]

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use sigstack_core::note::EcdsaP256NoteSigner;
use sigstack_engine::EngineStore;
use sigstack_rekor::{RekorConfig, RekorLog};

pub struct Served<S> {
    pub base: String,
    pub log: Arc<RekorLog<S>>,
    pub signer: Arc<EcdsaP256NoteSigner>,
    pub client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl<S> Drop for Served<S> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn serve<S: EngineStore>(store: S, body_limit: usize) -> Served<S> {
    let mut config = RekorConfig::new("127.0.0.1");
    config.body_limit = body_limit;
    serve_config(store, config).await
}

pub async fn serve_config<S: EngineStore>(store: S, mut config: RekorConfig) -> Served<S> {
    let body_limit = config.body_limit;
    let signer = Arc::new(EcdsaP256NoteSigner::generate("127.0.0.1").expect("log key"));
    config.engine.max_wait = std::time::Duration::from_millis(1);
    let log = Arc::new(
        RekorLog::open(store, config, signer.clone())
            .await
            .expect("open log"),
    );
    let router = sigstack_rekor::api::router(log.clone(), body_limit);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
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
    pub pem: String,
}

impl ClientKey {
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

    /// ECDSA over SHA-256 of `artifact`: a signature over its digest.
    pub fn sign(&self, artifact: &[u8]) -> Vec<u8> {
        self.pair
            .sign(&SystemRandom::new(), artifact)
            .expect("sign")
            .as_ref()
            .to_vec()
    }

    /// A proposed hashedrekord 0.0.1 for `artifact`.
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
