//! The CA, its CT log and dev OIDC issuers, served together on 127.0.0.1:0
//! over a real store, for tests that speak HTTP to them.
//!
//! Each issuer type gets its own dev issuer at `/oidc/<type>`; the CA's
//! Fulcio-format config names each with its type, so one stack covers every
//! type. `/oidc/unconfigured` is served but configured nowhere. The CA's
//! gRPC services share the port (h2c), as `sigstack` serves them.

pub mod check;

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use sigstack_ca::dev_issuer::{DevIssuer, TokenRequest};
use sigstack_ca::grpc::proto::ca_client::CaClient;
use sigstack_ca::oidc::VerifierOptions;
use sigstack_ca::sct_source::InProcessCtLog;
use sigstack_ca::{CertificateService, IssuerConfig, TokenVerifier};
use sigstack_core::certificate::{CaSigner, CertificateAuthority, InMemoryCaSigner, new_hierarchy};
use sigstack_core::note::EcdsaP256NoteSigner;
use sigstack_ctlog::{CtConfig, CtLog};
use sigstack_engine::EngineStore;
use sigstack_store::issuance::IssuanceStore;

/// The issuer types served, by path segment, with their extra config fields.
pub const ISSUER_TYPES: [(&str, &str); 9] = [
    ("email", ""),
    ("github-workflow", ""),
    ("gitlab-pipeline", ""),
    ("kubernetes", ""),
    ("spiffe", r#""SPIFFETrustDomain": "example.org","#),
    ("buildkite-job", ""),
    ("uri", r#""SubjectDomain": "http://127.0.0.1","#),
    ("username", r#""SubjectDomain": "127.0.0.1","#),
    ("codefresh-workflow", ""),
];

/// A served stack, answering on `base` until dropped.
pub struct CaStack<S> {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub base: String,
    pub service: Arc<CertificateService<S>>,
    pub ct: Arc<CtLog<S>>,
    pub ct_key_spki: Vec<u8>,
    /// The CA chain: signing CA first, root last.
    pub chain: Vec<Vec<u8>>,
    issuers: Vec<(String, Arc<DevIssuer>)>,
    pub client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl<S> std::fmt::Debug for CaStack<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaStack")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl<S> Drop for CaStack<S> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The signing CA of a stack: its signer and its chain (signing CA first,
/// root last).
pub struct CaSetup {
    pub signer: Box<dyn CaSigner>,
    pub chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for CaSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaSetup")
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl CaSetup {
    /// A fresh in-memory P-384 hierarchy.
    pub fn in_memory() -> Self {
        let hierarchy = new_hierarchy("sigstack e2e", unix_now() - 3600, 1).expect("CA hierarchy");
        Self {
            signer: Box::new(
                InMemoryCaSigner::from_pkcs8(&hierarchy.intermediate.key_pkcs8_der)
                    .expect("CA key"),
            ),
            chain: vec![
                hierarchy.intermediate.certificate_der,
                hierarchy.root.certificate_der,
            ],
        }
    }
}

impl<S: EngineStore + IssuanceStore + Clone + 'static> CaStack<S> {
    /// Serves the stack over `store` (both the CT tree and the issuance
    /// records) with a fresh in-memory CA.
    pub async fn serve(store: S) -> Self {
        Self::serve_with(store, CaSetup::in_memory()).await
    }

    /// Serves the stack with the CA of `setup`.
    pub async fn serve_with(store: S, setup: CaSetup) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let root = setup.chain.last().expect("a root").clone();
        let ct_signer = Arc::new(EcdsaP256NoteSigner::generate("ct.e2e").expect("CT key"));
        let ct_key_spki = ct_signer.public_key_spki_der().to_vec();
        let ct = Arc::new(
            CtLog::open(
                store.clone(),
                CtConfig::new("ct.e2e/test", vec![root]),
                ct_signer,
            )
            .await
            .expect("open the CT log"),
        );

        let mut issuers = Vec::new();
        let mut entries = Vec::new();
        for (kind, extra) in ISSUER_TYPES {
            let url = format!("{base}/oidc/{kind}");
            issuers.push((kind.to_owned(), dev_issuer(&url)));
            entries.push(format!(
                r#""{url}": {{"IssuerURL": "{url}", "ClientID": "sigstore", {extra} "Type": "{kind}"}}"#
            ));
        }
        issuers.push((
            "unconfigured".to_owned(),
            dev_issuer(&format!("{base}/oidc/unconfigured")),
        ));
        let config_text = format!("{{\"OIDCIssuers\": {{{}}}}}", entries.join(",\n"));
        let config = Arc::new(IssuerConfig::parse(&config_text).expect("issuer config"));
        let verifier = TokenVerifier::new(
            config,
            VerifierOptions {
                fetch_timeout: Duration::from_secs(5),
                ..VerifierOptions::default()
            },
        )
        .expect("verifier");
        let ca = CertificateAuthority::new(&setup.chain[0], setup.signer).expect("CA");
        let service = Arc::new(
            CertificateService::new(
                verifier,
                ca,
                setup.chain.clone(),
                Arc::new(InProcessCtLog(ct.clone())),
                store,
            )
            .expect("service"),
        );
        // REST and gRPC on one listener (h2c), as the binary is to mount them.
        let mut app = sigstack_ca::api::router(service.clone(), sigstack_ca::api::REQUEST_TIMEOUT)
            .merge(
                sigstack_ca::grpc::grpc_routes(service.clone(), sigstack_ca::api::REQUEST_TIMEOUT)
                    .await,
            )
            .merge(sigstack_ctlog::api::router(ct.clone()));
        for (kind, issuer) in &issuers {
            app = app.nest(&format!("/oidc/{kind}"), issuer.clone().router());
        }
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Self {
            base,
            service,
            ct,
            ct_key_spki,
            chain: setup.chain,
            issuers,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            task,
        }
    }
}

impl<S> CaStack<S> {
    /// The dev issuer of `kind` (an issuer type, or `unconfigured`).
    pub fn issuer(&self, kind: &str) -> &DevIssuer {
        &self
            .issuers
            .iter()
            .find(|(k, _)| k == kind)
            .unwrap_or_else(|| panic!("no issuer {kind}"))
            .1
    }

    /// A token from the issuer of `kind` for `subject` with `claims` merged in.
    pub fn token(&self, kind: &str, subject: &str, claims: serde_json::Value) -> String {
        let mut request = TokenRequest::new(subject);
        if let serde_json::Value::Object(map) = claims {
            request.extra_claims = map;
        }
        self.issuer(kind).token(&request).expect("token")
    }

    /// An HTTP/2 cleartext channel to `base`, the port REST answers on.
    pub async fn grpc_channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(self.base.clone())
            .expect("endpoint")
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .connect()
            .await
            .expect("gRPC connect")
    }

    /// Our generated `dev.sigstore.fulcio.v2.CA` client on [`Self::grpc_channel`].
    pub async fn grpc_client(&self) -> CaClient<tonic::transport::Channel> {
        CaClient::new(self.grpc_channel().await)
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET")
    }

    /// GET `path`, asserting 200, as JSON.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON answer")
    }

    /// POST JSON to `path` with an optional bearer token.
    pub async fn post(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("POST")
    }
}

fn dev_issuer(url: &str) -> Arc<DevIssuer> {
    Arc::new(
        DevIssuer::from_pkcs8(url, &DevIssuer::generate_pkcs8().expect("key")).expect("issuer"),
    )
}

/// A requester's ECDSA P-256 key.
#[derive(Debug)]
pub struct RequesterKey {
    pair: EcdsaKeyPair,
    pkcs8: Vec<u8>,
}

impl Default for RequesterKey {
    fn default() -> Self {
        Self::new()
    }
}

impl RequesterKey {
    pub fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("key");
        Self {
            pair: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
                .expect("key"),
            pkcs8: pkcs8.as_ref().to_vec(),
        }
    }

    /// DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        use aws_lc_rs::encoding::AsDer as _;
        self.pair
            .public_key()
            .as_der()
            .expect("SPKI")
            .as_ref()
            .to_vec()
    }

    pub fn spki_pem(&self) -> String {
        sigstack_core::entry::pki::PublicKey::from_spki_der(&self.spki_der())
            .expect("P-256 key")
            .canonical_pem()
    }

    /// ECDSA P-256 SHA-256 DER over `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair
            .sign(&SystemRandom::new(), message)
            .expect("sign")
            .as_ref()
            .to_vec()
    }

    /// A PEM PKCS#10 CSR with an empty subject, self-signed (what
    /// sigstore-python sends).
    pub fn csr_pem(&self) -> String {
        let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
            &rustls_pki_types::PrivatePkcs8KeyDer::from(self.pkcs8.clone()),
            &rcgen::PKCS_ECDSA_P256_SHA256,
        )
        .expect("rcgen key");
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .serialize_request(&key)
            .expect("csr")
            .pem()
            .expect("pem")
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Runs each named `async fn(store, setup)` once over a fresh SQLite store
/// and once over a fresh PostgreSQL database, each with a fresh in-memory CA
/// (style.md practice 7: no silent skips).
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture = sigstack_testkit::sqlite_store().await;
                super::$name(fixture.store.clone(), $crate::ca::CaSetup::in_memory()).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture = sigstack_testkit::postgres_store().await;
                super::$name(fixture.store.clone(), $crate::ca::CaSetup::in_memory()).await;
            })*
        }
    };
}
