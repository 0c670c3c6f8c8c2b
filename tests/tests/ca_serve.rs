//! `sigstack serve` of a CA config as an operator runs it: keys from `sigstack keys
//! init`, a Fulcio-format issuer file naming an OIDC issuer served here, the
//! CT log in the same process. A certificate obtained over HTTP chains to
//! the files `keys init` wrote, and its precertificate is in the CT log
//! served on the same port. Bad starts give one line and a non-zero exit.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sigstack_ca::dev_issuer::TokenRequest;
use sigstack_e2e::ca::RequesterKey;
use sigstack_e2e::serve::{CA_CONFIG, Issuer, Served, keys_init, keys_init_with};
use sigstack_e2e::sigstack_bin;
use sigstack_e2e::up::free_port;

fn run(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(sigstack_bin())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run sigstack")
}

fn pem_blocks(text: &str) -> Vec<Vec<u8>> {
    text.split_inclusive("-----END CERTIFICATE-----")
        .filter(|b| b.contains("BEGIN CERTIFICATE"))
        .map(|b| {
            let body: String = b
                .lines()
                .filter(|l| !l.starts_with("-----") && !l.trim().is_empty())
                .collect();
            STANDARD.decode(body.trim()).expect("PEM body")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_ca_issues_with_keys_from_keys_init() {
    let dir = tempfile::tempdir().expect("temp dir");
    keys_init_with(dir.path(), &["--common-name", "Example Corp"]);

    // The organisation's issuer, served here, and the CA's config.
    let issuer = Issuer::start(dir.path()).await;
    let ca = Served::start(dir.path(), "ca.toml", CA_CONFIG).await;
    let check = run(&["check-config", "--files", "ca.toml"], dir.path());
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let base = ca.base.clone();

    let key = RequesterKey::new();
    let email = "dev@example.com";
    let token = issuer
        .issuer
        .token(&TokenRequest::new("dev-1").email(email))
        .expect("token");
    let (response, _) = ca.request_certificate(&token, &key, email.as_bytes()).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    let chain: Vec<Vec<u8>> = body["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .expect("chain")
        .iter()
        .flat_map(|c| pem_blocks(c.as_str().expect("PEM")))
        .collect();
    let files = pem_blocks(
        &std::fs::read_to_string(dir.path().join("keys/ca-chain.pem")).expect("chain file"),
    );
    assert_eq!(&chain[1..], &files[..], "the chain keys init wrote");

    // OpenSSL verifies the leaf to the root file.
    std::fs::write(
        dir.path().join("leaf.pem"),
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            STANDARD.encode(&chain[0])
        ),
    )
    .expect("leaf");
    let verify = Command::new("openssl")
        .args([
            "verify",
            "-purpose",
            "any",
            "-CAfile",
            "keys/ca-root.pem",
            "-untrusted",
            "keys/ca-intermediate.pem",
            "leaf.pem",
        ])
        .current_dir(dir.path())
        .output()
        .expect("openssl");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    // The CT log answers on the same port, with the precertificate logged.
    let sth = ca.get_json(&format!("{base}/ct/v1/get-sth")).await;
    assert_eq!(sth["tree_size"], 2, "genesis and one precertificate");

    // gRPC on the same port (h2c): health, then a certificate.
    let channel = tonic::transport::Endpoint::from_shared(base.clone())
        .expect("endpoint")
        .connect()
        .await
        .expect("gRPC connect");
    let health = tonic_health::pb::health_client::HealthClient::new(channel.clone())
        .check(tonic_health::pb::HealthCheckRequest {
            service: "dev.sigstore.fulcio.v2.CA".into(),
        })
        .await
        .expect("health check")
        .into_inner();
    assert_eq!(
        health.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    use sigstack_ca::grpc::proto::{
        CreateSigningCertificateRequest, Credentials, ca_client::CaClient,
        create_signing_certificate_request::Key, credentials, signing_certificate,
    };
    let token = issuer
        .issuer
        .token(&TokenRequest::new("dev-2").email(email))
        .expect("token");
    let answer = CaClient::new(channel)
        .create_signing_certificate(CreateSigningCertificateRequest {
            credentials: Some(Credentials {
                credentials: Some(credentials::Credentials::OidcIdentityToken(token)),
            }),
            key: Some(Key::CertificateSigningRequest(key.csr_pem().into_bytes())),
        })
        .await
        .expect("gRPC CreateSigningCertificate")
        .into_inner();
    let Some(signing_certificate::Certificate::SignedCertificateEmbeddedSct(embedded)) =
        answer.certificate
    else {
        panic!("no embedded-SCT certificate");
    };
    assert_eq!(embedded.chain.expect("chain").certificates.len(), 3);
}

/// A config for `bad_starts_name_the_problem`, with `key` as its `[ca.key]`.
fn bad_start_config(dir: &Path, key: &str) -> std::process::Output {
    std::fs::write(
        dir.join("ca.toml"),
        format!(
            "service = \"ca\"\n[server]\nlisten = \"127.0.0.1:{}\"\n[database]\nbackend = \"sqlite\"\nurl = \"ca.db\"\n\
             [ca]\nchain_file = \"chain.pem\"\nissuer_config = \"issuers.json\"\n[ca.key]\n{key}\n\
             [ca.ct]\nmode = \"remote\"\nurl = \"http://127.0.0.1:9/\"\n",
            free_port()
        ),
    )
    .expect("config");
    run(&["serve", "--config", "ca.toml"], dir)
}

#[test]
fn bad_starts_name_the_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("password"), "pw\n").expect("password");
    std::fs::write(dir.path().join("issuers.json"), "{\"OIDCIssuers\": {}}").expect("issuers");
    std::fs::write(dir.path().join("key.pem"), "not a key").expect("key");
    // No key backend named at all.
    let out = bad_start_config(dir.path(), "");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ca.key"), "{stderr}");
    // The ephemeral backend with a chain file (it makes its own).
    std::fs::write(dir.path().join("chain.pem"), "").expect("chain");
    let out = bad_start_config(dir.path(), "backend = \"ephemeral\"");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ca.chain_file"), "{stderr}");
    // A key file that is not one.
    let out = bad_start_config(
        dir.path(),
        "backend = \"file\"\nkey_file = \"key.pem\"\npassword_file = \"password\"",
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("key.pem"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// The split topology of the Kubernetes example: `serve` of a CT log, and a
/// CA whose `[ca.ct]` is `remote`, checking each SCT with the public key
/// `keys init` wrote next to the CT key. A certificate comes back with its
/// SCT, and the precertificate is in that CT log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_with_a_remote_ct_log_checks_scts_with_the_published_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    keys_init(dir.path());
    for public in ["keys/ctlog.pub.pem", "keys/rekor.pub.pem"] {
        let text = std::fs::read_to_string(dir.path().join(public)).expect("public key");
        assert!(text.starts_with("-----BEGIN PUBLIC KEY-----"), "{public}");
    }
    let issuer = Issuer::start(dir.path()).await;
    let ct = Served::start(
        dir.path(),
        "ct.toml",
        "service = \"ct\"\n[database]\nbackend = \"sqlite\"\nurl = \"ct.db\"\n[ct]\n\
         key_file = \"keys/ctlog.key.pem\"\npassword_file = \"password\"\n\
         roots_file = \"keys/ca-chain.pem\"\norigin = \"ct.example.test\"\n",
    )
    .await;
    let ca = Served::start(
        dir.path(),
        "ca.toml",
        &format!(
            "service = \"ca\"\n[database]\nbackend = \"sqlite\"\nurl = \"ca.db\"\n[ca]\n\
             chain_file = \"keys/ca-chain.pem\"\nissuer_config = \"issuers.yaml\"\n[ca.key]\n\
             backend = \"file\"\nkey_file = \"keys/ca-intermediate.key.pem\"\npassword_file = \"password\"\n\
             [ca.ct]\nmode = \"remote\"\nurl = \"{}\"\npublic_key_file = \"keys/ctlog.pub.pem\"\n",
            ct.base
        ),
    )
    .await;
    let key = RequesterKey::new();
    let email = "dev@example.com";
    let token = issuer
        .issuer
        .token(&TokenRequest::new("split").email(email))
        .expect("token");
    let (response, _) = ca.request_certificate(&token, &key, email.as_bytes()).await;
    assert_eq!(response.status(), 200);
    let sth = ct.get_json(&format!("{}/ct/v1/get-sth", ct.base)).await;
    assert_eq!(sth["tree_size"], 2, "genesis and the precertificate");
    let metrics = ct.metrics().await;
    assert_eq!(
        metrics.value("sigstack_ct_scts_issued_total", &[("log", "ct")]),
        1.0
    );
    assert_eq!(
        ca.metrics().await.value(
            "sigstack_ca_certificates_issued_total",
            &[("issuer", issuer.url())]
        ),
        1.0
    );
}
