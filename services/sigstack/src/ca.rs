//! `sigstack serve ca` and `sigstack serve ct`: the Fulcio-compatible CA
//! (with its CT log in the same process, or a CT log over HTTP) and the CT
//! log on its own. Wiring only: files in, crates joined, one listener.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use sigstack_ca::oidc::VerifierOptions;
use sigstack_ca::sct_source::{HttpCtLog, InProcessCtLog};
use sigstack_ca::{CertificateService, IssuerConfig, SctSource, TokenVerifier};
use sigstack_core::certificate::CertificateAuthority;
use sigstack_core::note::EcdsaP256NoteSigner;
use sigstack_ctlog::{CtConfig, CtLog};
use sigstack_engine::EngineStore;
use sigstack_store::issuance::IssuanceStore;

use crate::backend::with_store;
use crate::cli::{ServeCaArgs, ServeCtArgs};
use crate::keys;
use crate::serve::shutdown_signal;

/// Everything the CA needs, loaded from files before any store is opened.
pub struct CaMaterials {
    pub ca: CertificateAuthority,
    /// Signing CA first, root last.
    pub chain: Vec<Vec<u8>>,
    pub issuers: Arc<IssuerConfig>,
}

impl std::fmt::Debug for CaMaterials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaMaterials")
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// Where the CA's SCTs come from.
#[derive(Debug)]
pub enum CtPlacement {
    /// A CT log in this process, on this store and listener, with this key
    /// and checkpoint origin.
    InProcess {
        signer: Arc<EcdsaP256NoteSigner>,
        origin: String,
    },
    /// A CT log elsewhere.
    Remote(HttpCtLog),
}

pub async fn serve_ca(args: ServeCaArgs) -> anyhow::Result<()> {
    let (signer, chain) = keys::load_ca(&args.ca_key, args.ca_chain.as_deref())?;
    let ca = CertificateAuthority::new(&chain[0], signer)
        .context("the CA key and the first certificate of its chain")?;
    let issuers = Arc::new(read_issuer_config(&args.issuer_config)?);
    let materials = CaMaterials { ca, chain, issuers };
    let ct = match &args.ct_log_url {
        Some(url) => {
            let key = args
                .ct_log_public_key
                .as_deref()
                .map(keys::read_public_key_der)
                .transpose()?;
            if key.is_none() {
                tracing::warn!(
                    "no --ct-log-public-key: SCTs from the CT log are embedded unchecked"
                );
            }
            CtPlacement::Remote(HttpCtLog::new(
                url,
                Duration::from_secs(args.ct_timeout_secs.max(1)),
                key,
            )?)
        }
        None => {
            let source = args.ct_key.as_ref().context(
                "give --ct-key-file and --ct-password-file (a CT log in this process) or --ct-log-url",
            )?;
            let origin = args.ct_origin.clone();
            CtPlacement::InProcess {
                signer: Arc::new(keys::load_note_signer(&source.into(), &origin)?),
                origin,
            }
        }
    };
    let (listen, grpc_listen) = (args.listen, args.grpc_listen.filter(|g| *g != args.listen));
    with_store!(args.store, 16, |store| {
        let routers = ca_router(store, materials, ct, VerifierOptions::default()).await?;
        let stop = routers.stopper();
        match grpc_listen {
            None => {
                let (router, _) = routers.merged();
                serve(listen, router, "CA (REST and gRPC)").await?;
            }
            Some(grpc_listen) => {
                let http = with_ct_fallback(routers.http, routers.ct_log.is_some());
                tokio::try_join!(
                    serve(listen, http, "CA (REST)"),
                    serve(grpc_listen, routers.grpc, "CA (gRPC)"),
                )?;
            }
        }
        stop.shutdown().await;
        Ok(())
    })
}

/// The CA's routes over `store`, with the CT log's routes when it runs in
/// this process (the two sets of paths do not collide).
///
/// # Errors
/// The CT log or the verifier cannot start, or the chain does not start with
/// the CA's certificate.
pub async fn ca_router<S: EngineStore + IssuanceStore + Clone + 'static>(
    store: S,
    materials: CaMaterials,
    ct: CtPlacement,
    verifier_options: VerifierOptions,
) -> anyhow::Result<CaRouters<S>> {
    let root = materials
        .chain
        .last()
        .context("the CA chain is empty")?
        .clone();
    let (sct, ct_log): (Arc<dyn SctSource>, _) = match ct {
        CtPlacement::InProcess { signer, origin } => {
            let log = Arc::new(
                CtLog::open(store.clone(), CtConfig::new(origin, vec![root]), signer).await?,
            );
            tracing::info!(log_id = %hex::encode(log.log_id()), "CT log in process");
            (Arc::new(InProcessCtLog(log.clone())), Some(log))
        }
        CtPlacement::Remote(client) => (Arc::new(client), None),
    };
    let verifier = TokenVerifier::new(materials.issuers, verifier_options)?;
    verifier.prefetch().await;
    let service = Arc::new(CertificateService::new(
        verifier,
        materials.ca,
        materials.chain,
        sct,
        store,
    )?);
    let grpc =
        sigstack_ca::grpc::grpc_routes(service.clone(), sigstack_ca::api::REQUEST_TIMEOUT).await;
    let mut http = sigstack_ca::api::router(service.clone(), sigstack_ca::api::REQUEST_TIMEOUT);
    if let Some(log) = &ct_log {
        http = http.merge(sigstack_ctlog::api::routes(log.clone()));
    }
    Ok(CaRouters {
        http,
        grpc,
        ct_log,
        service,
    })
}

/// What a CA process stops when its listeners have drained: the issuance
/// recorder (queued records committed), then the in-process CT log's
/// engine (its open batch committed).
#[derive(Debug)]
pub struct CaStop<S> {
    service: Arc<CertificateService<S>>,
    ct_log: Option<Arc<CtLog<S>>>,
}

impl<S: EngineStore + IssuanceStore + 'static> CaStop<S> {
    pub async fn shutdown(&self) {
        self.service.shutdown().await;
        if let Some(log) = &self.ct_log {
            log.engine().shutdown().await;
        }
    }
}

/// The CA's two edges and the CT log when it runs in this process.
#[derive(Debug)]
pub struct CaRouters<S> {
    /// REST v2 and v1 (and the CT log's `/ct/v1/`), without a fallback so
    /// that `up` can merge it next to the transparency log's.
    pub http: Router,
    /// gRPC `dev.sigstore.fulcio.v2.CA` and `grpc.health.v1.Health`.
    pub grpc: Router,
    pub ct_log: Option<Arc<CtLog<S>>>,
    service: Arc<CertificateService<S>>,
}

impl<S> CaRouters<S> {
    /// Stops what these routes serve, once the listeners are done.
    pub fn stopper(&self) -> CaStop<S> {
        CaStop {
            service: Arc::clone(&self.service),
            ct_log: self.ct_log.clone(),
        }
    }

    /// Both edges on one listener: HTTP/1.1 for REST and h2c for gRPC, told
    /// apart by path (Fulcio does this when its two ports are equal).
    pub fn merged(self) -> (Router, CaStop<S>) {
        let stop = self.stopper();
        let router = self.http.merge(self.grpc);
        (with_ct_fallback(router, self.ct_log.is_some()), stop)
    }
}

/// Unknown paths answer the CT log's 404 JSON when it runs in this process.
fn with_ct_fallback(router: Router, ct_in_process: bool) -> Router {
    if ct_in_process {
        router.fallback(sigstack_ctlog::api::not_found)
    } else {
        router
    }
}

pub async fn serve_ct(args: ServeCtArgs) -> anyhow::Result<()> {
    let roots = keys::read_certificates(&args.roots)?;
    anyhow::ensure!(
        !roots.is_empty(),
        "{} holds no certificate",
        args.roots.display()
    );
    let signer = Arc::new(keys::load_note_signer(&args.key, &args.origin)?);
    let listen = args.listen;
    with_store!(args.store, 16, |store| {
        let log =
            Arc::new(CtLog::open(store, CtConfig::new(args.origin.clone(), roots), signer).await?);
        tracing::info!(log_id = %hex::encode(log.log_id()), "CT log");
        serve(listen, sigstack_ctlog::api::router(log.clone()), "CT log").await?;
        log.engine().shutdown().await;
        Ok(())
    })
}

/// Answers leave at once: without TCP_NODELAY a response written in two
/// segments waits for the client's delayed ACK.
pub fn no_delay(
    listener: tokio::net::TcpListener,
) -> impl axum::serve::Listener<Addr = std::net::SocketAddr> {
    use axum::serve::ListenerExt as _;
    listener.tap_io(|stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::warn!(error = %e, "TCP_NODELAY");
        }
    })
}

async fn serve(listen: std::net::SocketAddr, router: Router, what: &str) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let listener = no_delay(listener);
    tracing::info!(listen = %listen, "{what} serving");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("{what} stopped");
    Ok(())
}

fn read_issuer_config(path: &Path) -> anyhow::Result<IssuerConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading issuer config {}", path.display()))?;
    IssuerConfig::parse(&text).with_context(|| format!("issuer config {}", path.display()))
}
