//! Shared by the signer's integration tests: a leaf to issue and an
//! independent verifier (`openssl verify`) for what was issued.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use sigstack_core::certificate::{
    CertificateAuthority, LeafProfile, SigstoreExtension, SubjectAltName,
};
use sigstack_core::entry::pki::Certificate;

pub fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    i64::try_from(secs).expect("seconds fit")
}

/// A leaf for a fresh P-256 requester key, valid from a minute ago.
pub fn leaf() -> LeafProfile {
    let alg = &ECDSA_P256_SHA256_ASN1_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).expect("key");
    let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).expect("load");
    let mut serial = [0u8; 20];
    aws_lc_rs::rand::fill(&mut serial).expect("serial");
    LeafProfile {
        subject_public_key: pair.public_key().as_der().expect("spki").as_ref().to_vec(),
        san: SubjectAltName::Email("alice@example.com".into()),
        extensions: vec![
            SigstoreExtension {
                arc: 1,
                value: "https://issuer.example".into(),
            },
            SigstoreExtension {
                arc: 8,
                value: "https://issuer.example".into(),
            },
        ],
        serial,
        not_before: now() - 60,
    }
}

/// The precertificate and the final certificate of one leaf.
pub fn issue(ca: &CertificateAuthority) -> (Vec<u8>, Vec<u8>) {
    let leaf = leaf();
    let pre = ca.precertificate(&leaf).expect("precertificate");
    // An empty SignedCertificateTimestampList: the test has no CT log.
    let fin = ca.certificate(&leaf, &[0, 0]).expect("certificate");
    (pre, fin)
}

pub fn write_pem(dir: &Path, name: &str, der: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    let pem = Certificate::from_der(der)
        .expect("certificate parses")
        .canonical_pem();
    std::fs::write(&path, pem).expect("write pem");
    path
}

/// `openssl verify` of `leaf` up to `root` through `intermediate`: a
/// verifier we did not write, checking each signature and the CA flags.
pub fn openssl_verify(dir: &Path, root: &[u8], intermediate: &[u8], leaf: &[u8]) {
    openssl_verify_with(dir, root, intermediate, leaf, &[]);
}

/// As [`openssl_verify`] for a precertificate: its critical CT poison is
/// meant to make every verifier refuse it as a certificate (RFC 6962
/// §3.1), so openssl is told to skip unknown critical extensions; the
/// signatures are still checked.
pub fn openssl_verify_precertificate(dir: &Path, root: &[u8], intermediate: &[u8], pre: &[u8]) {
    openssl_verify_with(dir, root, intermediate, pre, &["-ignore_critical"]);
}

fn openssl_verify_with(dir: &Path, root: &[u8], intermediate: &[u8], leaf: &[u8], extra: &[&str]) {
    let root = write_pem(dir, "root.pem", root);
    let intermediate = write_pem(dir, "intermediate.pem", intermediate);
    let leaf = write_pem(dir, "leaf.pem", leaf);
    let output = Command::new("openssl")
        .arg("verify")
        .args(extra)
        .args(["-purpose", "any", "-CAfile"])
        .arg(&root)
        .arg("-untrusted")
        .arg(&intermediate)
        .arg(&leaf)
        .output()
        .expect("openssl (Debian package openssl) runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.trim_end().ends_with(": OK"),
        "openssl verify refused the chain: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
