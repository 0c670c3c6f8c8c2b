//! A table of bad inputs, each answered with its documented status and a
//! JSON `{code, message}`, with nothing stored and the log still serving.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sigstack_e2e::rekor::{ClientKey, serve_with_limit};
use sigstack_engine::EngineStore;
use sigstack_testkit::{postgres_store as postgres, sqlite_store as sqlite};

/// The body limit of this test's server: small, so that "over the limit" is cheap.
const LIMIT: usize = 64 * 1024;

enum Call {
    Post(&'static str, Vec<u8>),
    Get(String),
    Delete(&'static str),
}

fn proposed(value: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&value).expect("json")
}

fn cases(key: &ClientKey, other: &ClientKey) -> Vec<(&'static str, Call, u16)> {
    let good = key.hashedrekord(b"artifact");
    let with = |pointer: &str, value: serde_json::Value| {
        let mut v = good.clone();
        *v.pointer_mut(pointer).expect("field exists") = value;
        proposed(v)
    };
    let without = |field: &str| {
        let mut v = good.clone();
        v.as_object_mut().expect("object").remove(field);
        proposed(v)
    };
    let pem = |label: &str, body: &[u8]| {
        let text = format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            STANDARD.encode(body)
        );
        serde_json::Value::String(STANDARD.encode(text))
    };
    let entries = "/api/v1/log/entries";
    vec![
        (
            "truncated JSON",
            Call::Post(
                entries,
                br#"{"kind":"hashedrekord","apiVersion":"0.0.1""#.to_vec(),
            ),
            400,
        ),
        ("not JSON", Call::Post(entries, b"hello".to_vec()), 400),
        ("empty body", Call::Post(entries, Vec::new()), 422),
        ("JSON array", Call::Post(entries, b"[]".to_vec()), 400),
        (
            "unknown kind",
            Call::Post(entries, with("/kind", "nope".into())),
            422,
        ),
        (
            "kind not enabled",
            Call::Post(entries, with("/kind", "rekord".into())),
            400,
        ),
        (
            "unsupported version",
            Call::Post(entries, with("/apiVersion", "9.9.9".into())),
            400,
        ),
        ("missing spec", Call::Post(entries, without("spec")), 422),
        (
            "missing apiVersion",
            Call::Post(entries, without("apiVersion")),
            422,
        ),
        (
            "signature over another digest",
            Call::Post(
                entries,
                with(
                    "/spec/signature/content",
                    STANDARD.encode(key.sign(b"other")).into(),
                ),
            ),
            400,
        ),
        (
            "signature by another key",
            Call::Post(
                entries,
                with(
                    "/spec/signature/content",
                    STANDARD.encode(other.sign(b"artifact")).into(),
                ),
            ),
            400,
        ),
        (
            "signature not base64",
            Call::Post(entries, with("/spec/signature/content", "***".into())),
            400,
        ),
        (
            "public key not PEM",
            Call::Post(
                entries,
                with(
                    "/spec/signature/publicKey/content",
                    STANDARD.encode("not a key").into(),
                ),
            ),
            400,
        ),
        (
            "certificate that does not parse",
            Call::Post(
                entries,
                with(
                    "/spec/signature/publicKey/content",
                    pem("CERTIFICATE", b"garbage"),
                ),
            ),
            400,
        ),
        (
            "EC PUBLIC KEY block",
            Call::Post(
                entries,
                with(
                    "/spec/signature/publicKey/content",
                    pem("EC PUBLIC KEY", b"garbage"),
                ),
            ),
            400,
        ),
        (
            "digest of the wrong length",
            Call::Post(entries, with("/spec/data/hash/value", "abcd".into())),
            400,
        ),
        (
            "digest not hex",
            Call::Post(
                entries,
                with("/spec/data/hash/value", "z".repeat(64).into()),
            ),
            400,
        ),
        (
            "body over the limit",
            Call::Post(entries, vec![b' '; LIMIT + 1]),
            413,
        ),
        (
            "negative log index",
            Call::Get("/api/v1/log/entries?logIndex=-1".into()),
            422,
        ),
        (
            "non-integer log index",
            Call::Get("/api/v1/log/entries?logIndex=abc".into()),
            422,
        ),
        (
            "missing log index",
            Call::Get("/api/v1/log/entries".into()),
            422,
        ),
        (
            "huge log index",
            Call::Get("/api/v1/log/entries?logIndex=9223372036854775807".into()),
            404,
        ),
        (
            "UUID of 63 hex",
            Call::Get(format!("/api/v1/log/entries/{}", "a".repeat(63))),
            422,
        ),
        (
            "UUID not hex",
            Call::Get(format!("/api/v1/log/entries/{}", "g".repeat(64))),
            422,
        ),
        (
            "unknown UUID",
            Call::Get(format!("/api/v1/log/entries/{}", "a".repeat(64))),
            404,
        ),
        (
            "entry ID of tree 0",
            Call::Get(format!(
                "/api/v1/log/entries/{}{}",
                "0".repeat(16),
                "a".repeat(64)
            )),
            422,
        ),
        (
            "entry ID of an unknown tree",
            Call::Get(format!(
                "/api/v1/log/entries/{}{}",
                "1".repeat(16),
                "a".repeat(64)
            )),
            404,
        ),
        (
            "firstSize > lastSize",
            Call::Get("/api/v1/log/proof?firstSize=2&lastSize=1".into()),
            400,
        ),
        (
            "lastSize beyond the tree",
            Call::Get("/api/v1/log/proof?firstSize=1&lastSize=999999".into()),
            400,
        ),
        (
            "missing lastSize",
            Call::Get("/api/v1/log/proof?firstSize=1".into()),
            422,
        ),
        (
            "firstSize 0",
            Call::Get("/api/v1/log/proof?firstSize=0&lastSize=1".into()),
            422,
        ),
        (
            "unknown treeID for a proof",
            Call::Get("/api/v1/log/proof?lastSize=1&treeID=12345".into()),
            400,
        ),
        (
            "non-numeric treeID",
            Call::Get("/api/v1/log/proof?lastSize=1&treeID=abc".into()),
            422,
        ),
        (
            "unknown treeID for the key",
            Call::Get("/api/v1/log/publicKey?treeID=12345".into()),
            400,
        ),
        ("unknown path", Call::Get("/api/v1/nothing".into()), 404),
        ("wrong method", Call::Delete("/api/v1/log"), 405),
    ]
}

async fn bad_inputs_are_refused<S: EngineStore>(store: S) {
    let s = serve_with_limit(store, LIMIT).await;
    let (key, other) = (ClientKey::generate(), ClientKey::generate());
    let size_before = s.log.log_info().await.expect("info").active.tree_size;
    for (name, call, status) in cases(&key, &other) {
        let response = match call {
            Call::Post(path, body) => {
                s.client
                    .post(format!("{}{path}", s.base))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
            }
            Call::Get(path) => s.client.get(format!("{}{path}", s.base)).send().await,
            Call::Delete(path) => s.client.delete(format!("{}{path}", s.base)).send().await,
        }
        .expect("request");
        assert_eq!(response.status().as_u16(), status, "{name}");
        if status == 405 {
            continue;
        }
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{name}: JSON error"
        );
        let body: serde_json::Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{name}: body is not JSON: {e}"));
        assert!(body["code"].as_u64().is_some(), "{name}: code in {body}");
        assert!(
            !body["message"].as_str().unwrap_or_default().is_empty(),
            "{name}: message in {body}"
        );
    }
    assert_eq!(
        s.log.log_info().await.expect("info").active.tree_size,
        size_before,
        "nothing stored"
    );
    let ok = s
        .client
        .post(format!("{}/api/v1/log/entries", s.base))
        .json(&key.hashedrekord(b"artifact"))
        .send()
        .await
        .expect("post");
    assert_eq!(ok.status().as_u16(), 201, "the log keeps serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_bad_inputs_are_refused() {
    let f = sqlite().await;
    bad_inputs_are_refused(f.store.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_bad_inputs_are_refused() {
    let f = postgres().await;
    bad_inputs_are_refused(f.store.clone()).await;
}
