//! `sigstack up` end to end, as a user runs it: one process on a free port
//! over a fresh data directory, a token from `sigstack token`, a
//! certificate from the CA, a hashedrekord entry with it, the CA's gRPC on
//! the same port, SIGKILL, restart; and the trust files checked field by
//! field against what the stack signs with. Starts that must fail are in
//! `up_bad_start.rs`.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::Decode as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use sigstack_e2e::ca::RequesterKey;
use sigstack_e2e::ca::check::{extension_value, pem_to_der, v2_chain};
use sigstack_e2e::up::{Up, free_port, token};

/// What one signing left behind.
struct Signed {
    chain: Vec<Vec<u8>>,
    entry_id: String,
    entry: Value,
}

/// A certificate for `email` by the CSR form (sigstore-python's), then a
/// hashedrekord entry signed with its key and carrying it.
async fn sign_once(up: &Up, email: &str) -> Signed {
    let token = token(&up.data_dir, email, email);
    let key = RequesterKey::new();
    let response = up
        .http
        .post(up.url("/api/v2/signingCert"))
        .bearer_auth(&token)
        .json(&json!({"certificateSigningRequest": STANDARD.encode(key.csr_pem())}))
        .send()
        .await
        .expect("signingCert");
    let chain = v2_chain(response).await;
    let leaf_pem = sigstack_core::entry::pki::Certificate::from_der(&chain[0])
        .expect("leaf")
        .canonical_pem();
    let artifact = format!("artifact for {email} {}", rand::random::<u64>());
    let proposed = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(artifact.as_bytes()))}},
            "signature": {
                "content": STANDARD.encode(key.sign(artifact.as_bytes())),
                "publicKey": {"content": STANDARD.encode(leaf_pem.as_bytes())}
            }
        }
    });
    let response = up
        .http
        .post(up.url("/api/v1/log/entries"))
        .json(&proposed)
        .send()
        .await
        .expect("create entry");
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("entry JSON");
    let (entry_id, entry) = body
        .as_object()
        .and_then(|o| o.iter().next())
        .map(|(k, v)| (k.clone(), v.clone()))
        .expect("one entry");
    Signed {
        chain,
        entry_id,
        entry,
    }
}

/// Tree sizes of the transparency log and the CT log.
async fn sizes(up: &Up) -> (u64, u64) {
    let rekor = up.get_json("/api/v1/log").await["treeSize"]
        .as_u64()
        .expect("treeSize");
    let ct = up.get_json("/ct/v1/get-sth").await["tree_size"]
        .as_u64()
        .expect("tree_size");
    (rekor, ct)
}

/// The CA's gRPC edge (h2c) on `up`'s one port: health SERVING, the trust
/// bundle equal to the chain REST issued under, the dev issuer configured.
async fn grpc_answers(up: &Up, chain: &[Vec<u8>]) {
    use sigstack_ca::grpc::proto::ca_client::CaClient;
    use sigstack_ca::grpc::proto::{GetConfigurationRequest, GetTrustBundleRequest};
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let channel = tonic::transport::Endpoint::from_shared(up.base_url())
        .expect("endpoint")
        .connect_timeout(std::time::Duration::from_secs(5))
        .connect()
        .await
        .expect("h2c connect");
    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health")
        .into_inner();
    assert_eq!(health.status, ServingStatus::Serving as i32);
    let mut client = CaClient::new(channel);
    let bundle = client
        .get_trust_bundle(GetTrustBundleRequest {})
        .await
        .expect("GetTrustBundle")
        .into_inner();
    let ders: Vec<Vec<u8>> = bundle.chains[0]
        .certificates
        .iter()
        .map(|p| pem_to_der(p))
        .collect();
    assert_eq!(ders, chain);
    let configuration = client
        .get_configuration(GetConfigurationRequest {})
        .await
        .expect("GetConfiguration")
        .into_inner();
    let issuer = format!("{}/oidc", up.base_url());
    assert!(
        configuration.issuers.iter().any(|i| matches!(
            &i.issuer,
            Some(sigstack_ca::grpc::proto::oidc_issuer::Issuer::IssuerUrl(url)) if *url == issuer
        )),
        "the dev issuer is configured"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn up_issues_logs_and_keeps_every_entry_across_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let up = Up::start(&data, free_port()).await;
    let port = up.port;

    let health = up
        .http
        .get(up.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let unknown = up
        .http
        .get(up.url("/no/such/path"))
        .send()
        .await
        .expect("GET");
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.expect("404 answers JSON");
    assert_eq!(body["code"], 404);

    let signed = sign_once(&up, "alice@example.com").await;
    assert_eq!(signed.chain.len(), 3);
    grpc_answers(&up, &signed.chain[1..]).await;
    let checkpoint = signed.entry["verification"]["inclusionProof"]["checkpoint"]
        .as_str()
        .expect("checkpoint");
    assert!(
        checkpoint.starts_with("127.0.0.1 - "),
        "origin is the host without port: {checkpoint}"
    );
    assert!(checkpoint.contains("\n— 127.0.0.1 "), "{checkpoint}");
    let before = sizes(&up).await;
    assert!(
        before.0 >= 2 && before.1 >= 2,
        "genesis and ours: {before:?}"
    );

    up.kill();
    // No --listen: the recorded address is reused.
    let up = Up::start_with(&data, None).await;
    assert_eq!(up.port, port);
    assert_eq!(sizes(&up).await, before, "both trees kept their size");
    let again = up
        .get_json(&format!("/api/v1/log/entries/{}", signed.entry_id))
        .await;
    assert_eq!(
        again[&signed.entry_id]["body"], signed.entry["body"],
        "the entry survived the kill"
    );
    // A second signing after the restart extends both trees by one.
    sign_once(&up, "bob@example.com").await;
    assert_eq!(sizes(&up).await, (before.0 + 1, before.1 + 1));
    // Ready, and /metrics on the same port counts what this process did.
    let ready = up.get_json("/readyz").await;
    assert_eq!(ready["status"], "ready", "{ready}");
    let text = up.get_text("/metrics").await;
    let metrics = sigstack_e2e::serve::Metrics::parse(&text);
    assert_eq!(metrics.value("fulcio_new_certs", &[]), 1.0);
    assert_eq!(metrics.value("rekor_new_entries", &[]), 1.0);
    #[allow(clippy::cast_precision_loss)]
    let rekor_size = (before.0 + 1) as f64;
    assert_eq!(
        metrics.value("rekor_entry_count", &[("log", "rekor")]),
        rekor_size
    );

    // SIGTERM: a clean exit, and a restart keeps everything.
    let status = up.terminate();
    assert!(status.success(), "graceful shutdown: {status}");
    let up = Up::start_with(&data, None).await;
    assert_eq!(sizes(&up).await, (before.0 + 1, before.1 + 1));
}

/// Seconds since the epoch of an RFC 3339 time.
fn unix(text: &str) -> i64 {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        .unix_timestamp()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("trust file")).expect("JSON")
}

fn b64(text: &Value) -> Vec<u8> {
    STANDARD
        .decode(text.as_str().expect("base64 string"))
        .expect("base64")
}

/// The log ID in the leaf's one embedded SCT (RFC 6962 §3.3: the
/// extension's OCTET STRING holds a u16-length list of u16-length SCTs,
/// each version, then the 32-byte log ID).
fn sct_log_id(leaf: &[u8]) -> Vec<u8> {
    let cert = x509_cert::Certificate::from_der(leaf).expect("leaf");
    let value = extension_value(&cert, "1.3.6.1.4.1.11129.2.4.2").expect("SCT list");
    let list = der::asn1::OctetString::from_der(&value).expect("OCTET STRING");
    let list = list.as_bytes();
    assert_eq!(list[4], 0, "SCT v1");
    list[5..37].to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn trust_files_match_what_the_stack_signs_with() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let up = Up::start(&data, free_port()).await;
    let base = up.base_url();
    let signed = sign_once(&up, "carol@example.com").await;
    let trust = data.join("trust");

    let root = read_json(&trust.join("trusted_root.json"));
    assert_eq!(
        root["mediaType"],
        "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
    );
    assert_eq!(root["timestampAuthorities"], json!([]));

    // The transparency log: the key it serves and signs entries with.
    let pem = up.get_text("/api/v1/log/publicKey").await;
    let rekor_spki = pem_to_der(&pem);
    let tlogs = root["tlogs"].as_array().expect("tlogs");
    assert_eq!(tlogs.len(), 1);
    let tlog = &tlogs[0];
    assert_eq!(tlog["baseUrl"], base);
    assert_eq!(tlog["hashAlgorithm"], "SHA2_256");
    assert_eq!(b64(&tlog["publicKey"]["rawBytes"]), rekor_spki);
    assert_eq!(tlog["publicKey"]["keyDetails"], "PKIX_ECDSA_P256_SHA_256");
    let rekor_id = Sha256::digest(&rekor_spki).to_vec();
    assert_eq!(b64(&tlog["logId"]["keyId"]), rekor_id);
    assert_eq!(
        signed.entry["logID"],
        hex::encode(&rekor_id),
        "the entry's log ID"
    );
    assert!(tlog.get("checkpointKeyId").is_none());
    let integrated = signed.entry["integratedTime"]
        .as_i64()
        .expect("integratedTime");
    let tlog_start = unix(
        tlog["publicKey"]["validFor"]["start"]
            .as_str()
            .expect("start"),
    );
    assert!(tlog_start <= integrated, "validFor.start before first use");
    assert!(tlog["publicKey"]["validFor"].get("end").is_none());

    // The CT log: its ID is the one in the SCT the CA embedded.
    let ctlogs = root["ctlogs"].as_array().expect("ctlogs");
    assert_eq!(ctlogs.len(), 1);
    let ct = &ctlogs[0];
    assert_eq!(ct["baseUrl"], base);
    let ct_spki = b64(&ct["publicKey"]["rawBytes"]);
    assert_eq!(
        b64(&ct["logId"]["keyId"]),
        Sha256::digest(&ct_spki).to_vec()
    );
    assert_eq!(b64(&ct["logId"]["keyId"]), sct_log_id(&signed.chain[0]));
    assert_eq!(ct["publicKey"]["keyDetails"], "PKIX_ECDSA_P256_SHA_256");
    let leaf = x509_cert::Certificate::from_der(&signed.chain[0]).expect("leaf");
    let issued = i64::try_from(
        leaf.tbs_certificate()
            .validity()
            .not_before
            .to_unix_duration()
            .as_secs(),
    )
    .expect("time");
    let ct_start = unix(
        ct["publicKey"]["validFor"]["start"]
            .as_str()
            .expect("start"),
    );
    assert!(ct_start <= issued, "CT key valid before the first issuance");

    // The CA: at the host root, its chain as issued, the self-signed root last.
    let cas = root["certificateAuthorities"].as_array().expect("CAs");
    assert_eq!(cas.len(), 1);
    let ca = &cas[0];
    assert_eq!(ca["uri"], base);
    let chain: Vec<Vec<u8>> = ca["certChain"]["certificates"]
        .as_array()
        .expect("certificates")
        .iter()
        .map(|c| b64(&c["rawBytes"]))
        .collect();
    assert_eq!(chain, signed.chain[1..], "intermediate then root, no leaf");
    let last = x509_cert::Certificate::from_der(chain.last().expect("root")).expect("root");
    assert_eq!(
        last.tbs_certificate().issuer(),
        last.tbs_certificate().subject(),
        "root last"
    );
    let ca_start = unix(ca["validFor"]["start"].as_str().expect("start"));
    assert!(ca_start <= issued);

    // The signing config: one service of each kind, selectors ANY.
    let config = read_json(&trust.join("signing_config.v0.2.json"));
    assert_eq!(
        config["mediaType"],
        "application/vnd.dev.sigstore.signingconfig.v0.2+json"
    );
    let oidc = format!("{base}/oidc");
    for (field, url) in [
        ("caUrls", &base),
        ("rekorTlogUrls", &base),
        ("oidcUrls", &oidc),
    ] {
        let services = config[field].as_array().expect(field);
        assert_eq!(services.len(), 1, "{field}");
        assert_eq!(services[0]["url"], *url, "{field}");
        assert_eq!(services[0]["majorApiVersion"], 1, "{field}");
        assert_eq!(services[0]["operator"], "127.0.0.1", "{field}");
        let start = unix(services[0]["validFor"]["start"].as_str().expect("start"));
        assert!(start <= integrated, "{field}");
    }
    assert_eq!(config["rekorTlogConfig"], json!({"selector": "ANY"}));
    assert_eq!(config["tsaConfig"], json!({"selector": "ANY"}));
    assert_eq!(config["tsaUrls"], json!([]));
    let discovery = up.get_json("/oidc/.well-known/openid-configuration").await;
    assert_eq!(discovery["issuer"], oidc, "the issuer the tokens name");

    let both = read_json(&trust.join("trust_config.json"));
    assert_eq!(
        both["mediaType"],
        "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
    );
    assert_eq!(both["trustedRoot"], root);
    assert_eq!(both["signingConfig"], config);

    // The PEMs and cosign's files name the same material.
    let chain_pem = std::fs::read_to_string(trust.join("ca-chain.pem")).expect("chain");
    let blocks: Vec<Vec<u8>> = chain_pem
        .split_inclusive("-----END CERTIFICATE-----\n")
        .map(pem_to_der)
        .collect();
    assert_eq!(blocks, chain);
    let rekor_pem = std::fs::read_to_string(trust.join("rekor.pub.pem")).expect("rekor key");
    assert_eq!(pem_to_der(&rekor_pem), rekor_spki);
    let ct_pem = std::fs::read_to_string(trust.join("ctlog.pub.pem")).expect("ct key");
    assert_eq!(pem_to_der(&ct_pem), ct_spki);
    let env = std::fs::read_to_string(trust.join("cosign.env")).expect("cosign.env");
    let trust_abs = std::fs::canonicalize(&trust).expect("trust dir");
    for (name, file) in [
        ("SIGSTORE_ROOT_FILE", "ca-chain.pem"),
        ("SIGSTORE_REKOR_PUBLIC_KEY", "rekor.pub.pem"),
        ("SIGSTORE_CT_LOG_PUBLIC_KEY_FILE", "ctlog.pub.pem"),
    ] {
        let line = format!("export {name}={}\n", trust_abs.join(file).display());
        assert!(env.contains(&line), "{line} in {env}");
    }
    let v3 = std::fs::read_to_string(trust.join("cosign-v3.txt")).expect("cosign-v3.txt");
    assert!(v3.contains(&format!(
        "--trusted-root {}",
        trust_abs.join("trusted_root.json").display()
    )));
    assert!(v3.contains(&format!(
        "--signing-config {}",
        trust_abs.join("signing_config.v0.2.json").display()
    )));

    // `trust export` from the data directory writes the same documents.
    let out = dir.path().join("exported");
    let output = sigstack_e2e::up::sigstack(&[
        "trust",
        "export",
        "--data-dir",
        &data.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(read_json(&out.join("trusted_root.json")), root);

    // And for a production deployment, from explicit URLs and files.
    let prod = dir.path().join("prod");
    let output = sigstack_e2e::up::sigstack(&[
        "trust",
        "export",
        "--out",
        &prod.display().to_string(),
        "--ca-url",
        "https://fulcio.corp.example",
        "--rekor-url",
        "https://rekor.corp.example",
        "--ct-url",
        "https://ctlog.corp.example/2026",
        "--oidc-url",
        "https://dex.corp.example",
        "--ca-chain",
        &trust.join("ca-chain.pem").display().to_string(),
        "--rekor-public-key",
        &trust.join("rekor.pub.pem").display().to_string(),
        "--ct-public-key",
        &trust.join("ctlog.pub.pem").display().to_string(),
        "--valid-from",
        "2026-01-02T03:04:05Z",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let prod_root = read_json(&prod.join("trusted_root.json"));
    assert_eq!(
        prod_root["tlogs"][0]["baseUrl"],
        "https://rekor.corp.example"
    );
    assert_eq!(
        prod_root["ctlogs"][0]["baseUrl"],
        "https://ctlog.corp.example/2026"
    );
    assert_eq!(
        prod_root["tlogs"][0]["publicKey"]["validFor"]["start"],
        "2026-01-02T03:04:05Z"
    );
    assert_eq!(prod_root["tlogs"][0]["logId"], tlog["logId"]);
    let prod_config = read_json(&prod.join("signing_config.v0.2.json"));
    assert_eq!(prod_config["caUrls"][0]["operator"], "fulcio.corp.example");
    assert_eq!(
        prod_config["oidcUrls"][0]["url"],
        "https://dex.corp.example"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_without_flags_keeps_the_recorded_host_and_port() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let port = free_port();
    let up = Up::start_args(&data, Some(port), &["--hostname", "localhost"]).await;
    up.kill();
    let up = Up::start_with(&data, None).await;
    assert_eq!(up.port, port);
    let root = read_json(&data.join("trust").join("trusted_root.json"));
    assert_eq!(
        root["tlogs"][0]["baseUrl"],
        format!("http://localhost:{port}")
    );
    let head = up.get_json("/api/v1/log").await;
    let checkpoint = head["signedTreeHead"].as_str().expect("signedTreeHead");
    assert!(checkpoint.starts_with("localhost - "), "{checkpoint}");
    let discovery = up.get_json("/oidc/.well-known/openid-configuration").await;
    assert_eq!(discovery["issuer"], format!("http://localhost:{port}/oidc"));
}
