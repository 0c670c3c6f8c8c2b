//! `sigstack bench ca`: certificates with embedded SCTs, obtained over HTTP
//! from the CA wired as `serve ca` wires it (CT log in process, on the same
//! store), with valid tokens from a local dev OIDC issuer. Every token, key
//! and proof of possession is made before timing starts. Also measures, in
//! the same run, the single-core P-384 signing rate: each certificate costs
//! two P-384 signatures (precertificate and certificate), so that rate over
//! two is the CA key's bound per core.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sigstack_ca::IssuerConfig;
use sigstack_ca::dev_issuer::{DevIssuer, TokenRequest};
use sigstack_ca::oidc::VerifierOptions;
use sigstack_core::certificate::{CertificateAuthority, new_hierarchy};
use sigstack_core::entry::pki::PublicKey;
use sigstack_core::note::EcdsaP256NoteSigner;
use sigstack_engine::EngineStore;
use sigstack_store::issuance::IssuanceStore;

use super::load::Load;
use super::stats::ms;
use crate::backend::with_store;
use crate::ca::{CaMaterials, CtPlacement, ca_router};
use crate::cli::CaBenchArgs;

pub async fn run(args: CaBenchArgs) -> anyhow::Result<()> {
    // Enough connections for intents, certificates and the CT sequencer at once.
    let connections = 32;
    with_store!(args.store, connections, |store| bench(store, &args).await)
}

async fn bench<S: EngineStore + IssuanceStore + Clone + 'static>(
    store: S,
    args: &CaBenchArgs,
) -> anyhow::Result<()> {
    let (p384_per_core, p384_verify_per_core) =
        tokio::task::spawn_blocking(p384_signatures_per_second).await??;

    // The dev issuer on its own listener, up before the CA fetches its keys.
    let issuer_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let issuer_url = format!("http://{}/oidc", issuer_listener.local_addr()?);
    let issuer = Arc::new(DevIssuer::from_pkcs8(
        &issuer_url,
        &DevIssuer::generate_pkcs8()?,
    )?);
    let issuer_app = axum::Router::new().nest("/oidc", issuer.clone().router());
    let issuer_task = tokio::spawn(async move { axum::serve(issuer_listener, issuer_app).await });

    // A CA hierarchy and CT key made for this run only: the benchmark
    // measures issuance, not key custody.
    let now = crate::data_dir::unix_now()?;
    let hierarchy = new_hierarchy("sigstack bench", now - 60, 1)?;
    let ca = CertificateAuthority::from_der(
        &hierarchy.intermediate.certificate_der,
        &hierarchy.intermediate.key_pkcs8_der,
    )?;
    let config = format!(
        r#"{{"OIDCIssuers": {{"{issuer_url}": {{"IssuerURL": "{issuer_url}", "ClientID": "sigstore", "Type": "email"}}}}}}"#
    );
    let materials = CaMaterials {
        ca,
        chain: vec![
            hierarchy.intermediate.certificate_der.clone(),
            hierarchy.root.certificate_der.clone(),
        ],
        issuers: Arc::new(IssuerConfig::parse(&config)?),
    };
    let ct = CtPlacement::InProcess {
        signer: Arc::new(EcdsaP256NoteSigner::generate("bench-ct.sigstack.invalid")?),
        origin: "bench-ct.sigstack.invalid".into(),
    };
    // Measured as `serve` runs it: the Prometheus recorder installed and
    // every request through the metrics and span layer.
    let metrics = crate::telemetry::install_metrics()?;
    let (router, stop) = ca_router(
        store,
        materials,
        ct,
        VerifierOptions::default(),
        sigstack_ca::api::REQUEST_TIMEOUT,
    )
    .await?
    .merged();
    let router = crate::serving::with_request_metrics(router, "ca");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let listener = crate::serving::no_delay(listener);
    let ca_task = tokio::spawn(async move { axum::serve(listener, router).await });

    let made = Instant::now();
    let bodies = tokio::task::spawn_blocking({
        let issuer = issuer.clone();
        let (count, csr) = (args.certificates, args.csr);
        move || requests(&issuer, count, csr)
    })
    .await??;
    eprintln!(
        "made {} tokens, keys and proofs in {:.1} s",
        bodies.len(),
        made.elapsed().as_secs_f64()
    );

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let url = format!("{base}/api/v2/signingCert");
    // One certificate first: the CA's issuer keys are warm before timing.
    let warm = Arc::new(requests(&issuer, 1, args.csr)?);
    let warm_up = Load {
        client: &client,
        url: &url,
        bodies: &warm,
        concurrency: 1,
        expect: 200,
    };
    let (_, warm_errors) = warm_up.run(None).await?;
    anyhow::ensure!(warm_errors == 0, "the warm-up certificate was refused");

    let bodies = Arc::new(bodies);
    let load = Load {
        client: &client,
        url: &url,
        bodies: &bodies,
        concurrency: args.concurrency,
        expect: 200,
    };
    let started = Instant::now();
    let (latencies, errors) = load.run(args.rate).await?;
    let elapsed = started.elapsed();
    let rate = latencies.count() as f64 / elapsed.as_secs_f64();
    println!(
        "certificates issued (200, embedded SCT): {} (errors: {errors})",
        latencies.count()
    );
    // The CA's own count, as Prometheus would scrape it (the warm-up one included).
    let counted = metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix("fulcio_new_certs ").map(str::to_owned))
        .unwrap_or_else(|| "absent".into());
    println!("fulcio_new_certs (warm-up included): {counted}");
    println!("elapsed_s: {:.3}", elapsed.as_secs_f64());
    println!("certificates_per_s: {rate:.0}");
    println!("latency_p50_ms: {}", ms(latencies.quantile(0.50)));
    println!("latency_p99_ms: {}", ms(latencies.quantile(0.99)));
    println!("p384_signatures_per_s_one_core: {p384_per_core:.0}");
    println!("p384_verifies_per_s_one_core: {p384_verify_per_core:.0}");
    println!(
        "ca_key_bound_per_core_certs_per_s: {:.0} (two P-384 signatures per certificate)",
        p384_per_core / 2.0
    );

    ca_task.abort();
    issuer_task.abort();
    stop.shutdown().await;
    Ok(())
}

/// `count` request bodies, each with its own key, token and proof: the
/// public-key form (sigstore-js, cosign) or, with `csr`, the CSR form
/// (sigstore-python) with the token in the body.
fn requests(issuer: &DevIssuer, count: usize, csr: bool) -> anyhow::Result<Vec<Vec<u8>>> {
    let rng = SystemRandom::new();
    let run: u64 = rand::random();
    (0..count)
        .map(|i| {
            let email = format!("bench-{run:x}-{i}@sigstack.invalid");
            let token = issuer.token(&TokenRequest::new(format!("bench-{i}")).email(&email))?;
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)?;
            let body = if csr {
                let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
                    &rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_ref().to_vec()),
                    &rcgen::PKCS_ECDSA_P256_SHA256,
                )?;
                let mut params = rcgen::CertificateParams::default();
                params.distinguished_name = rcgen::DistinguishedName::new();
                let pem = params.serialize_request(&key)?.pem()?;
                serde_json::json!({
                    "credentials": {"oidcIdentityToken": token},
                    "certificateSigningRequest": STANDARD.encode(pem),
                })
            } else {
                let pair =
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())?;
                let spki = pair.public_key().as_der()?.as_ref().to_vec();
                let proof = pair.sign(&rng, email.as_bytes())?;
                serde_json::json!({
                    "credentials": {"oidcIdentityToken": token},
                    "publicKeyRequest": {
                        "publicKey": {"algorithm": "ECDSA", "content": PublicKey::from_spki_der(&spki)?.canonical_pem()},
                        "proofOfPossession": STANDARD.encode(proof.as_ref()),
                    }
                })
            };
            Ok(serde_json::to_vec(&body)?)
        })
        .collect()
}

/// ECDSA P-384 SHA-384 signatures and verifications per second on this
/// thread, through aws-lc-rs as the CA signs and the CT log verifies.
fn p384_signatures_per_second() -> anyhow::Result<(f64, f64)> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, &rng)?;
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, pkcs8.as_ref())?;
    let message = [0x5a_u8; 600];
    let rounds = 3_000u32;
    let started = Instant::now();
    for _ in 0..rounds {
        key.sign(&rng, &message)?;
    }
    let signing = f64::from(rounds) / started.elapsed().as_secs_f64();
    // The CT log verifies the precertificate's P-384 signature too.
    let signature = key.sign(&rng, &message)?;
    let verifier = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1,
        key.public_key().as_ref().to_vec(),
    );
    let started = Instant::now();
    for _ in 0..rounds / 3 {
        verifier
            .verify(&message, signature.as_ref())
            .map_err(|_| anyhow::anyhow!("P-384 signature does not verify"))?;
    }
    let verifying = f64::from(rounds / 3) / started.elapsed().as_secs_f64();
    Ok((signing, verifying))
}
