//! The `file` and `ephemeral` backends and the config's serde shape; no
//! token needed.

mod support;

use std::path::{Path, PathBuf};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::Ed25519KeyPair;
use sigstack_core::certificate::{CaKeyAlgorithm, CertificateAuthority, new_hierarchy};
use sigstack_core::key_file::{KeyFileError, encrypt_pkcs8_pem};
use sigstack_signer::{CaKeyConfig, Pkcs11Config, SignerError, open};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

#[test]
fn a_key_file_signs_for_its_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = new_hierarchy("sigstack test", support::now() - 3600, 1).expect("hierarchy");
    let pem = encrypt_pkcs8_pem(&h.intermediate.key_pkcs8_der, b"hunter2").expect("encrypt");
    let config = CaKeyConfig::File {
        key_file: write(dir.path(), "ca.key.pem", pem.as_bytes()),
        password_file: write(dir.path(), "ca.password", b"hunter2\n"),
    };
    let key = open(&config, false).expect("open");
    assert!(key.generated_chain.is_none());
    assert_eq!(key.signer.algorithm(), CaKeyAlgorithm::EcdsaP384Sha384);
    let ca = CertificateAuthority::new(&h.intermediate.certificate_der, key.signer).expect("ca");
    let (_, fin) = support::issue(&ca);
    support::openssl_verify(
        dir.path(),
        &h.root.certificate_der,
        &h.intermediate.certificate_der,
        &fin,
    );
}

#[test]
fn key_file_errors_name_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = new_hierarchy("sigstack test", support::now(), 1).expect("hierarchy");
    let pem = encrypt_pkcs8_pem(&h.intermediate.key_pkcs8_der, b"hunter2").expect("encrypt");
    let key_file = write(dir.path(), "ca.key.pem", pem.as_bytes());
    let wrong = write(dir.path(), "wrong.password", b"hunter3\n");
    let err = open(
        &CaKeyConfig::File {
            key_file: key_file.clone(),
            password_file: wrong.clone(),
        },
        false,
    )
    .expect_err("wrong password");
    assert!(
        matches!(
            err,
            SignerError::KeyFile {
                source: KeyFileError::WrongPassword,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&key_file.display().to_string()), "{text}");
    assert!(text.contains(&wrong.display().to_string()), "{text}");
    assert!(text.contains("password does not open"), "{text}");

    // Ed25519 is a fine key, but not for a CA clients accept (ca.md §12.1).
    let ed = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("ed25519");
    let pem = encrypt_pkcs8_pem(ed.as_ref(), b"hunter2").expect("encrypt");
    let ed_file = write(dir.path(), "ed25519.key.pem", pem.as_bytes());
    let err = open(
        &CaKeyConfig::File {
            key_file: ed_file.clone(),
            password_file: write(dir.path(), "right.password", b"hunter2"),
        },
        false,
    )
    .expect_err("not P-256 or P-384");
    assert!(matches!(err, SignerError::KeyType { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&ed_file.display().to_string()),
        "{err}"
    );
    assert!(err.to_string().contains("P-256 or P-384"), "{err}");

    let missing = dir.path().join("missing.key.pem");
    let err = open(
        &CaKeyConfig::File {
            key_file: missing.clone(),
            password_file: wrong,
        },
        false,
    )
    .expect_err("missing");
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );
}

#[test]
fn ephemeral_is_refused_unless_allowed() {
    let err = open(&CaKeyConfig::Ephemeral {}, false).expect_err("not allowed");
    assert!(matches!(err, SignerError::EphemeralRefused), "{err:?}");
    assert!(err.to_string().contains("development only"), "{err}");

    let key = open(&CaKeyConfig::Ephemeral {}, true).expect("allowed");
    let chain = key.generated_chain.clone().expect("its own chain");
    assert_eq!(chain.len(), 2, "intermediate, root");
    let ca = CertificateAuthority::new(&chain[0], key.signer).expect("signer matches");
    let (pre, fin) = support::issue(&ca);
    let dir = tempfile::tempdir().expect("tempdir");
    support::openssl_verify(dir.path(), &chain[1], &chain[0], &fin);
    support::openssl_verify_precertificate(dir.path(), &chain[1], &chain[0], &pre);
}

#[test]
fn a_missing_module_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let module = dir.path().join("libnothing.so");
    let err = open(
        &CaKeyConfig::Pkcs11(Pkcs11Config {
            module: module.clone(),
            token_label: Some("t".into()),
            slot: None,
            pin_file: write(dir.path(), "pin", b"1234"),
            key_label: Some("k".into()),
            key_id: None,
            sessions: None,
        }),
        false,
    )
    .expect_err("no module");
    assert!(matches!(err, SignerError::Module { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&module.display().to_string()),
        "{err}"
    );
}

fn parse(json: &str) -> Result<CaKeyConfig, serde_json::Error> {
    serde_json::from_str(json)
}

#[test]
fn the_config_is_tagged_by_backend_and_rejects_unknown_keys() {
    assert_eq!(
        parse(r#"{"backend": "file", "key_file": "/k", "password_file": "/p"}"#).expect("file"),
        CaKeyConfig::File {
            key_file: "/k".into(),
            password_file: "/p".into()
        }
    );
    assert_eq!(
        parse(
            r#"{"backend": "pkcs11", "module": "/m.so", "token_label": "t",
                "pin_file": "/pin", "key_label": "k"}"#
        )
        .expect("pkcs11"),
        CaKeyConfig::Pkcs11(Pkcs11Config {
            module: "/m.so".into(),
            token_label: Some("t".into()),
            slot: None,
            pin_file: "/pin".into(),
            key_label: Some("k".into()),
            key_id: None,
            sessions: None,
        })
    );
    let full = parse(
        r#"{"backend": "pkcs11", "module": "/m.so", "slot": 7, "pin_file": "/pin",
            "key_id": "0a0b", "sessions": 8}"#,
    )
    .expect("by slot and id");
    assert!(matches!(
        full,
        CaKeyConfig::Pkcs11(Pkcs11Config { slot: Some(7), .. })
    ));
    assert_eq!(
        parse(r#"{"backend": "ephemeral"}"#).expect("ephemeral"),
        CaKeyConfig::Ephemeral {}
    );

    for (bad, why) in [
        (r#"{}"#, "no backend: nothing is chosen by default"),
        (r#"{"key_file": "/k", "password_file": "/p"}"#, "no backend"),
        (
            r#"{"backend": "File", "key_file": "/k", "password_file": "/p"}"#,
            "case",
        ),
        (
            r#"{"backend": "file", "key_file": "/k", "password_file": "/p", "x": 1}"#,
            "unknown key",
        ),
        (
            r#"{"backend": "file", "key_file": "/k"}"#,
            "missing password_file",
        ),
        (
            r#"{"backend": "file", "key_file": "/k", "password": "hunter2"}"#,
            "secrets are files",
        ),
        (
            r#"{"backend": "ephemeral", "allow": true}"#,
            "ephemeral takes no keys",
        ),
        (
            r#"{"backend": "pkcs11", "module": "/m", "pin_file": "/p", "key_label": "k", "pin": "1"}"#,
            "pin inline",
        ),
        (
            r#"{"backend": "pkcs11", "module": "/m", "pin_file": "/p", "sessions": 0}"#,
            "zero sessions",
        ),
        (r#"{"backend": "kms"}"#, "unknown backend"),
    ] {
        assert!(parse(bad).is_err(), "{why}: {bad}");
    }
}
