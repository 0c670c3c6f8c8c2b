//! `sigstack serve` for `service = "ca"` and `"ct"`: the Fulcio-compatible CA
//! (with its CT log in the same process, or a CT log over HTTP) and the CT
//! log on its own. Wiring only: files in, crates joined, one listener.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use sigstack_ca::oidc::VerifierOptions;
use sigstack_ca::sct_source::{HttpCtLog, InProcessCtLog};
use sigstack_ca::{CertificateService, IssuerConfig, SctSource, TokenVerifier};
use sigstack_core::certificate::CertificateAuthority;
use sigstack_core::note::EcdsaP256NoteSigner;
use sigstack_ctlog::{CtConfig, CtLog};
use sigstack_engine::EngineStore;
use sigstack_store::Ping;
use sigstack_store::issuance::IssuanceStore;

use crate::backend::with_store;
use crate::cli::KeySource;
use crate::config::{CaCtConfig, CaServiceConfig, CtServiceConfig};
use crate::keys;
use crate::serve::{admin, database_check, log_readiness, sequencer_check};
use crate::serving::{
    CheckFn, Listener, Readiness, health_routes, serve_until_stopped, with_request_metrics,
};

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

pub async fn serve_ca(
    config: CaServiceConfig,
    metrics: PrometheusHandle,
    allow_ephemeral: bool,
) -> anyhow::Result<()> {
    let section = &config.ca;
    let (signer, chain) =
        keys::load_ca(&section.key, allow_ephemeral, section.chain_file.as_deref())?;
    let ca = CertificateAuthority::new(&chain[0], signer)
        .context("the CA key and the first certificate of its chain")?;
    let issuers = Arc::new(read_issuer_config(&section.issuer_config)?);
    let materials = CaMaterials { ca, chain, issuers };
    let ct = match &section.ct {
        CaCtConfig::Remote {
            url,
            public_key_file,
            timeout_secs,
        } => {
            let key = public_key_file
                .as_deref()
                .map(keys::read_public_key_der)
                .transpose()?;
            if key.is_none() {
                tracing::warn!(
                    "no ca.ct.public_key_file: SCTs from the CT log are embedded unchecked"
                );
            }
            CtPlacement::Remote(HttpCtLog::new(
                url,
                Duration::from_secs((*timeout_secs).max(1)),
                key,
            )?)
        }
        CaCtConfig::InProcess {
            key_file,
            password_file,
            origin,
        } => {
            let source = KeySource {
                key_file: key_file.clone(),
                password_file: password_file.clone(),
            };
            CtPlacement::InProcess {
                signer: Arc::new(keys::load_note_signer(&source, origin)?),
                origin: origin.clone(),
            }
        }
    };
    let server = &config.server;
    let timeout = Duration::from_secs(server.request_timeout_secs);
    let grpc_listen = server.grpc_listen.filter(|g| *g != server.listen);
    let store_args = config.database.store_args()?;
    with_store!(store_args, config.database.max_connections, |store| {
        let routers = ca_router(
            store.clone(),
            materials,
            ct,
            VerifierOptions::default(),
            timeout,
        )
        .await?;
        let stop = routers.stopper();
        let readiness = Arc::new(ca_readiness(store, &routers));
        let health = health_routes(Arc::clone(&readiness));
        let listeners = match grpc_listen {
            None => {
                let (router, _) = routers.merged();
                vec![Listener {
                    address: server.listen,
                    router: with_request_metrics(health.merge(router), "ca"),
                    what: "CA (REST and gRPC)",
                }]
            }
            Some(grpc_listen) => {
                let http = with_ct_fallback(health.merge(routers.http), routers.ct_log.is_some());
                vec![
                    Listener {
                        address: server.listen,
                        router: with_request_metrics(http, "ca"),
                        what: "CA (REST)",
                    },
                    Listener {
                        address: grpc_listen,
                        router: with_request_metrics(routers.grpc, "ca"),
                        what: "CA (gRPC)",
                    },
                ]
            }
        };
        serve_until_stopped(
            listeners,
            admin(server, &readiness, &metrics),
            readiness,
            Some(metrics),
            Duration::from_secs(server.shutdown_timeout_secs),
        )
        .await?;
        stop.shutdown().await;
        tracing::info!("CA stopped");
        Ok(())
    })
}

/// The CA's readiness: its database, its key (a signing probe: the key may
/// be in a token) and, when the CT log runs in process, that log's sequencer.
pub fn ca_readiness<S: EngineStore + IssuanceStore + Ping + Clone + 'static>(
    store: S,
    routers: &CaRouters<S>,
) -> Readiness {
    let service = Arc::clone(&routers.service);
    let mut readiness = Readiness::new()
        .with("database", database_check(store))
        .with(
            "keys",
            CheckFn(move || {
                let service = Arc::clone(&service);
                async move { service.probe_key().await }
            }),
        );
    if let Some(log) = &routers.ct_log {
        readiness = readiness.with("sequencer", sequencer_check(Arc::clone(log), CtLog::engine));
    }
    readiness
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
    request_timeout: Duration,
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
    let grpc = sigstack_ca::grpc::grpc_routes(service.clone(), request_timeout).await;
    let mut http = sigstack_ca::api::router(service.clone(), request_timeout);
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

pub async fn serve_ct(config: CtServiceConfig, metrics: PrometheusHandle) -> anyhow::Result<()> {
    let section = &config.ct;
    let roots = keys::read_certificates(&section.roots_file)?;
    anyhow::ensure!(
        !roots.is_empty(),
        "ct.roots_file {} holds no certificate",
        section.roots_file.display()
    );
    let source = KeySource {
        key_file: section.key_file.clone(),
        password_file: section.password_file.clone(),
    };
    let signer = Arc::new(keys::load_note_signer(&source, &section.origin)?);
    let server = &config.server;
    let store_args = config.database.store_args()?;
    with_store!(store_args, config.database.max_connections, |store| {
        let log = Arc::new(
            CtLog::open(
                store.clone(),
                CtConfig::new(section.origin.clone(), roots),
                signer,
            )
            .await?,
        );
        tracing::info!(log_id = %hex::encode(log.log_id()), "CT log");
        let readiness = Arc::new(log_readiness(store, &log, CtLog::engine));
        let router =
            health_routes(Arc::clone(&readiness)).merge(sigstack_ctlog::api::router(log.clone()));
        serve_until_stopped(
            vec![Listener {
                address: server.listen,
                router: with_request_metrics(router, "ct"),
                what: "CT log",
            }],
            admin(server, &readiness, &metrics),
            readiness,
            Some(metrics),
            Duration::from_secs(server.shutdown_timeout_secs),
        )
        .await?;
        log.engine().shutdown().await;
        tracing::info!("CT log stopped");
        Ok(())
    })
}

fn read_issuer_config(path: &Path) -> anyhow::Result<IssuerConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading issuer config {}", path.display()))?;
    IssuerConfig::parse(&text).with_context(|| format!("issuer config {}", path.display()))
}
