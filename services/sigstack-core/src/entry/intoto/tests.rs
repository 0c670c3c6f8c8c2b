use serde_json::json;

use crate::entry::envelope::pae;
use crate::entry::statement::IN_TOTO_PAYLOAD_TYPE;
use crate::entry::test_support::{
    Alg, TestKey, assert_body, assert_invalid, b64, crlf76, sha256_hex,
};
use crate::entry::{EntryError, Kind, canonicalize_proposed};

const STATEMENT: &str = r#"{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"name":"img","digest":{"sha256":"00ff"}}],"predicateType":"https://slsa.dev/provenance/v0.2","predicate":{"materials":[{"digest":{"sha1":"beef"}}]}}"#;
const CLIENT_HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn signature_over(key: &TestKey, payload_type: &str, payload: &[u8]) -> String {
    b64(key.sign_message(&pae(payload_type, payload)))
}

/// An intoto 0.0.2 proposed entry: `sigs` are (DSSE sig text, keyid, PEM sent).
fn v002(payload_type: &str, payload_text: &str, sigs: &[(&str, &str, &str)]) -> serde_json::Value {
    json!({
        "apiVersion": "0.0.2",
        "kind": "intoto",
        "spec": {"content": {
            "envelope": {
                "payloadType": payload_type,
                "payload": b64(payload_text),
                "signatures": sigs.iter().map(|(sig, keyid, pem)| {
                    json!({"keyid": keyid, "sig": b64(sig), "publicKey": b64(pem)})
                }).collect::<Vec<_>>(),
            },
            "hash": {"algorithm": "sha256", "value": CLIENT_HASH},
            "payloadHash": {"algorithm": "sha256", "value": "whatever the client says"},
        }},
    })
}

fn run(entry: &serde_json::Value) -> Result<crate::entry::CanonicalEntry, EntryError> {
    canonicalize_proposed(&serde_json::to_vec(entry).expect("json"))
}

fn rejected(entry: &serde_json::Value, fragment: &str) {
    assert_invalid(&serde_json::to_vec(entry).expect("json"), fragment);
}

#[test]
fn v002_keeps_keys_as_submitted_and_drops_the_payload() {
    let key = TestKey::generate(Alg::P256);
    let sig = signature_over(&key, IN_TOTO_PAYLOAD_TYPE, STATEMENT.as_bytes());
    let payload_text = b64(STATEMENT);
    let sent_pem = crlf76(&key.pem());
    let entry = run(&v002(
        IN_TOTO_PAYLOAD_TYPE,
        &payload_text,
        &[(&sig, "", &sent_pem)],
    ))
    .expect("valid");
    assert_eq!(
        (entry.kind, entry.api_version.as_str()),
        (Kind::Intoto, "0.0.2")
    );
    let expected = format!(
        concat!(
            r#"{{"apiVersion":"0.0.2","kind":"intoto","spec":{{"content":{{"envelope":{{"#,
            r#""payloadType":"application/vnd.in-toto+json","signatures":[{{"publicKey":"{}","sig":"{}"}}]}},"#,
            r#""hash":{{"algorithm":"sha256","value":"{}"}},"payloadHash":{{"algorithm":"sha256","value":"{}"}}}}}}}}"#
        ),
        b64(&sent_pem),
        b64(&sig),
        CLIENT_HASH,
        sha256_hex(STATEMENT)
    );
    assert_body(&entry, &expected);
    assert_eq!(
        entry.index_keys,
        [
            format!("sha256:{}", sha256_hex(key.pem())),
            format!("sha256:{}", sha256_hex(STATEMENT)),
            "sha256:00ff".to_owned(),
            "sha1:beef".to_owned(),
        ]
    );

    // The canonical PEM gives a different leaf: the key is not re-encoded.
    let canonical = run(&v002(
        IN_TOTO_PAYLOAD_TYPE,
        &payload_text,
        &[(&sig, "", &key.pem())],
    ))
    .expect("valid");
    assert_ne!(canonical.body, entry.body);
    assert_eq!(canonical.index_keys, entry.index_keys);
}

#[test]
fn v002_keyid_kept_when_present_and_signatures_in_order() {
    let a = TestKey::generate(Alg::Ed25519);
    let b = TestKey::generate(Alg::Rsa);
    let sig_a = signature_over(&a, "text/plain", b"p");
    let sig_b = signature_over(&b, "text/plain", b"p");
    let entry = run(&v002(
        "text/plain",
        &b64("p"),
        &[(&sig_b, "kb", &b.pem()), (&sig_a, "", &a.pem())],
    ))
    .expect("valid");
    let body = String::from_utf8(entry.body).expect("utf-8");
    let signatures = format!(
        r#""signatures":[{{"keyid":"kb","publicKey":"{}","sig":"{}"}},{{"publicKey":"{}","sig":"{}"}}]"#,
        b64(b.pem()),
        b64(&sig_b),
        b64(a.pem()),
        b64(&sig_a)
    );
    assert!(body.contains(&signatures), "{body}");
    assert_eq!(entry.index_keys.len(), 3);
}

#[test]
fn v002_rejections() {
    let key = TestKey::generate(Alg::P256);
    let other = TestKey::generate(Alg::P256);
    let sig = signature_over(&key, "text/plain", b"p");
    let good = v002("text/plain", &b64("p"), &[(&sig, "", &key.pem())]);
    assert!(run(&good).is_ok());
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut e = good.clone();
        f(&mut e);
        e
    };
    let envelope = |e: &mut serde_json::Value| e["spec"]["content"]["envelope"].take();

    rejected(
        &edit(&|e| {
            let mut env = envelope(e);
            env["payload"].take();
            e["spec"]["content"]["envelope"] = env;
        }),
        "missing envelope content",
    );
    rejected(
        &edit(&|e| {
            e["spec"]["content"]["hash"].take();
        }),
        "missing envelope digest",
    );
    rejected(
        &edit(&|e| e["spec"]["content"]["hash"]["algorithm"] = json!("sha512")),
        "should be one of [sha256]",
    );
    rejected(
        &edit(&|e| e["spec"]["content"]["payloadHash"]["value"] = json!(null)),
        "content.payloadHash.value in body is required",
    );
    rejected(
        &edit(&|e| e["spec"]["content"]["envelope"]["payload"] = json!("%%%%")),
        "base64 data for payload",
    );
    rejected(
        &edit(&|e| e["spec"]["content"]["envelope"]["payloadType"] = json!(null)),
        "payloadType in body is required",
    );
    rejected(
        &edit(&|e| e["spec"]["content"]["envelope"]["signatures"] = json!([])),
        "at least 1 items",
    );
    rejected(
        &edit(&|e| {
            e["spec"]["content"]["envelope"]["signatures"][0]["publicKey"].take();
        }),
        "signatures.0.publicKey in body is required",
    );
    rejected(
        &v002("text/plain", &b64("p"), &[(&sig, "", &other.pem())]),
        "accepted signatures do not match threshold",
    );
    let sig_other = signature_over(&other, "text/plain", b"p");
    rejected(
        &v002(
            "text/plain",
            &b64("p"),
            &[(&sig, "", &key.pem()), (&sig_other, "", &key.pem())],
        ),
        "all signatures must have a key",
    );
    // URL-safe DSSE payload: verifies, but the payload hash decodes it as
    // standard base64 only (log.md §2.4, reference behaviour).
    let raw = [0xfbu8, 0xff, 0xbf];
    let url_text = b64(raw).replace('+', "-").replace('/', "_");
    assert_ne!(url_text, b64(raw));
    let url_sig = signature_over(&key, "text/plain", &raw);
    rejected(
        &v002("text/plain", &url_text, &[(&url_sig, "", &key.pem())]),
        "could not decode envelope payload",
    );
    rejected(
        &json!({"apiVersion": "0.0.2", "kind": "intoto", "spec": "x"}),
        "spec",
    );
}

/// An intoto 0.0.1 proposed entry around `envelope_text`, key sent as `pem`.
fn v001(envelope_text: &str, pem: &str) -> serde_json::Value {
    json!({
        "apiVersion": "0.0.1",
        "kind": "intoto",
        "spec": {"content": {"envelope": envelope_text}, "publicKey": b64(pem)},
    })
}

fn envelope_text(payload_type: &str, payload: &[u8], sigs: &[String]) -> String {
    serde_json::to_string(&json!({
        "payloadType": payload_type,
        "payload": b64(payload),
        "signatures": sigs.iter().map(|s| json!({"keyid": "", "sig": s})).collect::<Vec<_>>(),
    }))
    .expect("json")
}

#[test]
fn v001_canonical_body_and_keys() {
    let key = TestKey::generate(Alg::P256);
    let sig = signature_over(&key, IN_TOTO_PAYLOAD_TYPE, STATEMENT.as_bytes());
    let text = envelope_text(IN_TOTO_PAYLOAD_TYPE, STATEMENT.as_bytes(), &[sig]);
    let entry = run(&v001(&text, &crlf76(&key.pem()))).expect("valid");
    assert_eq!(
        (entry.kind, entry.api_version.as_str()),
        (Kind::Intoto, "0.0.1")
    );
    let expected = format!(
        concat!(
            r#"{{"apiVersion":"0.0.1","kind":"intoto","spec":{{"content":{{"hash":{{"algorithm":"sha256","value":"{}"}},"#,
            r#""payloadHash":{{"algorithm":"sha256","value":"{}"}}}},"publicKey":"{}"}}}}"#
        ),
        sha256_hex(&text),
        sha256_hex(STATEMENT),
        b64(key.pem())
    );
    assert_eq!(
        String::from_utf8(entry.body.clone()).expect("utf-8"),
        expected
    );
    assert_eq!(
        entry.index_keys,
        [
            format!("sha256:{}", sha256_hex(&text)),
            format!("sha256:{}", sha256_hex(key.pem())),
            format!("sha256:{}", sha256_hex(STATEMENT)),
            "sha256:00ff".to_owned(),
            "sha1:beef".to_owned(),
        ]
    );
    // Client digests are validated and ignored.
    let mut with_hash = v001(&text, &key.pem());
    with_hash["spec"]["content"]["hash"] = json!({"algorithm": "sha256", "value": "00"});
    assert_eq!(run(&with_hash).expect("valid").body, entry.body);
}

#[test]
fn v001_one_verified_signature_suffices() {
    let key = TestKey::generate(Alg::P521);
    let other = TestKey::generate(Alg::P256);
    let sigs = [
        signature_over(&other, "text/plain", b"q"),
        signature_over(&key, "text/plain", b"q"),
    ];
    assert!(run(&v001(&envelope_text("text/plain", b"q", &sigs), &key.pem())).is_ok());
}

#[test]
fn v001_rejections() {
    let key = TestKey::generate(Alg::P256);
    let other = TestKey::generate(Alg::P256);
    let sig = signature_over(&key, "text/plain", b"q");
    let text = envelope_text("text/plain", b"q", std::slice::from_ref(&sig));
    rejected(
        &v001(&text, &other.pem()),
        "accepted signatures do not match threshold",
    );
    rejected(&v001("", &key.pem()), "missing hash value for envelope");
    let mut search_only = v001("", &key.pem());
    search_only["spec"]["content"]["hash"] = json!({"algorithm": "sha256", "value": "00"});
    rejected(&search_only, "not insertable");
    let mut no_key = v001(&text, &key.pem());
    no_key["spec"]["publicKey"].take();
    rejected(&no_key, "publicKey in body is required");
    let mut no_content = v001(&text, &key.pem());
    no_content["spec"]["content"].take();
    rejected(&no_content, "content in body is required");
    rejected(
        &v001(&envelope_text("text/plain", b"q", &[]), &key.pem()),
        "no signature found",
    );
    let untyped = envelope_text("", b"q", &[signature_over(&key, "", b"q")]);
    rejected(&v001(&untyped, &key.pem()), "invalid DSSE envelope");
    rejected(&v001("{", &key.pem()), "envelope");
    rejected(
        &v001(&text, &key.pem().replace("PUBLIC KEY", "EC PUBLIC KEY")),
        "cannot handle type",
    );
    let mut bad_hash = v001(&text, &key.pem());
    bad_hash["spec"]["content"]["payloadHash"] = json!({"algorithm": "md5", "value": "00"});
    rejected(&bad_hash, "should be one of [sha256]");
}
