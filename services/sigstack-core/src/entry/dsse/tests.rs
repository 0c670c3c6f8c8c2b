use rcgen::SanType;
use serde_json::json;

use super::*;
use crate::entry::canonicalize_proposed;
use crate::entry::envelope::pae;
use crate::entry::statement::IN_TOTO_PAYLOAD_TYPE;
use crate::entry::test_support::{
    Alg, TestKey, assert_body, assert_invalid, b64, crlf76, go_pem, issue_leaf, sha256_hex,
};

const STATEMENT: &str = r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":"ABCD"}}],"predicateType":"https://slsa.dev/provenance/v0.2","predicate":{"materials":[{"digest":{"sha1":"ef01"}}]}}"#;

/// An envelope over `payload` signed by `keys`, as a JSON string.
fn envelope(payload_type: &str, payload: &[u8], keys: &[&TestKey]) -> (String, Vec<String>) {
    let message = pae(payload_type, payload);
    let sigs: Vec<String> = keys.iter().map(|k| b64(k.sign_message(&message))).collect();
    let text = serde_json::to_string(&json!({
        "payload": b64(payload),
        "payloadType": payload_type,
        "signatures": sigs.iter().map(|s| json!({"keyid": "", "sig": s})).collect::<Vec<_>>(),
    }))
    .expect("json");
    (text, sigs)
}

fn proposed(envelope: &str, verifiers: &[String]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {"proposedContent": {
            "envelope": envelope,
            "verifiers": verifiers.iter().map(b64).collect::<Vec<_>>(),
        }},
    }))
    .expect("json")
}

/// The canonical body of log.md §2.3, spelled out by hand; `signatures` are
/// (signature, canonical PEM) pairs already in signature order.
fn expected_body(envelope: &str, payload: &[u8], signatures: &[(&str, &str)]) -> String {
    let sigs: Vec<String> = signatures
        .iter()
        .map(|(sig, pem)| format!(r#"{{"signature":"{sig}","verifier":"{}"}}"#, b64(pem)))
        .collect();
    format!(
        concat!(
            r#"{{"apiVersion":"0.0.1","kind":"dsse","spec":{{"envelopeHash":{{"algorithm":"sha256","value":"{}"}},"#,
            r#""payloadHash":{{"algorithm":"sha256","value":"{}"}},"signatures":[{}]}}}}"#
        ),
        sha256_hex(envelope),
        sha256_hex(payload),
        sigs.join(",")
    )
}

#[test]
fn single_key_entry_canonical_body_and_keys() {
    let key = TestKey::generate(Alg::P256);
    let (text, sigs) = envelope(IN_TOTO_PAYLOAD_TYPE, STATEMENT.as_bytes(), &[&key]);
    let entry = canonicalize_proposed(&proposed(&text, &[key.pem()])).expect("valid");
    assert_eq!(entry.kind, Kind::Dsse);
    assert_eq!(entry.api_version, "0.0.1");
    let expected = expected_body(&text, STATEMENT.as_bytes(), &[(&sigs[0], &key.pem())]);
    assert_body(&entry, &expected);
    assert_eq!(
        entry.index_keys,
        [
            format!("sha256:{}", sha256_hex(key.pem())),
            format!("sha256:{}", sha256_hex(STATEMENT)),
            format!("sha256:{}", sha256_hex(&text)),
            "sha256:abcd".to_owned(),
            "sha1:ef01".to_owned(),
        ]
    );

    // The same envelope with the key laid out differently: the same leaf.
    let again = canonicalize_proposed(&proposed(&text, &[crlf76(&key.pem())])).expect("valid");
    assert_eq!(again.body, entry.body);
    assert_eq!(again.index_keys, entry.index_keys);
}

#[test]
fn every_key_type_with_sha256() {
    for alg in [Alg::P521, Alg::Rsa, Alg::Ed25519] {
        let key = TestKey::generate(alg);
        let (text, sigs) = envelope("text/plain", b"hi", &[&key]);
        let entry = canonicalize_proposed(&proposed(&text, &[key.pem()]))
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(
            String::from_utf8(entry.body).expect("utf-8"),
            expected_body(&text, b"hi", &[(&sigs[0], &key.pem())])
        );
        assert_eq!(entry.index_keys.len(), 3, "no in-toto keys for text/plain");
    }
}

#[test]
fn several_signatures_sorted_by_signature() {
    let a = TestKey::generate(Alg::P256);
    let b = TestKey::generate(Alg::Ed25519);
    let (text, sigs) = envelope("text/plain", b"two", &[&a, &b]);
    let entry = canonicalize_proposed(&proposed(&text, &[b.pem(), a.pem()])).expect("valid");
    let (pa, pb) = (a.pem(), b.pem());
    let mut pairs = vec![
        (sigs[0].as_str(), pa.as_str()),
        (sigs[1].as_str(), pb.as_str()),
    ];
    pairs.sort();
    assert_eq!(
        String::from_utf8(entry.body).expect("utf-8"),
        expected_body(&text, b"two", &pairs)
    );
}

#[test]
fn certificate_verifier_and_its_sans() {
    let ca = TestKey::generate(Alg::P256);
    let key = TestKey::generate(Alg::P256);
    let (leaf, _) = issue_leaf(
        &ca,
        &key,
        vec![SanType::Rfc822Name(
            "Dev@Example.com".try_into().expect("email"),
        )],
    );
    let pem = go_pem("CERTIFICATE", &leaf);
    let (text, sigs) = envelope("text/plain", b"c", &[&key]);
    let entry = canonicalize_proposed(&proposed(&text, &[crlf76(&pem)])).expect("valid");
    assert_eq!(
        String::from_utf8(entry.body).expect("utf-8"),
        expected_body(&text, b"c", &[(&sigs[0], &pem)])
    );
    assert_eq!(entry.index_keys[1], "dev@example.com");
}

#[test]
fn identical_signatures_count_once() {
    let key = TestKey::generate(Alg::P256);
    let (text, sigs) = envelope("text/plain", b"d", &[&key]);
    let mut value: serde_json::Value = serde_json::from_str(&text).expect("json");
    let sig = value["signatures"][0].clone();
    value["signatures"] = json!([sig.clone(), sig]);
    let doubled = serde_json::to_string(&value).expect("json");
    let entry = canonicalize_proposed(&proposed(&doubled, &[key.pem()])).expect("valid");
    assert_eq!(
        String::from_utf8(entry.body).expect("utf-8"),
        expected_body(&doubled, b"d", &[(&sigs[0], &key.pem())])
    );
}

fn rejected(json: &[u8], fragment: &str) {
    assert_invalid(json, fragment);
}

#[test]
fn rejections() {
    let a = TestKey::generate(Alg::P256);
    let b = TestKey::generate(Alg::P256);
    let (two, _) = envelope("text/plain", b"x", &[&a, &b]);
    rejected(
        &proposed(&two, &[a.pem()]),
        "all signatures must have a key",
    );
    // One key, two of its signatures: a pass accounts for one signature only.
    let (twice, _) = envelope("text/plain", b"x", &[&a, &a]);
    rejected(
        &proposed(&twice, &[a.pem(), a.pem()]),
        "all signatures must have a key",
    );
    let (one, _) = envelope("text/plain", b"x", &[&a]);
    rejected(
        &proposed(&one, &[b.pem()]),
        "accepted signatures do not match threshold",
    );
    rejected(
        &proposed(&one, &[a.pem().replace("PUBLIC KEY", "EC PUBLIC KEY")]),
        "could not parse public key as x509",
    );
    rejected(&proposed(&one, &[]), "should have at least 1 items");
    rejected(&proposed("not json", &[a.pem()]), "envelope");
    let (none, _) = envelope("text/plain", b"x", &[]);
    rejected(&proposed(&none, &[a.pem()]), "1 or more signatures");
    let bad_payload = one.replace(&b64(b"x"), "!!!!");
    rejected(&proposed(&bad_payload, &[a.pem()]), "base64 decode payload");

    let spec = |spec: serde_json::Value| {
        serde_json::to_vec(&json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": spec}))
            .expect("json")
    };
    rejected(&spec(json!({})), "either proposedContent or");
    let read_side = json!({
        "envelopeHash": {"algorithm": "sha256", "value": "aa"},
        "payloadHash": {"algorithm": "sha256", "value": "bb"},
        "signatures": [{"signature": "c2ln", "verifier": "dg=="}],
    });
    rejected(&spec(read_side.clone()), "not insertable");
    let mut both = read_side;
    both["proposedContent"] = json!({"envelope": one, "verifiers": [b64(a.pem())]});
    rejected(&spec(both), "but not both");
    rejected(
        &spec(json!({"proposedContent": {"envelope": one, "verifiers": ["***"]}})),
        "base64 data for verifier",
    );
    rejected(
        &spec(json!({"proposedContent": {"verifiers": [b64(a.pem())]}})),
        "envelope in body is required",
    );
    rejected(
        &spec(json!({"proposedContent": {"envelope": one}})),
        "verifiers in body is required",
    );
}
