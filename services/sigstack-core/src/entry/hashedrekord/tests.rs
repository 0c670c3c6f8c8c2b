use rcgen::SanType;
use serde_json::json;

use super::*;
use crate::entry::canonicalize_proposed;
use crate::entry::test_support::{
    Alg, TestKey, assert_body, assert_invalid, aws_digest, b64, crlf76, go_pem, issue_leaf,
    sha256_hex,
};

const ARTIFACT: &[u8] = b"hello, transparency";

/// A proposed entry for `artifact` signed by `key`, sent with `key_pem`.
fn proposed(hash: HashAlgorithm, digest_hex: &str, sig: &[u8], key_pem: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": hash.name(), "value": digest_hex}},
            "signature": {"content": b64(sig), "publicKey": {"content": b64(key_pem)}},
        },
    }))
    .expect("json")
}

fn digest_hex(hash: HashAlgorithm, message: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(aws_digest(hash), message))
}

/// The canonical body of log.md §2.2, spelled out by hand.
fn expected_body(hash: &str, value: &str, sig: &[u8], canonical_pem: &str) -> String {
    format!(
        concat!(
            r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"data":{{"hash":"#,
            r#"{{"algorithm":"{}","value":"{}"}}}},"signature":{{"content":"{}","#,
            r#""publicKey":{{"content":"{}"}}}}}}}}"#
        ),
        hash,
        value,
        b64(sig),
        b64(canonical_pem)
    )
}

fn signed(alg: Alg, hash: HashAlgorithm) -> (TestKey, String, Vec<u8>) {
    let key = TestKey::generate(alg);
    let sig = key.sign_prehashed(hash, ARTIFACT);
    (key, digest_hex(hash, ARTIFACT), sig)
}

#[test]
fn public_key_entry_canonical_body_and_keys() {
    let (key, value, sig) = signed(Alg::P256, HashAlgorithm::Sha256);
    let entry = canonicalize_proposed(&proposed(HashAlgorithm::Sha256, &value, &sig, &key.pem()))
        .expect("valid");
    assert_eq!(entry.kind, Kind::HashedRekord);
    assert_eq!(entry.api_version, "0.0.1");
    let expected = expected_body("sha256", &value, &sig, &key.pem());
    assert_body(&entry, &expected);
    assert_eq!(
        entry.index_keys,
        [sha256_hex(key.pem()), format!("sha256:{value}")]
    );

    // Re-laid-out PEM: same leaf, but the key fingerprint is of what was sent
    // (log.md §2.6 quirk).
    let relaid = crlf76(&key.pem());
    assert_ne!(relaid, key.pem());
    let again = canonicalize_proposed(&proposed(HashAlgorithm::Sha256, &value, &sig, &relaid))
        .expect("valid");
    assert_eq!(again.body, entry.body);
    assert_eq!(again.index_keys[0], sha256_hex(&relaid));
}

#[test]
fn every_permitted_algorithm() {
    for (alg, hash) in [
        (Alg::P384, HashAlgorithm::Sha384),
        (Alg::P521, HashAlgorithm::Sha512),
        (Alg::Rsa, HashAlgorithm::Sha256),
        (Alg::Ed25519, HashAlgorithm::Sha512),
    ] {
        let (key, value, sig) = signed(alg, hash);
        let entry = canonicalize_proposed(&proposed(hash, &value, &sig, &key.pem()))
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(
            String::from_utf8(entry.body).expect("utf-8"),
            expected_body(hash.name(), &value, &sig, &key.pem())
        );
    }
}

#[test]
fn hash_value_case_is_kept_and_indexed_lower_case() {
    let (key, value, sig) = signed(Alg::P256, HashAlgorithm::Sha256);
    let upper = value.to_uppercase();
    let entry = canonicalize_proposed(&proposed(HashAlgorithm::Sha256, &upper, &sig, &key.pem()))
        .expect("valid");
    assert_eq!(
        String::from_utf8(entry.body).expect("utf-8"),
        expected_body("sha256", &upper, &sig, &key.pem())
    );
    assert!(entry.index_keys.contains(&format!("sha256:{value}")));
}

#[test]
fn certificate_and_chain_entries() {
    let ca = TestKey::generate(Alg::P384);
    let leaf_key = TestKey::generate(Alg::P256);
    let fulcio = vec![1, 3, 6, 1, 4, 1, 57264, 1, 7];
    let (leaf, ca_der) = issue_leaf(
        &ca,
        &leaf_key,
        vec![
            SanType::Rfc822Name("Alice@Example.com".try_into().expect("email")),
            SanType::OtherName((fulcio, "octo-Cat".into())),
        ],
    );
    let sig = leaf_key.sign_prehashed(HashAlgorithm::Sha256, ARTIFACT);
    let value = digest_hex(HashAlgorithm::Sha256, ARTIFACT);
    let leaf_pem = go_pem("CERTIFICATE", &leaf);

    // sigstore-js forwards Fulcio's PEM verbatim, whatever its layout.
    let sent = crlf76(&leaf_pem);
    let entry = canonicalize_proposed(&proposed(HashAlgorithm::Sha256, &value, &sig, &sent))
        .expect("valid");
    assert_eq!(
        String::from_utf8(entry.body).expect("utf-8"),
        expected_body("sha256", &value, &sig, &leaf_pem)
    );
    assert_eq!(
        entry.index_keys,
        [
            sha256_hex(&sent),
            "alice@example.com".to_owned(),
            "octo-cat".to_owned(),
            format!("sha256:{value}"),
        ]
    );

    let chain_pem = format!("{leaf_pem}{}", go_pem("CERTIFICATE", &ca_der));
    let entry = canonicalize_proposed(&proposed(HashAlgorithm::Sha256, &value, &sig, &chain_pem))
        .expect("valid chain");
    assert_eq!(
        String::from_utf8(entry.body).expect("utf-8"),
        expected_body("sha256", &value, &sig, &chain_pem)
    );

    // A chain whose root did not issue the leaf.
    let stranger = TestKey::generate(Alg::P256);
    let (_, other_ca) = issue_leaf(&stranger, &leaf_key, Vec::new());
    let bad_chain = format!("{leaf_pem}{}", go_pem("CERTIFICATE", &other_ca));
    let err = canonicalize_proposed(&proposed(HashAlgorithm::Sha256, &value, &sig, &bad_chain))
        .expect_err("broken chain");
    assert!(
        err.to_string().starts_with("verifying signature: "),
        "{err}"
    );
}

/// Runs `edit` on a valid proposed entry's JSON and expects a 400 whose
/// message contains `fragment`.
fn rejects(edit: impl FnOnce(&mut serde_json::Value), fragment: &str) {
    let (key, value, sig) = signed(Alg::P256, HashAlgorithm::Sha256);
    let mut entry: serde_json::Value =
        serde_json::from_slice(&proposed(HashAlgorithm::Sha256, &value, &sig, &key.pem()))
            .expect("json");
    edit(&mut entry);
    assert_invalid(&serde_json::to_vec(&entry).expect("json"), fragment);
}

#[test]
fn rejections() {
    let spec = |e: &mut serde_json::Value| e["spec"].take();
    rejects(
        |e| {
            spec(e);
            e["spec"] = json!({"data": {}})
        },
        "signature in body is required",
    );
    rejects(
        |e| {
            e["spec"]["data"].take();
        },
        "data in body is required",
    );
    rejects(
        |e| e["spec"]["signature"]["publicKey"] = serde_json::Value::Null,
        "missing public key",
    );
    rejects(
        |e| e["spec"]["signature"]["publicKey"]["content"] = json!(""),
        "failure decoding PEM",
    );
    rejects(
        |e| {
            e["spec"]["data"]["hash"].take();
        },
        "missing hash",
    );
    rejects(
        |e| e["spec"]["data"]["hash"]["algorithm"] = json!("md5"),
        "should be one of",
    );
    rejects(
        |e| e["spec"]["data"]["hash"]["algorithm"] = json!("SHA256"),
        "should be one of",
    );
    rejects(
        |e| e["spec"]["data"]["hash"]["value"] = serde_json::Value::Null,
        "value in body is required",
    );
    rejects(
        |e| e["spec"]["signature"]["content"] = json!("not base64!"),
        "signature content",
    );
    rejects(
        |e| e["spec"]["signature"]["content"] = json!("YWJj"),
        "verifying signature",
    );
    rejects(
        |e| e["spec"]["signature"]["content"] = json!(""),
        "not been initialized",
    );
    rejects(
        |e| e["spec"]["signature"]["publicKey"]["content"] = json!("a2V5"),
        "failure decoding PEM",
    );
    rejects(
        |e| e["spec"]["signature"]["publicKey"]["content"] = json!("-_-_"),
        "public key content",
    );
    rejects(
        |e| e["spec"]["signature"]["publicKey"]["content"] = json!(7),
        "spec",
    );
    rejects(
        |e| {
            let pem = TestKey::generate(Alg::P256)
                .pem()
                .replace("PUBLIC KEY", "EC PUBLIC KEY");
            e["spec"]["signature"]["publicKey"]["content"] = json!(b64(pem));
        },
        "cannot handle type EC PUBLIC KEY",
    );
    rejects(
        |e| {
            let v = e["spec"]["data"]["hash"]["value"].as_str().expect("hex")[1..].to_owned();
            e["spec"]["data"]["hash"]["value"] = json!(v);
        },
        "invalid value for hash",
    );
    rejects(
        |e| e["spec"]["data"]["hash"]["value"] = json!("zz".repeat(32)),
        "invalid hash value",
    );
    rejects(
        |e| e["spec"]["data"]["hash"]["value"] = json!(digest_hex(HashAlgorithm::Sha256, b"other")),
        "verifying signature",
    );
    // Right algorithm name, digest of another length.
    rejects(
        |e| e["spec"]["data"]["hash"]["algorithm"] = json!("sha384"),
        "invalid value for hash",
    );
}

#[test]
fn algorithm_and_padding_refusals() {
    // RSA-PSS is never verified (log.md §2.2).
    let rsa = TestKey::generate(Alg::Rsa);
    let value = digest_hex(HashAlgorithm::Sha256, ARTIFACT);
    let err = canonicalize_proposed(&proposed(
        HashAlgorithm::Sha256,
        &value,
        &rsa.sign_pss(ARTIFACT),
        &rsa.pem(),
    ))
    .expect_err("PSS");
    assert!(err.to_string().starts_with("verifying signature"), "{err}");

    // Ed25519 over a SHA-256 digest.
    let ed = TestKey::generate(Alg::Ed25519);
    let err = canonicalize_proposed(&proposed(
        HashAlgorithm::Sha256,
        &value,
        &ed.sign_message(ARTIFACT),
        &ed.pem(),
    ))
    .expect_err("ed25519 + sha256");
    assert!(err.to_string().starts_with("verifying signature"), "{err}");
    assert_eq!(err.status_code(), 400);

    // A valid P-256 signature over a SHA-384 digest: outside the policy.
    let (key, value, sig) = signed(Alg::P256, HashAlgorithm::Sha384);
    let err = canonicalize_proposed(&proposed(HashAlgorithm::Sha384, &value, &sig, &key.pem()))
        .expect_err("policy");
    assert_eq!(
        err.client_message(),
        "error processing entry: entry algorithms are not allowed"
    );

    // RSA 2048 with SHA-512: verifies, refused.
    let (key, value, sig) = signed(Alg::Rsa, HashAlgorithm::Sha512);
    let err = canonicalize_proposed(&proposed(HashAlgorithm::Sha512, &value, &sig, &key.pem()))
        .expect_err("policy");
    assert_eq!(err.to_string(), "entry algorithms are not allowed");
}
