//! Known traffic against `sigstack serve` of a CA (CT log in process) and
//! of a transparency log, then a scrape of each admin `/metrics`: every
//! named metric is there with the labels and values the traffic implies,
//! and every metric `deploy/prometheus/alerts.yaml` uses exists.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use sigstack_ca::dev_issuer::{DevIssuer, TokenRequest};
use sigstack_e2e::ca::{RequesterKey, unix_now};
use sigstack_e2e::rekor::ClientKey;
use sigstack_e2e::serve::{CA_CONFIG, Issuer, LOG_CONFIG, Metrics, Served, keys_init, repo_root};

/// POSTs a v2 signingCert request; records the token and the proof sent.
async fn post_cert(
    ca: &Served,
    token: &str,
    key: &RequesterKey,
    signed: &[u8],
    sent: &mut Vec<String>,
) -> u16 {
    let (response, proof) = ca.request_certificate(token, key, signed).await;
    sent.push(token.to_owned());
    sent.push(proof);
    response.status().as_u16()
}

async fn post_entry(log: &Served, body: &serde_json::Value) -> u16 {
    log.http
        .post(format!("{}/api/v1/log/entries", log.base))
        .json(body)
        .send()
        .await
        .expect("POST entry")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_match_the_traffic_sent() {
    let dir = tempfile::tempdir().expect("temp dir");
    keys_init(dir.path());
    let issuer = Issuer::start(dir.path()).await;
    let mut ca = Served::start(dir.path(), "ca.toml", CA_CONFIG).await;
    let mut log = Served::start(dir.path(), "log.toml", LOG_CONFIG).await;
    let url = issuer.url().to_owned();
    let email = "dev@example.com";
    let token = |subject: &str| {
        issuer
            .issuer
            .token(&TokenRequest::new(subject).email(email))
            .expect("token")
    };

    // CA: two certificates over REST and one over gRPC...
    let key = RequesterKey::new();
    let mut sent = Vec::new();
    for subject in ["a", "b"] {
        assert_eq!(
            post_cert(&ca, &token(subject), &key, email.as_bytes(), &mut sent).await,
            200
        );
    }
    use sigstack_ca::grpc::proto::{
        CreateSigningCertificateRequest, Credentials, ca_client::CaClient,
        create_signing_certificate_request::Key, credentials,
    };
    let channel = tonic::transport::Endpoint::from_shared(ca.base.clone())
        .expect("endpoint")
        .connect()
        .await
        .expect("gRPC connect");
    CaClient::new(channel)
        .create_signing_certificate(CreateSigningCertificateRequest {
            credentials: Some(Credentials {
                credentials: Some(credentials::Credentials::OidcIdentityToken(token("c"))),
            }),
            key: Some(Key::CertificateSigningRequest(key.csr_pem().into_bytes())),
        })
        .await
        .expect("gRPC CreateSigningCertificate");
    // ...and four refusals: expired, wrong audience, bad proof, unknown issuer.
    let expired = issuer
        .issuer
        .token_at(&TokenRequest::new("old").email(email), unix_now() - 7200)
        .expect("token");
    assert_eq!(
        post_cert(&ca, &expired, &key, email.as_bytes(), &mut sent).await,
        400
    );
    let mut other_audience = TokenRequest::new("aud").email(email);
    other_audience.audience = "someone-else".into();
    let other_audience = issuer.issuer.token(&other_audience).expect("token");
    assert_eq!(
        post_cert(&ca, &other_audience, &key, email.as_bytes(), &mut sent).await,
        400
    );
    assert_eq!(
        post_cert(&ca, &token("pop"), &key, b"not the email", &mut sent).await,
        400
    );
    let stranger = DevIssuer::from_pkcs8(
        "https://stranger.example.test",
        &DevIssuer::generate_pkcs8().expect("key"),
    )
    .expect("issuer");
    let stranger = stranger
        .token(&TokenRequest::new("x").email(email))
        .expect("token");
    assert_eq!(
        post_cert(&ca, &stranger, &key, email.as_bytes(), &mut sent).await,
        400
    );

    // Log: two new entries, one resubmitted, one with a bad signature, one nonsense.
    let client = ClientKey::generate();
    let first = client.hashedrekord(b"first artifact");
    assert_eq!(post_entry(&log, &first).await, 201);
    assert_eq!(
        post_entry(&log, &client.hashedrekord(b"second artifact")).await,
        201
    );
    assert_eq!(post_entry(&log, &first).await, 409);
    let mut forged = client.hashedrekord(b"third artifact");
    forged["spec"]["signature"]["content"] = json!(STANDARD.encode(client.sign(b"something else")));
    assert_eq!(post_entry(&log, &forged).await, 400);
    let nonsense = post_entry(&log, &json!({"kind": "nonsense", "apiVersion": "0.0.1"})).await;
    assert!((400..500).contains(&nonsense), "{nonsense}");

    let m = ca.metrics().await;
    let issuer_label = ("issuer", url.as_str());
    assert_eq!(m.value("fulcio_new_certs", &[]), 3.0);
    assert_eq!(
        m.value("sigstack_ca_certificates_issued_total", &[issuer_label]),
        3.0
    );
    for reason in ["expired", "audience", "proof_of_possession"] {
        assert_eq!(
            m.value(
                "sigstack_ca_certificates_refused_total",
                &[issuer_label, ("reason", reason)]
            ),
            1.0,
            "{reason}"
        );
    }
    assert_eq!(
        m.value(
            "sigstack_ca_certificates_refused_total",
            &[("issuer", "unknown"), ("reason", "unknown_issuer")]
        ),
        1.0
    );
    // The verifier counts token failures only (a bad proof is not one).
    for (issuer, reason) in [
        (url.as_str(), "expired"),
        (url.as_str(), "audience"),
        ("unknown", "unknown_issuer"),
    ] {
        assert_eq!(
            m.value(
                "sigstack_oidc_verification_failures_total",
                &[("issuer", issuer), ("reason", reason)]
            ),
            1.0,
            "{reason}"
        );
    }
    assert_eq!(
        m.matching("sigstack_oidc_verification_failures_total", &[])
            .count(),
        3
    );
    // The CA's own failures: none, and the counters are there at zero.
    for reason in ["ca", "ctlog", "store"] {
        assert_eq!(
            m.value("sigstack_ca_issuance_failures_total", &[("reason", reason)]),
            0.0
        );
    }
    assert_eq!(
        m.value(
            "sigstack_sequencer_batches_total",
            &[("log", "ct"), ("result", "failed")]
        ),
        0.0
    );
    assert_eq!(
        m.value("sigstack_ct_scts_issued_total", &[("log", "ct")]),
        3.0
    );
    assert_eq!(
        m.value(
            "sigstack_log_entries_total",
            &[
                ("log", "ct"),
                ("kind", "precert_entry"),
                ("result", "created")
            ]
        ),
        3.0
    );
    // Genesis and three precertificates.
    assert_eq!(m.value("rekor_entry_count", &[("log", "ct")]), 4.0);
    let http = |status: &str| {
        m.value(
            "sigstack_http_request_duration_seconds_count",
            &[
                ("service", "ca"),
                ("method", "POST"),
                ("route", "/api/v2/signingCert"),
                ("status", status),
            ],
        )
    };
    assert_eq!(http("200"), 2.0);
    assert_eq!(http("400"), 4.0);
    assert_eq!(
        m.value(
            "sigstack_grpc_request_duration_seconds_count",
            &[
                ("service", "ca"),
                (
                    "method",
                    "/dev.sigstore.fulcio.v2.CA/CreateSigningCertificate"
                ),
                ("code", "0")
            ]
        ),
        1.0
    );
    // Each certificate of the chain, with its notAfter (keys init: 10 years).
    let in_nine_years = (unix_now() + 9 * 365 * 86_400) as f64;
    for role in ["signing", "root"] {
        let expiry = m.value(
            "sigstack_ca_certificate_expiry_timestamp_seconds",
            &[("role", role)],
        );
        assert!(expiry > in_nine_years, "{role}: {expiry}");
    }
    assert_eq!(
        m.value(
            "sigstack_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    check_sequencer(&m, "ct");

    let l = log.metrics().await;
    let entries = |kind: &str, result: &str| {
        l.value(
            "sigstack_log_entries_total",
            &[("log", "rekor"), ("kind", kind), ("result", result)],
        )
    };
    assert_eq!(entries("hashedrekord", "created"), 2.0);
    assert_eq!(entries("hashedrekord", "duplicate"), 1.0);
    assert_eq!(entries("hashedrekord", "rejected"), 1.0);
    assert_eq!(entries("unknown", "rejected"), 1.0);
    assert_eq!(l.value("rekor_new_entries", &[]), 2.0);
    // Genesis and two entries.
    assert_eq!(l.value("rekor_entry_count", &[("log", "rekor")]), 3.0);
    let created = l.value(
        "sigstack_http_request_duration_seconds_count",
        &[
            ("service", "log"),
            ("method", "POST"),
            ("route", "/api/v1/log/entries"),
            ("status", "201"),
        ],
    );
    assert_eq!(created, 2.0);
    check_sequencer(&l, "rekor");

    // Every metric an alert uses exists (Prometheus's own `up` aside).
    let mut have = m.families();
    have.extend(l.families());
    have.insert("up".into());
    let alerts = std::fs::read_to_string(repo_root().join("deploy/prometheus/alerts.yaml"))
        .expect("deploy/prometheus/alerts.yaml");
    let rules: serde_json::Value = serde_norway::from_str(&alerts).expect("alerts YAML");
    let mut used = 0;
    for group in rules["groups"].as_array().expect("groups") {
        for rule in group["rules"].as_array().expect("rules") {
            let expr = rule["expr"].as_str().expect("expr");
            for name in metric_names(expr) {
                let base = ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .unwrap_or(&name);
                assert!(
                    have.contains(base),
                    "alert {} uses {name}, which is not exported",
                    rule["alert"]
                );
                used += 1;
            }
        }
    }
    assert!(used > 5, "alerts use {used} metrics");

    // No token, proof of possession or password reached either log, even
    // with every sigstack crate at trace level; the request span did.
    let ca_log = ca.log_text();
    assert!(ca_log.contains("route"), "request spans are logged");
    assert_eq!(sent.len(), 12);
    for secret in &sent {
        // A JWS's signature part, or the proof itself.
        let tail = secret.rsplit('.').next().expect("text");
        assert!(
            !ca_log.contains(tail),
            "a token or proof reached the CA's log"
        );
    }
    for text in [&ca_log, &log.log_text()] {
        assert!(!text.contains(sigstack_e2e::serve::PASSWORD));
    }

    // Readiness on both listeners; then a graceful stop on SIGTERM.
    for served in [&ca, &log] {
        let body = served.get_json(&format!("{}/readyz", served.base)).await;
        assert_eq!(body["status"], "ready", "{body}");
        assert_eq!(body["checks"]["database"], "ok");
        assert_eq!(body["checks"]["keys"], "ok");
    }
    assert!(ca.terminate(Duration::from_secs(20)).success());
    assert!(log.terminate(Duration::from_secs(20)).success());
}

/// The sequencer's series for `log`: batches committed, as many batch sizes
/// and commit latencies recorded, a checkpoint signed within the last minute.
fn check_sequencer(m: &Metrics, log: &str) {
    let committed = m.value(
        "sigstack_sequencer_batches_total",
        &[("log", log), ("result", "committed")],
    );
    assert!(committed >= 1.0, "{log}: {committed}");
    assert_eq!(
        m.value("sigstack_sequencer_batch_size_count", &[("log", log)]),
        committed
    );
    assert_eq!(
        m.value(
            "sigstack_sequencer_commit_duration_seconds_count",
            &[("log", log)]
        ),
        committed
    );
    let buckets = m
        .matching(
            "sigstack_sequencer_commit_duration_seconds_bucket",
            &[("log", log)],
        )
        .count();
    assert!(buckets > 5, "a histogram with buckets: {buckets}");
    let signed = m.value("sigstack_checkpoint_timestamp_seconds", &[("log", log)]);
    assert!(
        (unix_now() - 60) as f64 <= signed && signed <= unix_now() as f64,
        "{signed}"
    );
    assert_eq!(
        m.value("sigstack_sequencer_queue_depth", &[("log", log)]),
        0.0
    );
}

/// The metric names in a PromQL expression: identifiers of ours or
/// upstream's families.
fn metric_names(expr: &str) -> Vec<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| {
            w.starts_with("sigstack_")
                || w.starts_with("rekor_")
                || w.starts_with("fulcio_")
                || *w == "up"
        })
        .map(str::to_owned)
        .collect()
}
