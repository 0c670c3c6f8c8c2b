//! sigstore-python 4.5 (from PyPI, code we did not write) against `sigstack
//! up`: its `TrustedRoot`, `SigningConfig` and `ClientTrustConfig` load the
//! exported files and yield the stack's own keys and URLs; its CLI signs
//! with a `sigstack token` and verifies with identity and issuer pinned,
//! refuses a tampered artifact and a wrong identity or issuer; and a bundle
//! made before SIGKILL still verifies after the restart.
//!
//! The Python comes from `SIGSTACK_TEST_SIGSTORE_PYTHON` (`scripts/test`
//! makes the venv); without it the test fails, naming the variable.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use sigstack_e2e::ca::check::pem_to_der;
use sigstack_e2e::up::{Up, free_port, token};

fn python() -> PathBuf {
    let python = std::env::var("SIGSTACK_TEST_SIGSTORE_PYTHON").unwrap_or_else(|_| {
        panic!(
            "SIGSTACK_TEST_SIGSTORE_PYTHON is not set: it names a Python with sigstore 4.5 \
             (python3 -m venv v && v/bin/pip install 'sigstore==4.5.*'); scripts/test makes one"
        )
    });
    let python = PathBuf::from(python);
    let check = Command::new(&python)
        .args(["-c", "import sigstore"])
        .status()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    assert!(
        check.success(),
        "{} cannot import sigstore",
        python.display()
    );
    python
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/sigstore_python_trust.py")
}

/// `python -m sigstore --trust-config FILE ARGS`, with the token in the
/// environment variable sigstore-python reads.
fn sigstore_cli(python: &Path, trust_config: &Path, token: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(python);
    command
        .args(["-m", "sigstore", "--trust-config"])
        .arg(trust_config)
        .args(args);
    if let Some(token) = token {
        command.env("SIGSTORE_IDENTITY_TOKEN", token);
    }
    command.output().expect("run sigstore-python")
}

fn assert_ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A verification that must fail as a verification failure: exit 1, a
/// message, no Python traceback.
fn assert_refused(output: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{what} must fail: {stderr}");
    assert!(
        !stderr.contains("Traceback"),
        "{what}: a crash, not a refusal: {stderr}"
    );
    assert!(stderr.contains("FAIL"), "{what}: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigstore_python_loads_the_trust_files_signs_and_verifies() {
    let python = python();
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let up = Up::start(&data, free_port()).await;
    let base = up.base_url();
    let trust = data.join("trust");

    // The classes, on each file.
    let output = Command::new(&python)
        .arg(script())
        .arg(&trust)
        .output()
        .expect("run the script");
    assert_ok(&output, "loading the trust files");
    let loaded: Value = serde_json::from_slice(&output.stdout).expect("script JSON");
    assert!(
        loaded["sigstore_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("4.5.")),
        "{loaded}"
    );
    let pem = up.get_text("/api/v1/log/publicKey").await;
    let rekor_id = hex::encode(Sha256::digest(pem_to_der(&pem)));
    let ct_pem = std::fs::read_to_string(trust.join("ctlog.pub.pem")).expect("CT key");
    let ct_id = hex::encode(Sha256::digest(pem_to_der(&ct_pem)));
    for view in [&loaded, &loaded["client_trust_config"]] {
        let root = &view["trusted_root"];
        assert_eq!(
            root["rekor_key_ids"],
            serde_json::json!([rekor_id]),
            "{loaded}"
        );
        assert_eq!(root["ct_key_ids"], serde_json::json!([ct_id]), "{loaded}");
        assert_eq!(root["fulcio_certificates"], 2, "intermediate and root");
        let config = &view["signing_config"];
        assert_eq!(
            config["tlogs"],
            serde_json::json!([format!("{base}/api/v1")])
        );
        assert_eq!(config["fulcio"], base);
        assert_eq!(config["oidc"], format!("{base}/oidc"));
    }

    // Sign and verify with its CLI.
    let trust_config = trust.join("trust_config.json");
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    let artifact = work.join("artifact.txt");
    std::fs::write(&artifact, format!("hello {}", rand::random::<u64>())).expect("write");
    let bundle = work.join("artifact.txt.sigstore.json");
    let (email, issuer) = ("dana@example.com", format!("{base}/oidc"));
    let token = token(&data, email, email);
    let path = |p: &Path| p.display().to_string();
    let signed = sigstore_cli(
        &python,
        &trust_config,
        Some(&token),
        &["sign", "--bundle", &path(&bundle), &path(&artifact)],
    );
    assert_ok(&signed, "sigstore sign");
    let verify = |artifact: &Path, identity: &str, issuer: &str| {
        sigstore_cli(
            &python,
            &trust_config,
            None,
            &[
                "verify",
                "identity",
                "--bundle",
                &path(&bundle),
                "--cert-identity",
                identity,
                "--cert-oidc-issuer",
                issuer,
                &path(artifact),
            ],
        )
    };
    assert_ok(&verify(&artifact, email, &issuer), "sigstore verify");
    assert_refused(
        &verify(&artifact, "eve@example.com", &issuer),
        "wrong identity",
    );
    assert_refused(
        &verify(&artifact, email, "https://accounts.example.com"),
        "wrong issuer",
    );
    let tampered = work.join("tampered.txt");
    std::fs::write(&tampered, "not what was signed").expect("write");
    assert_refused(&verify(&tampered, email, &issuer), "tampered artifact");

    // SIGKILL, restart: the trust files are unchanged and the bundle still verifies.
    let before = std::fs::read(&trust_config).expect("trust config");
    up.kill();
    let up = Up::start_with(&data, None).await;
    assert_eq!(std::fs::read(&trust_config).expect("trust config"), before);
    assert_ok(&verify(&artifact, email, &issuer), "verify after restart");
    let entry: Value =
        serde_json::from_slice(&std::fs::read(&bundle).expect("bundle")).expect("JSON");
    let index = entry["verificationMaterial"]["tlogEntries"][0]["logIndex"]
        .as_str()
        .expect("logIndex");
    let stored = up
        .http
        .get(up.url(&format!("/api/v1/log/entries?logIndex={index}")))
        .send()
        .await
        .expect("entry by index");
    assert_eq!(
        stored.status(),
        200,
        "the bundle's entry is in the log after the kill"
    );
}
