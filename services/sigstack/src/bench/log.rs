//! `sigstack bench log`: real, validly signed hashedrekord entries (all made
//! before timing starts) sent to a running log over HTTP; each answer is a
//! 201 only after its entry is integrated. Also measures, in the same run,
//! the single-core rate of the per-entry crypto the log must do (one P-256
//! verify of the client's signature and one SET signature), so the result
//! reads as a fraction of that bound.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use sigstack_core::entry::pki::PublicKey;
use sigstack_core::note::{EcdsaP256NoteSigner, NoteSigner};

use super::load::Load;
use super::stats::ms;
use crate::cli::LogBenchArgs;

pub async fn run(args: LogBenchArgs) -> anyhow::Result<()> {
    let key = ClientKey::generate()?;
    let nonce: u64 = rand::random();
    let made = Instant::now();
    let proposals: Vec<Vec<u8>> = (0..args.entries)
        .map(|i| key.proposal(format!("sigstack bench log {nonce:016x} {i}").as_bytes()))
        .collect::<anyhow::Result<_>>()?;
    eprintln!(
        "signed {} entries in {:.1} s",
        proposals.len(),
        made.elapsed().as_secs_f64()
    );
    let bound = crypto_bound_per_core(&key)?;

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let url = format!("{}/api/v1/log/entries", args.url.trim_end_matches('/'));
    let proposals = Arc::new(proposals);
    let started = Instant::now();
    // A create is answered 201 only once its entry is integrated.
    let load = Load {
        client: &client,
        url: &url,
        bodies: &proposals,
        concurrency: args.concurrency,
        expect: 201,
    };
    let (latencies, errors) = load.run(args.rate).await?;
    let elapsed = started.elapsed();
    let rate = latencies.count() as f64 / elapsed.as_secs_f64();
    println!(
        "entries created (201): {} (errors: {errors})",
        latencies.count()
    );
    println!("elapsed_s: {:.3}", elapsed.as_secs_f64());
    println!("entries_per_s: {rate:.0}");
    println!("latency_p50_ms: {}", ms(latencies.quantile(0.50)));
    println!("latency_p99_ms: {}", ms(latencies.quantile(0.99)));
    println!("crypto_bound_per_core_per_s: {bound:.0} (one P-256 verify + one SET signature)");
    println!("fraction_of_one_core_bound: {:.2}", rate / bound);
    Ok(())
}

/// The benchmark's client: one P-256 key signing every artifact.
struct ClientKey {
    pair: EcdsaKeyPair,
    spki: Vec<u8>,
    pem_b64: String,
}

impl ClientKey {
    fn generate() -> anyhow::Result<Self> {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())?;
        let spki = pair.public_key().as_der()?.as_ref().to_vec();
        let pem = PublicKey::from_spki_der(&spki)?.canonical_pem();
        Ok(Self {
            pair,
            spki,
            pem_b64: STANDARD.encode(pem),
        })
    }

    fn sign(&self, artifact: &[u8]) -> anyhow::Result<Vec<u8>> {
        Ok(self
            .pair
            .sign(&SystemRandom::new(), artifact)?
            .as_ref()
            .to_vec())
    }

    fn proposal(&self, artifact: &[u8]) -> anyhow::Result<Vec<u8>> {
        let value = serde_json::json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(artifact))}},
                "signature": {"content": STANDARD.encode(self.sign(artifact)?), "publicKey": {"content": self.pem_b64}}
            }
        });
        Ok(serde_json::to_vec(&value)?)
    }
}

/// Entries per second one core can verify and seal: a P-256 verify of a
/// client signature plus a P-256 SET signature, both through aws-lc-rs as
/// the log does them.
fn crypto_bound_per_core(key: &ClientKey) -> anyhow::Result<f64> {
    let artifact = b"sigstack crypto bound";
    let client_signature = key.sign(artifact)?;
    let verifier =
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point_of(&key.spki)?);
    let log_key = EcdsaP256NoteSigner::generate("bench.sigstack.invalid")?;
    let payload = br#"{"body":"eyJhcGlWZXJzaW9uIjoiMC4wLjEifQ==","integratedTime":1767225600,"logID":"00","logIndex":1}"#;
    let rounds = 3_000u32;
    let started = Instant::now();
    for _ in 0..rounds {
        verifier
            .verify(artifact, &client_signature)
            .map_err(|_| anyhow::anyhow!("client signature does not verify"))?;
        log_key.sign(payload)?;
    }
    Ok(f64::from(rounds) / started.elapsed().as_secs_f64())
}

/// The uncompressed point of a P-256 SubjectPublicKeyInfo (its last 65 bytes).
fn point_of(spki: &[u8]) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(spki.len() > 65, "short SubjectPublicKeyInfo");
    Ok(spki[spki.len() - 65..].to_vec())
}
