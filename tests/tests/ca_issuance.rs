//! The CA end to end over HTTP, on both backends: each request form, each
//! issuer type with a realistic claim set, every refusal of `spec/ca.md`
//! §14 (400, the fixed message, nothing issued, the CT tree unchanged), and
//! the issued certificates checked by code we did not write (OpenSSL for the
//! chain, Python's `cryptography` for the embedded SCT) plus a CT inclusion
//! proof for the precertificate.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use der::{Decode as _, Encode as _};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use sigstack_core::hash::{Hash, leaf_hash};
use sigstack_core::ids::{LeafIndex, TreeSize};
use sigstack_core::inclusion;
use sigstack_e2e::both_backends;
use sigstack_e2e::ca::check::{check_leaf, counts, extension_value, pem_to_der, san_of, v2_chain};
use sigstack_e2e::ca::{CaSetup, CaStack, RequesterKey, unix_now as now};
use sigstack_engine::EngineStore;
use sigstack_store::issuance::IssuanceStore;
use x509_cert::Certificate;

const TOKEN_ERROR: &str = "There was an error processing the identity token";

both_backends!(
    every_request_form_gets_a_certificate_with_one_sct,
    each_issuer_type_maps_its_claims,
    every_refusal_is_400_and_issues_nothing,
    certificates_verify_with_code_we_did_not_write,
    trust_bundle_configuration_and_root_cert,
);

/// The same issuance tests with the CA key in a PKCS#11 token (SoftHSM2,
/// a fresh token per test, run in a child process: see
/// `sigstack_testkit::softhsm`), over SQLite.
macro_rules! with_hsm_ca {
    ($($name:ident),* $(,)?) => {
        mod pkcs11 {
            $(#[test]
            fn $name() {
                sigstack_testkit::softhsm::in_fresh_token(
                    concat!("pkcs11::", stringify!($name)),
                    |token| {
                        let runtime = tokio::runtime::Builder::new_multi_thread()
                            .worker_threads(2)
                            .enable_all()
                            .build()
                            .expect("runtime");
                        runtime.block_on(async {
                            let fixture = sigstack_testkit::sqlite_store().await;
                            super::$name(fixture.store.clone(), super::hsm_setup(token)).await;
                        });
                    },
                );
            })*
        }
    };
}

with_hsm_ca!(
    every_request_form_gets_a_certificate_with_one_sct,
    every_refusal_is_400_and_issues_nothing,
    certificates_verify_with_code_we_did_not_write,
);

/// A P-384 key made in `token`, an intermediate for it signed by a fresh
/// root, and the PKCS#11 signer for that key.
fn hsm_setup(token: &sigstack_testkit::softhsm::SoftHsmToken) -> CaSetup {
    use sigstack_testkit::softhsm::{TOKEN_LABEL, USER_PIN};
    let label = "sigstack-e2e-ca";
    let key =
        sigstack_signer::generate_p384(&token.module, TOKEN_LABEL, USER_PIN.as_bytes(), label)
            .expect("P-384 key in the token");
    let start = now() - 3600;
    let root = sigstack_core::certificate::new_root("sigstack e2e hsm", start, 1).expect("root");
    let intermediate = sigstack_core::certificate::intermediate_for_key(
        &root,
        &key.subject_public_key_info,
        "sigstack e2e hsm",
        start,
        1,
    )
    .expect("intermediate");
    let signer = sigstack_signer::pkcs11::Pkcs11Signer::open(&sigstack_signer::Pkcs11Config {
        module: token.module.clone(),
        token_label: Some(TOKEN_LABEL.to_owned()),
        slot: None,
        pin_file: token.pin_file.clone(),
        key_label: Some(label.to_owned()),
        key_id: None,
        sessions: None,
    })
    .expect("open the token key");
    CaSetup {
        signer: Box::new(signer),
        chain: vec![intermediate, root.certificate_der],
    }
}

/// The UTF8String value of Sigstore extension `.arc`, or the raw bytes of .1–.6.
fn sigstore_ext(cert: &Certificate, arc: u32) -> Option<String> {
    let raw = extension_value(cert, &format!("1.3.6.1.4.1.57264.1.{arc}"))?;
    if arc <= 6 {
        return Some(String::from_utf8(raw).expect("raw UTF-8"));
    }
    Some(
        der::asn1::Utf8StringRef::from_der(&raw)
            .expect("UTF8String")
            .as_str()
            .to_owned(),
    )
}

async fn every_request_form_gets_a_certificate_with_one_sct<
    S: EngineStore + IssuanceStore + Clone + 'static,
>(
    store: S,
    setup: CaSetup,
) {
    let stack = CaStack::serve_with(store, setup).await;
    let email = "alice@example.org";
    let claims = json!({"email": email, "email_verified": true});
    let key = RequesterKey::new();
    let (ct_before, issued_before) = counts(&stack).await;

    // v2, CSR with a Bearer token (sigstore-python, sigstore-rs).
    let token = stack.token("email", "alice", claims.clone());
    let csr = STANDARD.encode(key.csr_pem());
    let chain = v2_chain(
        stack
            .post(
                "/api/v2/signingCert",
                Some(&token),
                &json!({"certificateSigningRequest": csr}),
            )
            .await,
    )
    .await;
    let leaf = check_leaf(&chain[0], &chain[1]);
    assert_eq!(san_of(&leaf), format!("email:{email}"));
    assert_eq!(chain[1], stack.chain[0]);
    assert_eq!(chain[2], stack.chain[1]);
    let spki = leaf
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .expect("SPKI");
    assert_eq!(spki, key.spki_der(), "the requester's key, as submitted");

    // v2, publicKeyRequest with the token in the body (sigstore-js).
    let token = stack.token("email", "alice", claims.clone());
    let request = json!({
        "credentials": {"oidcIdentityToken": token},
        "publicKeyRequest": {
            "publicKey": {"algorithm": "ECDSA", "content": key.spki_pem()},
            "proofOfPossession": STANDARD.encode(key.sign(email.as_bytes())),
        }
    });
    let chain = v2_chain(stack.post("/api/v2/signingCert", None, &request).await).await;
    check_leaf(&chain[0], &chain[1]);

    // v2, publicKeyRequest with Bearer (sigstore-go), snake_case names and
    // URL-safe unpadded base64, an unknown enum name and an unknown field.
    let token = stack.token("email", "alice", claims.clone());
    let request = json!({
        "public_key_request": {
            "public_key": {"algorithm": "RSA", "content": key.spki_pem()},
            "proof_of_possession": URL_SAFE_NO_PAD.encode(key.sign(email.as_bytes())),
        },
        "somethingNew": 1,
    });
    let chain = v2_chain(
        stack
            .post("/api/v2/signingCert", Some(&token), &request)
            .await,
    )
    .await;
    check_leaf(&chain[0], &chain[1]);

    // v1 (cosign 2.x): base64 PEM, then base64 DER (sigstore-rs), 201 + PEM chain.
    for content in [
        STANDARD.encode(key.spki_pem()),
        STANDARD.encode(key.spki_der()),
    ] {
        let token = stack.token("email", "alice", claims.clone());
        let request = json!({
            "publicKey": {"content": content},
            "signedEmailAddress": STANDARD.encode(key.sign(email.as_bytes())),
        });
        let response = stack
            .post("/api/v1/signingCert", Some(&token), &request)
            .await;
        assert_eq!(response.status(), 201);
        assert_eq!(
            response.headers().get("content-type").expect("type"),
            "application/pem-certificate-chain"
        );
        assert!(response.headers().get("sct").is_none(), "embedded SCT only");
        let text = response.text().await.expect("body");
        assert!(!text.ends_with('\n'), "trimmed");
        let blocks: Vec<&str> = text
            .split_inclusive("-----END CERTIFICATE-----")
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .collect();
        assert_eq!(blocks.len(), 3);
        let chain: Vec<Vec<u8>> = blocks.iter().map(|b| pem_to_der(b)).collect();
        check_leaf(&chain[0], &chain[1]);
    }

    let (ct_after, issued_after) = counts(&stack).await;
    assert_eq!(issued_after - issued_before, 5);
    assert_eq!(
        ct_after - ct_before,
        5,
        "one precertificate logged per certificate"
    );
}

async fn each_issuer_type_maps_its_claims<S: EngineStore + IssuanceStore + Clone + 'static>(
    store: S,
    setup: CaSetup,
) {
    let stack = CaStack::serve_with(store, setup).await;
    let base = stack.base.clone();
    let key = RequesterKey::new();
    let github = json!({
        "jti": "3f7b5f0e-8a4c-4c6e-9a0b-0b8d6c3a1e22", "ref": "refs/heads/main",
        "sha": "a81bc81b3d1c2f6e4a5b9c0d7e8f1a2b3c4d5e6f", "repository": "octo-org/octo-repo",
        "repository_owner": "octo-org", "repository_owner_id": "9919", "run_id": "6042123456",
        "run_number": "42", "run_attempt": "1", "repository_visibility": "public",
        "repository_id": "354321", "actor_id": "1234", "actor": "octocat", "workflow": "Release",
        "head_ref": "", "base_ref": "", "event_name": "push", "ref_protected": "true",
        "ref_type": "branch",
        "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
        "workflow_sha": "a81bc81b3d1c2f6e4a5b9c0d7e8f1a2b3c4d5e6f",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
        "job_workflow_sha": "a81bc81b3d1c2f6e4a5b9c0d7e8f1a2b3c4d5e6f",
        "runner_environment": "github-hosted"
    });
    let gitlab = json!({
        "namespace_id": "72", "namespace_path": "acme", "project_id": "20",
        "project_path": "acme/widget", "user_id": "5", "user_login": "dev",
        "user_email": "dev@acme.example", "user_access_level": "maintainer",
        "pipeline_id": "1212", "pipeline_source": "push", "job_id": "4411", "ref": "main",
        "ref_type": "branch", "ref_path": "refs/heads/main", "ref_protected": "true",
        "runner_id": 17, "runner_environment": "gitlab-hosted",
        "sha": "714a629c0b401fdce83e847fc9589983fc6f46bc", "project_visibility": "public",
        "ci_config_ref_uri": "gitlab.com/acme/widget//.gitlab-ci.yml@refs/heads/main",
        "ci_config_sha": "714a629c0b401fdce83e847fc9589983fc6f46bc",
        "jti": "235b3a54-b797-45c7-ae9a-f72d7bc6ef5b"
    });
    let kubernetes = json!({"kubernetes.io": {"namespace": "build",
        "pod": {"name": "signer-7c9f", "uid": "5d1a"},
        "serviceaccount": {"name": "cosign", "uid": "8e2b"}}});
    let buildkite = json!({
        "organization_slug": "acme-inc", "pipeline_slug": "super-duper-app", "build_number": 1,
        "build_branch": "main", "build_tag": null,
        "build_commit": "9f3182061f1e2cca4702c368cbc039b7dc9d4485", "build_source": "ui",
        "step_key": "build", "job_id": "0184990a-477b-4fa8-9968-496074483cee",
        "agent_id": "0184990a-4782-42b5-afc1-16715b10b8ff",
        "runner_environment": "buildkite-hosted"
    });
    let cases: Vec<(&str, String, Value, String)> = vec![
        (
            "email",
            "user-42".into(),
            json!({"email": "bob@example.org", "email_verified": true}),
            "email:bob@example.org".into(),
        ),
        (
            "github-workflow",
            "repo:octo-org/octo-repo:ref:refs/heads/main".into(),
            github,
            "uri:https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main"
                .into(),
        ),
        (
            "gitlab-pipeline",
            "project_path:acme/widget:ref_type:branch:ref:main".into(),
            gitlab,
            "uri:https://gitlab.com/acme/widget//.gitlab-ci.yml@refs/heads/main".into(),
        ),
        (
            "kubernetes",
            "system:serviceaccount:build:cosign".into(),
            kubernetes,
            "uri:https://kubernetes.io/namespaces/build/serviceaccounts/cosign".into(),
        ),
        (
            "spiffe",
            "spiffe://example.org/ns/build/sa/signer".into(),
            json!({}),
            "uri:spiffe://example.org/ns/build/sa/signer".into(),
        ),
        (
            "buildkite-job",
            "organization:acme-inc:pipeline:super-duper-app:ref:refs/heads/main:commit:9f3182061f1e2cca4702c368cbc039b7dc9d4485:step:build".into(),
            buildkite,
            "uri:https://buildkite.com/acme-inc/super-duper-app".into(),
        ),
        (
            "uri",
            "http://127.0.0.1/jobs/7".into(),
            json!({}),
            "uri:http://127.0.0.1/jobs/7".into(),
        ),
        (
            "username",
            "carol".into(),
            json!({}),
            "othername:1.3.6.1.4.1.57264.1.7:carol!127.0.0.1".into(),
        ),
    ];
    for (kind, subject, claims, expected_san) in cases {
        let token = stack.token(kind, &subject, claims);
        // CSR: no challenge, so the mapping alone decides the SAN.
        let response = stack
            .post(
                "/api/v2/signingCert",
                Some(&token),
                &json!({"certificateSigningRequest": STANDARD.encode(key.csr_pem())}),
            )
            .await;
        let chain = v2_chain(response).await;
        let leaf = check_leaf(&chain[0], &chain[1]);
        assert_eq!(san_of(&leaf), expected_san, "{kind}");
        let issuer = format!("{base}/oidc/{kind}");
        assert_eq!(
            sigstore_ext(&leaf, 1).as_deref(),
            Some(issuer.as_str()),
            "{kind} .1"
        );
        assert_eq!(
            sigstore_ext(&leaf, 8).as_deref(),
            Some(issuer.as_str()),
            "{kind} .8"
        );
        assert_eq!(
            sigstore_ext(&leaf, 24).as_deref(),
            Some(subject.as_str()),
            "{kind} .24"
        );
        assert!(sigstore_ext(&leaf, 7).is_none(), ".7 is never an extension");
        if kind == "github-workflow" {
            assert_eq!(sigstore_ext(&leaf, 2).as_deref(), Some("push"));
            assert_eq!(
                sigstore_ext(&leaf, 12).as_deref(),
                Some("https://github.com/octo-org/octo-repo")
            );
            assert_eq!(
                sigstore_ext(&leaf, 21).as_deref(),
                Some("https://github.com/octo-org/octo-repo/actions/runs/6042123456/attempts/1")
            );
        }
        if kind == "gitlab-pipeline" {
            assert_eq!(
                sigstore_ext(&leaf, 21).as_deref(),
                Some("https://gitlab.com/acme/widget/-/jobs/4411")
            );
        }
        if kind == "buildkite-job" {
            // The legacy type carries the issuer and subject only (ca.md §7.2).
            assert!(sigstore_ext(&leaf, 11).is_none());
        }
    }

    // The public-key form signs `sub` for a non-email type (ca.md §5.1 step 4).
    let subject = "spiffe://example.org/ns/build/sa/signer";
    let token = stack.token("spiffe", subject, json!({}));
    let request = json!({"publicKeyRequest": {"publicKey": {"content": key.spki_pem()},
        "proofOfPossession": STANDARD.encode(key.sign(subject.as_bytes()))}});
    v2_chain(
        stack
            .post("/api/v2/signingCert", Some(&token), &request)
            .await,
    )
    .await;

    // A non-email issuer whose token carries an email: the key-based clients
    // sign the email, Fulcio's rule is `sub`; both are accepted, nothing
    // else is, and the SAN stays the type's.
    let subject = "system:serviceaccount:build:cosign";
    let claims = json!({"email": "robot@example.org", "email_verified": true,
        "kubernetes.io": {"namespace": "build", "serviceaccount": {"name": "cosign", "uid": "8e2b"}}});
    for (challenge, accepted) in [
        ("robot@example.org", true),
        (subject, true),
        ("someone-else@example.org", false),
    ] {
        let token = stack.token("kubernetes", subject, claims.clone());
        let request = json!({"publicKeyRequest": {"publicKey": {"content": key.spki_pem()},
            "proofOfPossession": STANDARD.encode(key.sign(challenge.as_bytes()))}});
        let response = stack
            .post("/api/v2/signingCert", Some(&token), &request)
            .await;
        if accepted {
            let chain = v2_chain(response).await;
            let leaf = check_leaf(&chain[0], &chain[1]);
            assert_eq!(
                san_of(&leaf),
                "uri:https://kubernetes.io/namespaces/build/serviceaccounts/cosign"
            );
        } else {
            assert_eq!(response.status(), 400, "{challenge}");
        }
    }
}

/// An RSA-1024 public key from OpenSSL: parsable, and refused as insecure.
fn rsa_1024_pem(dir: &Path) -> String {
    let key = dir.join("rsa1024.pem");
    let out = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
            "-out",
        ])
        .arg(&key)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .output()
        .expect("run openssl");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("PEM")
}

async fn every_refusal_is_400_and_issues_nothing<
    S: EngineStore + IssuanceStore + Clone + 'static,
>(
    store: S,
    setup: CaSetup,
) {
    let stack = CaStack::serve_with(store, setup).await;
    let key = RequesterKey::new();
    let email = "alice@example.org";
    let claims = json!({"email": email, "email_verified": true});
    let issuer = stack.issuer("email");
    let iss = issuer.url().to_owned();
    let t = now();
    let pop = |token: &str, challenge: &str| {
        json!({"credentials": {"oidcIdentityToken": token},
            "publicKeyRequest": {"publicKey": {"content": key.spki_pem()},
            "proofOfPossession": STANDARD.encode(key.sign(challenge.as_bytes()))}})
    };
    let base_claims = |exp: i64, nbf: i64| {
        json!({"iss": iss, "sub": "alice", "aud": "sigstore", "iat": nbf, "nbf": nbf,
            "exp": exp, "email": email, "email_verified": true})
    };
    let dir = tempfile::tempdir().expect("temp dir");

    let valid_header = json!({"alg": "ES256", "typ": "JWT", "kid": issuer.key_id()});
    let expired = issuer
        .sign_jws(&valid_header, &base_claims(t - 5, t - 605))
        .expect("jws");
    let not_yet_valid = issuer
        .sign_jws(&valid_header, &base_claims(t + 1200, t + 600))
        .expect("jws");
    let mut wrong_audience_claims = base_claims(t + 600, t);
    wrong_audience_claims["aud"] = json!("someone-else");
    let wrong_audience = issuer
        .sign_jws(&valid_header, &wrong_audience_claims)
        .expect("jws");
    let unknown_issuer = stack.token("unconfigured", "alice", claims.clone());
    // Signed by another key under the email issuer's kid.
    let bad_signature = stack
        .issuer("unconfigured")
        .sign_jws(&valid_header, &base_claims(t + 600, t))
        .expect("jws");
    let unknown_kid = issuer
        .sign_jws(
            &json!({"alg": "ES256", "typ": "JWT", "kid": "no-such-key"}),
            &base_claims(t + 600, t),
        )
        .expect("jws");
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(base_claims(t + 600, t).to_string())
    );
    let unverified_email = stack.token(
        "email",
        "alice",
        json!({"email": email, "email_verified": false}),
    );
    let good = || stack.token("email", "alice", claims.clone());

    let cases: Vec<(&str, Option<String>, Value, &str)> = vec![
        ("no token", None, pop("", email), TOKEN_ERROR),
        ("not a JWT", None, pop("not.a-jwt", email), TOKEN_ERROR),
        ("expired", None, pop(&expired, email), TOKEN_ERROR),
        (
            "not yet valid",
            None,
            pop(&not_yet_valid, email),
            TOKEN_ERROR,
        ),
        (
            "wrong audience",
            None,
            pop(&wrong_audience, email),
            TOKEN_ERROR,
        ),
        (
            "unknown issuer",
            None,
            pop(&unknown_issuer, email),
            TOKEN_ERROR,
        ),
        (
            "bad signature",
            None,
            pop(&bad_signature, email),
            TOKEN_ERROR,
        ),
        ("unknown kid", None, pop(&unknown_kid, email), TOKEN_ERROR),
        ("alg none", None, pop(&alg_none, email), TOKEN_ERROR),
        (
            "unverified email",
            None,
            pop(&unverified_email, email),
            TOKEN_ERROR,
        ),
        (
            "bad proof of possession",
            None,
            pop(&good(), "mallory@example.org"),
            "The signature supplied in the request could not be verified",
        ),
        (
            "unsupported key",
            Some(good()),
            json!({"publicKeyRequest": {"publicKey": {"content": rsa_1024_pem(dir.path())},
                "proofOfPossession": STANDARD.encode(b"irrelevant")}}),
            "The public key supplied in the request is insecure",
        ),
        (
            "unparsable key",
            Some(good()),
            json!({"publicKeyRequest": {"publicKey": {"content": "not a key"},
                "proofOfPossession": ""}}),
            "The public key supplied in the request could not be parsed",
        ),
        (
            "CSR that is not PEM",
            Some(good()),
            json!({"certificateSigningRequest": STANDARD.encode(b"garbage")}),
            "The certificate signing request could not be parsed",
        ),
        (
            "no key at all",
            Some(good()),
            json!({}),
            "The public key supplied in the request could not be parsed",
        ),
    ];
    let (ct_before, issued_before) = counts(&stack).await;
    for (what, bearer, body, message) in cases {
        let response = stack
            .post("/api/v2/signingCert", bearer.as_deref(), &body)
            .await;
        let status = response.status();
        let body: Value = response.json().await.expect("JSON error body");
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(body["code"], 3, "{what}: InvalidArgument");
        assert_eq!(body["message"], message, "{what}");
    }
    // Malformed JSON is 400 with the parser's text; v1 without a key likewise.
    let response = stack
        .client
        .post(format!("{}/api/v2/signingCert", stack.base))
        .body("{not json")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 400);
    let response = stack
        .post("/api/v1/signingCert", Some(&good()), &json!({}))
        .await;
    assert_eq!(response.status(), 400);
    // A token in the v1 body is not read: v1 is header-only.
    let response = stack
        .post(
            "/api/v1/signingCert",
            None,
            &json!({"credentials": {"oidcIdentityToken": good()},
                "publicKey": {"content": STANDARD.encode(key.spki_pem())},
                "signedEmailAddress": STANDARD.encode(key.sign(email.as_bytes()))}),
        )
        .await;
    assert_eq!(response.status(), 400);

    assert_eq!(
        counts(&stack).await,
        (ct_before, issued_before),
        "nothing logged, nothing issued"
    );
    // And the service keeps serving.
    let chain = v2_chain(
        stack
            .post("/api/v2/signingCert", None, &pop(&good(), email))
            .await,
    )
    .await;
    check_leaf(&chain[0], &chain[1]);
}

fn write_pem(dir: &Path, name: &str, der: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    let b64 = STANDARD.encode(der);
    let mut text = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).expect("ascii"));
        text.push('\n');
    }
    text.push_str("-----END CERTIFICATE-----\n");
    std::fs::write(&path, text).expect("write PEM");
    path
}

fn python() -> String {
    std::env::var("SIGSTACK_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

async fn certificates_verify_with_code_we_did_not_write<
    S: EngineStore + IssuanceStore + Clone + 'static,
>(
    store: S,
    setup: CaSetup,
) {
    let stack = CaStack::serve_with(store, setup).await;
    let key = RequesterKey::new();
    let token = stack.token(
        "email",
        "alice",
        json!({"email": "alice@example.org", "email_verified": true}),
    );
    let chain = v2_chain(
        stack
            .post(
                "/api/v2/signingCert",
                Some(&token),
                &json!({"certificateSigningRequest": STANDARD.encode(key.csr_pem())}),
            )
            .await,
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let leaf = write_pem(dir.path(), "leaf.pem", &chain[0]);
    let intermediate = write_pem(dir.path(), "intermediate.pem", &chain[1]);
    let root = write_pem(dir.path(), "root.pem", &chain[2]);

    // OpenSSL: the whole chain to the root, and the leaf against the
    // intermediate alone as a partial chain.
    for args in [
        vec![
            "-CAfile",
            root.to_str().expect("path"),
            "-untrusted",
            intermediate.to_str().expect("path"),
        ],
        vec![
            "-partial_chain",
            "-CAfile",
            intermediate.to_str().expect("path"),
        ],
    ] {
        let output = Command::new("openssl")
            .arg("verify")
            .args(["-purpose", "any"])
            .args(&args)
            .arg(&leaf)
            .output()
            .expect("run openssl verify");
        assert!(
            output.status.success(),
            "openssl verify {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // OpenSSL must also refuse it against an unrelated CA (the check can fail).
    let other =
        sigstack_core::certificate::new_hierarchy("unrelated", now() - 60, 1).expect("hierarchy");
    let unrelated = write_pem(
        dir.path(),
        "unrelated.pem",
        &other.intermediate.certificate_der,
    );
    let output = Command::new("openssl")
        .args(["verify", "-purpose", "any", "-partial_chain", "-CAfile"])
        .arg(&unrelated)
        .arg(&leaf)
        .output()
        .expect("run openssl verify");
    assert!(!output.status.success(), "unrelated CA must not verify");

    // Python's cryptography: the embedded SCT against the CT log's key.
    let ct_key = dir.path().join("ct.der");
    std::fs::write(&ct_key, &stack.ct_key_spki).expect("write CT key");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/verify_sct.py");
    let run = |ct_key: &Path| {
        Command::new(python())
            .arg(&script)
            .arg(&leaf)
            .arg(&intermediate)
            .arg(ct_key)
            .output()
            .expect("run python3")
    };
    let output = run(&ct_key);
    assert!(
        output.status.success(),
        "SCT check: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // With another key the same check fails (it can fail).
    let wrong_key = dir.path().join("wrong.der");
    std::fs::write(&wrong_key, RequesterKey::new().spki_der()).expect("write key");
    assert!(
        !run(&wrong_key).status.success(),
        "a wrong CT key must fail"
    );

    // The precertificate is in the CT log: find its leaf by hash and verify
    // the inclusion proof against the signed tree head.
    let sth: Value = stack.get_json("/ct/v1/get-sth").await;
    let tree_size = sth["tree_size"].as_u64().expect("size");
    let root_hash: [u8; 32] = STANDARD
        .decode(sth["sha256_root_hash"].as_str().expect("root"))
        .expect("b64")
        .try_into()
        .expect("32 bytes");
    let entries: Value = stack
        .get_json(&format!("/ct/v1/get-entries?start=0&end={}", tree_size - 1))
        .await;
    // Our precertificate's entry carries the leaf's TBS minus the SCT list;
    // its issuer key hash is the intermediate's.
    let issuer_key_hash = Sha256::digest(
        Certificate::from_der(&chain[1])
            .expect("intermediate")
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .expect("SPKI"),
    );
    let leaf_input = entries["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            STANDARD
                .decode(e["leaf_input"].as_str().expect("leaf_input"))
                .expect("b64")
        })
        .find(|input| input.len() > 47 && input[12..44] == issuer_key_hash[..])
        .expect("the precertificate entry is logged");
    let hash = leaf_hash(&leaf_input);
    let proof: Value = stack
        .get_json(&format!(
            "/ct/v1/get-proof-by-hash?hash={}&tree_size={tree_size}",
            urlencode(&STANDARD.encode(hash.as_bytes()))
        ))
        .await;
    let path: Vec<Hash> = proof["audit_path"]
        .as_array()
        .expect("audit path")
        .iter()
        .map(|h| {
            let bytes: [u8; 32] = STANDARD
                .decode(h.as_str().expect("hash"))
                .expect("b64")
                .try_into()
                .expect("32");
            Hash(bytes)
        })
        .collect();
    inclusion::verify(
        LeafIndex::new(proof["leaf_index"].as_u64().expect("index")),
        TreeSize::new(tree_size),
        &hash,
        &path,
        &Hash(root_hash),
    )
    .expect("the inclusion proof verifies");
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

async fn trust_bundle_configuration_and_root_cert<
    S: EngineStore + IssuanceStore + Clone + 'static,
>(
    store: S,
    setup: CaSetup,
) {
    let stack = CaStack::serve_with(store, setup).await;
    let bundle: Value = stack.get_json("/api/v2/trustBundle").await;
    let chains = bundle["chains"].as_array().expect("chains");
    assert_eq!(chains.len(), 1);
    let certificates: Vec<Vec<u8>> = chains[0]["certificates"]
        .as_array()
        .expect("certificates")
        .iter()
        .map(|c| pem_to_der(c.as_str().expect("PEM")))
        .collect();
    assert_eq!(certificates, stack.chain);

    let configuration: Value = stack.get_json("/api/v2/configuration").await;
    let issuers = configuration["issuers"].as_array().expect("issuers");
    assert_eq!(issuers.len(), sigstack_e2e::ca::ISSUER_TYPES.len());
    let email = issuers
        .iter()
        .find(|i| i["issuerType"] == "email")
        .expect("email issuer");
    assert_eq!(email["issuerUrl"], format!("{}/oidc/email", stack.base));
    assert_eq!(email["audience"], "sigstore");
    assert_eq!(email["challengeClaim"], "email");
    assert_eq!(email["skipEmailVerification"], false);
    let spiffe = issuers
        .iter()
        .find(|i| i["issuerType"] == "spiffe")
        .expect("spiffe issuer");
    assert_eq!(spiffe["challengeClaim"], "sub");
    assert_eq!(spiffe["spiffeTrustDomain"], "example.org");

    let response = stack.get("/api/v1/rootCert").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers().get("content-type").expect("type"),
        "application/pem-certificate-chain"
    );
    let text = response.text().await.expect("text");
    assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    assert!(!text.ends_with('\n'));
}
