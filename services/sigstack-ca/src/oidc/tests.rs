//! Token verification against a real issuer served on 127.0.0.1:0: discovery, JWKS, tokens
//! signed here with aws-lc-rs keys.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256,
};
use axum::Json;
use axum::extract::State;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::{TokenVerifier, VerifierOptions};
use crate::error::TOKEN_ERROR_MESSAGE;
use crate::{IdentityError, IssuerConfig};

mod https;

/// A signing key and its JWK.
struct TestKey {
    kid: String,
    signer: Signer,
}

enum Signer {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

impl TestKey {
    fn es256(kid: &str) -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("p-256 key");
        Self {
            kid: kid.to_owned(),
            signer: Signer::Es256(pair),
        }
    }

    fn rs256(kid: &str) -> Self {
        Self {
            kid: kid.to_owned(),
            signer: Signer::Rs256(RsaKeyPair::generate(KeySize::Rsa2048).expect("rsa key")),
        }
    }

    fn alg(&self) -> &'static str {
        match self.signer {
            Signer::Es256(_) => "ES256",
            Signer::Rs256(_) => "RS256",
        }
    }

    fn jwk(&self) -> Value {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        match &self.signer {
            Signer::Es256(pair) => {
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
                    "x": b64(&point[1..33]), "y": b64(&point[33..65])})
            }
            Signer::Rs256(pair) => {
                let components = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                json!({"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
                    "n": b64(&components.n), "e": b64(&components.e)})
            }
        }
    }

    /// A compact JWS over `claims`, with this key's kid unless `kid` overrides it.
    fn sign(&self, claims: &Value, kid: Option<&str>) -> String {
        let header = json!({"alg": self.alg(), "typ": "JWT", "kid": kid.unwrap_or(&self.kid)});
        let input = format!("{}.{}", encode(&header), encode(claims));
        let rng = SystemRandom::new();
        let signature = match &self.signer {
            Signer::Es256(pair) => pair
                .sign(&rng, input.as_bytes())
                .expect("sign")
                .as_ref()
                .to_vec(),
            Signer::Rs256(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut signature)
                    .expect("sign");
                signature
            }
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
}

/// What the test issuer serves, and how often it was asked.
#[derive(Default)]
struct IssuerState {
    url: Mutex<String>,
    jwks: Mutex<Value>,
    delay: Mutex<Duration>,
    discovery_hits: AtomicUsize,
    jwks_hits: AtomicUsize,
}

struct TestIssuer {
    url: String,
    state: Arc<IssuerState>,
}

impl TestIssuer {
    async fn start(keys: &[&TestKey]) -> Self {
        let state = Arc::new(IssuerState::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        *state.url.lock().expect("lock") = url.clone();
        let issuer = Self {
            url,
            state: Arc::clone(&state),
        };
        issuer.publish(keys);
        let router = axum::Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/moved/.well-known/openid-configuration", get(moved))
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
        issuer
    }

    fn publish(&self, keys: &[&TestKey]) {
        *self.state.jwks.lock().expect("lock") =
            json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()});
    }

    fn jwks_hits(&self) -> usize {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    fn config(&self) -> Arc<IssuerConfig> {
        let text = json!({
            "OIDCIssuers": {&self.url: {"IssuerURL": &self.url, "ClientID": "sigstore", "Type": "email"}},
            "MetaIssuers": {"http://127.0.0.1:*": {"ClientID": "sigstore", "Type": "email"}}
        });
        Arc::new(IssuerConfig::parse(&text.to_string()).expect("config"))
    }

    fn verifier(&self, options: VerifierOptions) -> TokenVerifier {
        TokenVerifier::new(self.config(), options).expect("verifier")
    }

    fn claims(&self) -> Value {
        let now = now();
        json!({"iss": self.url, "aud": "sigstore", "sub": "1044", "email": "dev@example.com",
            "email_verified": true, "iat": now, "nbf": now, "exp": now + 600})
    }
}

async fn discovery(State(state): State<Arc<IssuerState>>) -> Json<Value> {
    state.discovery_hits.fetch_add(1, Ordering::SeqCst);
    let delay = *state.delay.lock().expect("lock");
    tokio::time::sleep(delay).await;
    let url = state.url.lock().expect("lock").clone();
    Json(
        json!({"issuer": url, "jwks_uri": format!("{url}/jwks"), "authorization_endpoint": format!("{url}/auth"),
        "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"]}),
    )
}

/// Redirects discovery to the same server under another host name.
async fn moved(State(state): State<Arc<IssuerState>>) -> axum::response::Redirect {
    let url = state
        .url
        .lock()
        .expect("lock")
        .replace("127.0.0.1", "localhost");
    axum::response::Redirect::temporary(&format!("{url}/.well-known/openid-configuration"))
}

async fn jwks(State(state): State<Arc<IssuerState>>) -> Json<Value> {
    state.jwks_hits.fetch_add(1, Ordering::SeqCst);
    Json(state.jwks.lock().expect("lock").clone())
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
    .expect("seconds")
}

fn eager_refresh() -> VerifierOptions {
    VerifierOptions {
        jwks_refresh_interval: Duration::ZERO,
        ..VerifierOptions::default()
    }
}

/// The documented answer of ca.md §14 for every token failure, and nothing of the token in it.
fn assert_token_error(error: &IdentityError, token: &str) {
    assert_eq!(error.status(), 400);
    assert_eq!(error.message(), TOKEN_ERROR_MESSAGE);
    assert_eq!(
        error.body(),
        json!({"code": 3, "message": TOKEN_ERROR_MESSAGE})
    );
    for part in token.split('.').filter(|p| p.len() > 8) {
        assert!(
            !error.to_string().contains(part),
            "error text leaks the token"
        );
    }
}

#[tokio::test]
async fn valid_tokens_pass_with_both_algorithms() {
    let (ec, rsa) = (TestKey::es256("ec-1"), TestKey::rs256("rsa-1"));
    let issuer = TestIssuer::start(&[&ec, &rsa]).await;
    let verifier = issuer.verifier(VerifierOptions::default());
    for key in [&ec, &rsa] {
        let verified = verifier
            .verify(&key.sign(&issuer.claims(), None))
            .await
            .expect("valid token");
        assert_eq!(verified.issuer.url, issuer.url);
        assert_eq!(
            verified.claims.text("email").as_deref(),
            Some("dev@example.com")
        );
    }
    // Discovery and JWKS are cached across tokens.
    assert_eq!(issuer.state.discovery_hits.load(Ordering::SeqCst), 1);
    assert_eq!(issuer.jwks_hits(), 1);
}

#[tokio::test]
async fn audience_array_and_meta_issuer_pass() {
    let key = TestKey::es256("ec-1");
    let issuer = TestIssuer::start(&[&key]).await;
    let mut claims = issuer.claims();
    claims["aud"] = json!(["other", "sigstore"]);
    // The meta pattern `http://127.0.0.1:*` resolves the same URL for a config without it.
    let config =
        json!({"MetaIssuers": {"http://127.0.0.1:*": {"ClientID": "sigstore", "Type": "email"}}});
    let config = Arc::new(IssuerConfig::parse(&config.to_string()).expect("config"));
    let verifier = TokenVerifier::new(config, VerifierOptions::default()).expect("verifier");
    let verified = verifier
        .verify(&key.sign(&claims, None))
        .await
        .expect("valid token");
    assert_eq!(verified.issuer.url, issuer.url);
}

#[tokio::test]
async fn claim_failures_are_refused_with_the_documented_answer() {
    let key = TestKey::es256("ec-1");
    let issuer = TestIssuer::start(&[&key]).await;
    let verifier = issuer.verifier(VerifierOptions::default());
    let now = now();
    type Case = (&'static str, Value, fn(&IdentityError) -> bool);
    let cases: Vec<Case> = vec![
        ("expired", json!({"exp": now - 1}), |e| {
            matches!(e, IdentityError::Expired)
        }),
        ("no exp", json!({"exp": null}), |e| {
            matches!(e, IdentityError::Expired)
        }),
        ("not yet valid", json!({"nbf": now + 600}), |e| {
            matches!(e, IdentityError::NotYetValid)
        }),
        ("wrong audience", json!({"aud": "not-sigstore"}), |e| {
            matches!(e, IdentityError::WrongAudience)
        }),
        (
            "unknown issuer",
            json!({"iss": "https://idp.invalid"}),
            |e| matches!(e, IdentityError::UnknownIssuer),
        ),
    ];
    for (name, changes, expected) in cases {
        let mut claims = issuer.claims();
        for (field, value) in changes.as_object().expect("object") {
            claims[field] = value.clone();
        }
        let token = key.sign(&claims, None);
        let error = verifier.verify(&token).await.expect_err(name);
        assert!(expected(&error), "{name}: {error:?}");
        assert_token_error(&error, &token);
    }
    // Claim checks come before any fetch.
    assert_eq!(issuer.jwks_hits(), 0);
    // nbf within the five minutes' leeway passes.
    let mut claims = issuer.claims();
    claims["nbf"] = json!(now + 120);
    verifier
        .verify(&key.sign(&claims, None))
        .await
        .expect("nbf within leeway");
}

#[tokio::test]
async fn bad_signature_is_refused() {
    let (key, impostor) = (TestKey::es256("ec-1"), TestKey::es256("ec-1"));
    let issuer = TestIssuer::start(&[&key]).await;
    let verifier = issuer.verifier(VerifierOptions::default());
    let token = impostor.sign(&issuer.claims(), None);
    let error = verifier.verify(&token).await.expect_err("forged");
    assert!(matches!(error, IdentityError::BadSignature), "{error:?}");
    assert_token_error(&error, &token);
}

#[tokio::test]
async fn alg_none_and_malformed_tokens_are_refused() {
    let key = TestKey::es256("ec-1");
    let issuer = TestIssuer::start(&[&key]).await;
    let verifier = issuer.verifier(VerifierOptions::default());
    let none = format!(
        "{}.{}.",
        encode(&json!({"alg": "none", "typ": "JWT"})),
        encode(&issuer.claims())
    );
    let error = verifier.verify(&none).await.expect_err("alg none");
    assert!(
        matches!(error, IdentityError::DisallowedAlgorithm(ref alg) if alg == "none"),
        "{error:?}"
    );
    assert_token_error(&error, &none);
    let hs = format!(
        "{}.{}.c2ln",
        encode(&json!({"alg": "HS256"})),
        encode(&issuer.claims())
    );
    assert!(matches!(
        verifier.verify(&hs).await,
        Err(IdentityError::DisallowedAlgorithm(_))
    ));
    for malformed in ["", "a.b", "a.b.c.d", "!!.??.x"] {
        let error = verifier.verify(malformed).await.expect_err("malformed");
        assert!(
            matches!(error, IdentityError::MalformedToken(_)),
            "{malformed:?}: {error:?}"
        );
        assert_token_error(&error, malformed);
    }
}

#[tokio::test]
async fn unknown_kid_is_refused_after_one_jwks_refresh() {
    let key = TestKey::es256("ec-1");
    let issuer = TestIssuer::start(&[&key]).await;
    let verifier = issuer.verifier(eager_refresh());
    verifier
        .verify(&key.sign(&issuer.claims(), None))
        .await
        .expect("warm the cache");
    assert_eq!(issuer.jwks_hits(), 1);
    let token = key.sign(&issuer.claims(), Some("ec-unknown"));
    let error = verifier.verify(&token).await.expect_err("unknown kid");
    assert!(matches!(error, IdentityError::UnknownKey), "{error:?}");
    assert_token_error(&error, &token);
    assert_eq!(
        issuer.jwks_hits(),
        2,
        "exactly one refetch for the unknown kid"
    );
}

#[tokio::test]
async fn rotated_key_is_found_by_refetching_the_jwks_once() {
    let (old, new) = (TestKey::es256("ec-1"), TestKey::rs256("rsa-2"));
    let issuer = TestIssuer::start(&[&old]).await;
    let verifier = issuer.verifier(eager_refresh());
    verifier
        .verify(&old.sign(&issuer.claims(), None))
        .await
        .expect("old key");
    issuer.publish(&[&old, &new]);
    verifier
        .verify(&new.sign(&issuer.claims(), None))
        .await
        .expect("rotated key");
    assert_eq!(issuer.jwks_hits(), 2);
    verifier
        .verify(&new.sign(&issuer.claims(), None))
        .await
        .expect("cached now");
    assert_eq!(issuer.jwks_hits(), 2);
}

#[tokio::test]
async fn jwks_refresh_is_rate_limited() {
    let key = TestKey::es256("ec-1");
    let issuer = TestIssuer::start(&[&key]).await;
    let options = VerifierOptions {
        jwks_refresh_interval: Duration::from_secs(3600),
        ..VerifierOptions::default()
    };
    let verifier = issuer.verifier(options);
    for _ in 0..3 {
        let token = key.sign(&issuer.claims(), Some("ec-unknown"));
        assert!(matches!(
            verifier.verify(&token).await,
            Err(IdentityError::UnknownKey)
        ));
    }
    assert_eq!(
        issuer.jwks_hits(),
        1,
        "unknown kids within the interval cause no refetch"
    );
}

#[tokio::test]
async fn slow_issuer_hits_the_fetch_timeout() {
    let key = TestKey::es256("ec-1");
    let issuer = TestIssuer::start(&[&key]).await;
    *issuer.state.delay.lock().expect("lock") = Duration::from_secs(5);
    let options = VerifierOptions {
        fetch_timeout: Duration::from_millis(200),
        ..VerifierOptions::default()
    };
    let verifier = issuer.verifier(options);
    let token = key.sign(&issuer.claims(), None);
    let started = std::time::Instant::now();
    let error = verifier.verify(&token).await.expect_err("timeout");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "gave up after {:?}",
        started.elapsed()
    );
    assert!(
        matches!(error, IdentityError::Discovery(ref why) if why.contains("timeout")),
        "{error:?}"
    );
    assert_token_error(&error, &token);
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_refused() {
    let key = TestKey::es256("ec-1");
    let issuer = TestIssuer::start(&[&key]).await;
    *issuer.state.url.lock().expect("lock") = "http://127.0.0.1:1".into();
    let verifier = issuer.verifier(VerifierOptions::default());
    let error = verifier
        .verify(&key.sign(&issuer.claims(), None))
        .await
        .expect_err("issuer mismatch");
    assert!(matches!(error, IdentityError::Discovery(_)), "{error:?}");
}

#[tokio::test]
async fn discovery_redirected_to_another_host_is_refused() {
    let key = TestKey::es256("ec-1");
    let issuer = TestIssuer::start(&[&key]).await;
    let moved = format!("{}/moved", issuer.url);
    let config = json!({"OIDCIssuers": {&moved: {"IssuerURL": &moved, "ClientID": "sigstore", "Type": "email"}}});
    let config = Arc::new(IssuerConfig::parse(&config.to_string()).expect("config"));
    let verifier = TokenVerifier::new(config, VerifierOptions::default()).expect("verifier");
    let mut claims = issuer.claims();
    claims["iss"] = json!(moved);
    let error = verifier
        .verify(&key.sign(&claims, None))
        .await
        .expect_err("redirect refused");
    assert!(
        matches!(error, IdentityError::Discovery(ref why) if why.contains("307")),
        "{error:?}"
    );
    assert_eq!(
        issuer.state.discovery_hits.load(Ordering::SeqCst),
        0,
        "the other host was never asked"
    );
}

#[tokio::test]
async fn prefetch_warms_every_configured_issuer() {
    let key = TestKey::es256("ec-1");
    let issuer = TestIssuer::start(&[&key]).await;
    let verifier = issuer.verifier(VerifierOptions::default());
    verifier.prefetch().await;
    assert_eq!(issuer.jwks_hits(), 1);
    verifier
        .verify(&key.sign(&issuer.claims(), None))
        .await
        .expect("valid token");
    assert_eq!(issuer.state.discovery_hits.load(Ordering::SeqCst), 1);
    assert_eq!(issuer.jwks_hits(), 1);
}
