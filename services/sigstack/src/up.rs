//! `sigstack up`: every service in one process on one listener, over an
//! embedded SQLite database in a data directory (design.md §1).
//!
//! Order matters: the listener is bound before anything is written (a taken
//! port leaves no half-made directory), and it serves the dev issuer and
//! `/healthz` (503) while the CA starts, because the CA's verifier fetches
//! the issuer's discovery document over HTTP at start, from this very
//! listener. Every other path is handed to the full router once it exists.
//! `/metrics` and `/readyz` are on the same listener (a development stack
//! has no admin port).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::IntoResponse as _;
use axum::routing::get;
use sigstack_ca::IssuerConfig;
use sigstack_ca::oidc::VerifierOptions;
use sigstack_core::certificate::CertificateAuthority;
use sigstack_rekor::{RekorConfig, RekorLog};
use sigstack_store::SqliteStore;
use tower::ServiceExt as _;

use crate::ca::{CaMaterials, CtPlacement, ca_router};
use crate::cli::UpArgs;
use crate::data_dir::{self, DataDir, Metadata};
use crate::keys;
use crate::serving::{no_delay, shutdown_signal};
use crate::trust_export;

const DEFAULT_LISTEN: &str = "127.0.0.1:3000";

pub async fn up(args: UpArgs) -> anyhow::Result<()> {
    let dir = DataDir::new(&args.data_dir);
    let existing = dir.read_metadata()?;
    let listen: SocketAddr = match (args.listen, &existing) {
        (Some(listen), _) => listen,
        (None, Some(metadata)) => metadata.listen,
        // A constant that parses.
        (None, None) => DEFAULT_LISTEN.parse().context("default listen address")?,
    };
    // A restart without flags keeps the recorded host, so the published URLs
    // (and the log's checkpoint name) stay what clients already trust.
    let hostname = match (&args.hostname, &existing) {
        (Some(host), _) => host.clone(),
        (None, Some(metadata)) if args.listen.is_none() => metadata.hostname.clone(),
        (None, _) if !listen.ip().is_unspecified() => listen.ip().to_string(),
        (None, _) => anyhow::bail!(
            "--listen {listen} is a wildcard: give --hostname, the host clients reach the stack at"
        ),
    };
    let issuers = operator_issuers(&args)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let listen = listener.local_addr()?;

    let metadata = match existing {
        None => dir.create(listen, &hostname)?,
        Some(mut metadata) => {
            if metadata.listen != listen || metadata.hostname != hostname {
                metadata.listen = listen;
                metadata.hostname.clone_from(&hostname);
                metadata.issuer_url = data_dir::issuer_url(&hostname, listen.port());
                dir.write_metadata(&metadata)?;
            }
            metadata
        }
    };
    let stack = Stack::load(&dir, &metadata, issuers)?;
    // The files clients trust name exactly the keys these signers hold.
    let material = trust_export::with_log_keys(
        &dir,
        &metadata,
        stack.rekor_signer.public_key_spki_der().to_vec(),
        stack.ct_signer.public_key_spki_der().to_vec(),
    )?;

    let metrics = crate::telemetry::install_metrics()?;
    let full: Arc<OnceLock<Router>> = Arc::new(OnceLock::new());
    let router = crate::serving::with_request_metrics(
        bootstrap_router(Arc::clone(&stack.dev_issuer), Arc::clone(&full)).route(
            "/metrics",
            get(move || std::future::ready(crate::serving::metrics_text(&metrics))),
        ),
        "up",
    );
    let server = tokio::spawn(async move {
        axum::serve(no_delay(listener), router)
            .with_graceful_shutdown(shutdown_signal())
            .await
    });

    let store = SqliteStore::open(&dir.database())
        .await
        .with_context(|| format!("opening {}", dir.database().display()))?;
    let rekor = Arc::new(
        RekorLog::open(
            store.clone(),
            RekorConfig::new(hostname.clone()),
            Arc::new(stack.rekor_signer),
        )
        .await?,
    );
    let routers = ca_router(
        store.clone(),
        stack.ca,
        CtPlacement::InProcess {
            signer: Arc::new(stack.ct_signer),
            origin: format!("{hostname}/ct"),
        },
        VerifierOptions::default(),
        sigstack_ca::api::REQUEST_TIMEOUT,
    )
    .await?;
    let stop = routers.stopper();
    let readiness = Arc::new(crate::ca::ca_readiness(store, &routers).with(
        "log_sequencer",
        crate::serve::sequencer_check(Arc::clone(&rekor), RekorLog::engine),
    ));
    let rekor_router = sigstack_rekor::api::router(Arc::clone(&rekor), rekor.body_limit());
    // Before /healthz turns 200: ready means the trust files are there too.
    let written = trust_export::write(&dir.trust(), &material)?;
    // The Rekor router's fallback answers every unknown path with 404 JSON.
    let _ = full.set(routers.http.merge(routers.grpc).merge(rekor_router).route(
        "/readyz",
        get(move || crate::serving::readyz(Arc::clone(&readiness))),
    ));
    print_welcome(&dir, &metadata, &written);
    tracing::info!(listen = %listen, hostname = %hostname, "sigstack up: ready");

    let served = server.await.context("the server task")?;
    rekor.engine().shutdown().await;
    stop.shutdown().await;
    served?;
    tracing::info!("sigstack up: stopped");
    Ok(())
}

/// The keys of the data directory, opened.
struct Stack {
    ca: CaMaterials,
    rekor_signer: sigstack_core::note::EcdsaP256NoteSigner,
    ct_signer: sigstack_core::note::EcdsaP256NoteSigner,
    dev_issuer: Arc<sigstack_ca::dev_issuer::DevIssuer>,
}

impl Stack {
    fn load(dir: &DataDir, metadata: &Metadata, mut issuers: IssuerConfig) -> anyhow::Result<Self> {
        let password = dir.password()?;
        let rekor_signer =
            keys::load_note_signer_with(&dir.key(keys::REKOR_KEY), &password, &metadata.hostname)?;
        let ct_signer = keys::load_note_signer_with(
            &dir.key(keys::CTLOG_KEY),
            &password,
            &format!("{}/ct", metadata.hostname),
        )?;
        let dev_issuer = Arc::new(dir.dev_issuer(metadata)?);
        let config = sigstack_signer::CaKeyConfig::File {
            key_file: dir.key(keys::INTERMEDIATE_KEY),
            password_file: dir.password_file(),
        };
        let signer = sigstack_signer::open(&config, false)
            .with_context(|| format!("opening {}", dir.key(keys::INTERMEDIATE_KEY).display()))?
            .signer;
        let chain = keys::read_certificates(&dir.key(keys::CHAIN))?;
        let first = chain
            .first()
            .with_context(|| format!("{} holds no certificate", dir.key(keys::CHAIN).display()))?;
        let ca = CertificateAuthority::new(first, signer)
            .context("the CA key and the first certificate of its chain")?;
        let dev = IssuerConfig::parse(
            &serde_json::json!({"OIDCIssuers": {dev_issuer.url(): {
                "IssuerURL": dev_issuer.url(), "ClientID": "sigstore", "Type": "email",
                "Description": "sigstack up's dev issuer",
            }}})
            .to_string(),
        )?;
        issuers.oidc_issuers.extend(dev.oidc_issuers);
        Ok(Self {
            ca: CaMaterials {
                ca,
                chain,
                issuers: Arc::new(issuers),
            },
            rekor_signer,
            ct_signer,
            dev_issuer,
        })
    }
}

/// The issuers of `--issuer-config`, or none.
fn operator_issuers(args: &UpArgs) -> anyhow::Result<IssuerConfig> {
    let Some(path) = &args.issuer_config else {
        return Ok(IssuerConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading issuer config {}", path.display()))?;
    IssuerConfig::parse(&text).with_context(|| format!("issuer config {}", path.display()))
}

/// `/oidc` and `/healthz` at once; every other path goes to `full` once it
/// is set, and answers 503 until then.
fn bootstrap_router(
    issuer: Arc<sigstack_ca::dev_issuer::DevIssuer>,
    full: Arc<OnceLock<Router>>,
) -> Router {
    let ready = Arc::clone(&full);
    Router::new()
        .nest("/oidc", issuer.router())
        .route(
            "/healthz",
            get(move || {
                let ready = ready.get().is_some();
                std::future::ready(if ready {
                    (
                        StatusCode::OK,
                        axum::Json(serde_json::json!({"status": "ok"})),
                    )
                } else {
                    starting()
                })
            }),
        )
        .fallback(move |request: Request| {
            let full = full.get().cloned();
            async move {
                match full {
                    // Router's error type is Infallible.
                    Some(router) => match router.oneshot(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    },
                    None => starting().into_response(),
                }
            }
        })
}

fn starting() -> (StatusCode, axum::Json<serde_json::Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(serde_json::json!({"code": 503, "message": "starting"})),
    )
}

/// What to do next, on stdout.
fn print_welcome(dir: &DataDir, metadata: &Metadata, written: &[std::path::PathBuf]) {
    let base = metadata.base_url();
    let data = dir.root().display();
    let trust = dir.trust();
    let trust_config = trust.join(trust_export::TRUST_CONFIG);
    let issuer = &metadata.issuer_url;
    let files: Vec<String> = written
        .iter()
        .map(|p| format!("  {}", p.display()))
        .collect();
    let text = format!(
        "sigstack is up at {base}: CA (REST and gRPC), CT log /ct/v1/, transparency log /api/v1/log, OIDC issuer {issuer}
data directory: {data}
trust files:
{files}

sigstore-python 4.5 (pip install 'sigstore==4.5.*'):
  export SIGSTORE_IDENTITY_TOKEN=$(sigstack token --data-dir {data} --subject you@example.com --email you@example.com)
  sigstore --trust-config {trust_config} sign --bundle artifact.txt.sigstore.json artifact.txt
  sigstore --trust-config {trust_config} verify identity --bundle artifact.txt.sigstore.json \\
    --cert-identity you@example.com --cert-oidc-issuer {issuer} artifact.txt

sigstore-js 4.x (npm install sigstore@4 @sigstore/verify): sign with the token above,
  sigstore.sign(data, {{fulcioURL: '{base}', rekorURL: '{base}', identityToken: token}}),
  and verify with @sigstore/verify's TrustedRoot.fromJSON({root}) and Verifier.

cosign (untested here: no cosign binary on this machine):
  2.x: source {cosign_env}, then sign with --fulcio-url {base} --rekor-url {base} --oidc-issuer {issuer}
  3.x: see {cosign_v3}
",
        files = files.join("\n"),
        root = trust.join(trust_export::TRUSTED_ROOT).display(),
        trust_config = trust_config.display(),
        cosign_env = trust.join(trust_export::COSIGN_ENV).display(),
        cosign_v3 = trust.join(trust_export::COSIGN_V3).display(),
    );
    print!("{text}");
}
