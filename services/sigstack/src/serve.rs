//! `sigstack serve` (the service its config names), `sigstack migrate`, and
//! the transparency log's service; the CA and CT log are in `ca.rs`.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use sigstack_engine::EngineStore;
use sigstack_rekor::{RekorConfig, RekorLog};
use sigstack_store::Ping;

use crate::backend::with_store;
use crate::cli::{KeySource, LogRotateArgs, MigrateArgs, ServeArgs};
use crate::config::{LogServiceConfig, ServerConfig, ServiceConfig};
use crate::serving::{
    CheckFn, Listener, Readiness, ReadinessCheck, admin_router, health_routes, serve_until_stopped,
    with_request_metrics,
};

/// `sigstack serve --config FILE`: loads and checks the config, sets up
/// logging and metrics as it says, and runs its service.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = ServiceConfig::load(&args.config)?;
    let telemetry = config.telemetry();
    crate::telemetry::init_with(telemetry.log_format, telemetry.log_filter.as_deref());
    let metrics = crate::telemetry::install_metrics()?;
    match config {
        ServiceConfig::Log(config) => log(config, metrics).await,
        ServiceConfig::Ca(config) => {
            crate::ca::serve_ca(config, metrics, args.allow_ephemeral_ca).await
        }
        ServiceConfig::Ct(config) => crate::ca::serve_ct(config, metrics).await,
    }
}

/// `sigstack migrate --config FILE`: opening a store applies its migrations.
pub async fn migrate(args: &MigrateArgs) -> anyhow::Result<()> {
    let config = ServiceConfig::load(&args.config)?;
    let store = config.database().store_args()?;
    with_store!(store, 1, |opened| {
        drop(opened);
        Ok::<(), anyhow::Error>(())
    })?;
    println!("{}: database migrated", args.config.display());
    Ok(())
}

async fn log(config: LogServiceConfig, metrics: PrometheusHandle) -> anyhow::Result<()> {
    let source = KeySource {
        key_file: config.log.key_file.clone(),
        password_file: config.log.password_file.clone(),
    };
    let signer = Arc::new(crate::keys::load_note_signer(
        &source,
        &config.log.hostname,
    )?);
    let store = config.database.store_args()?;
    with_store!(store, config.database.max_connections, |store| run_log(
        store, &config, signer, metrics
    )
    .await)
}

async fn run_log<S: EngineStore + Ping>(
    store: S,
    config: &LogServiceConfig,
    signer: Arc<sigstack_core::note::EcdsaP256NoteSigner>,
    metrics: PrometheusHandle,
) -> anyhow::Result<()> {
    let section = &config.log;
    let mut rekor = RekorConfig::new(section.hostname.clone());
    rekor.body_limit = section.body_limit_bytes;
    rekor.request_timeout = Duration::from_secs(config.server.request_timeout_secs);
    if !section.enabled_api_endpoints.is_empty() {
        // Names checked when the config loaded.
        rekor.enabled = section
            .enabled_api_endpoints
            .iter()
            .filter_map(|id| sigstack_rekor::Operation::from_operation_id(id))
            .collect();
    }
    rekor.engine.max_batch = section.max_batch;
    rekor.engine.max_wait = Duration::from_millis(section.max_wait_ms);
    let log = Arc::new(RekorLog::open(store.clone(), rekor, signer).await?);
    let readiness = Arc::new(log_readiness(store, &log, RekorLog::engine));
    let router = health_routes(Arc::clone(&readiness)).merge(sigstack_rekor::api::router(
        Arc::clone(&log),
        section.body_limit_bytes,
    ));
    tracing::info!(hostname = %section.hostname, log_id = %log.log_id().to_hex(), "transparency log");
    serve_until_stopped(
        vec![Listener {
            address: config.server.listen,
            router: with_request_metrics(router, "log"),
            what: "transparency log",
        }],
        admin(&config.server, &readiness, &metrics),
        readiness,
        Some(metrics),
        Duration::from_secs(config.server.shutdown_timeout_secs),
    )
    .await?;
    // Stop taking appends and let the sequencer commit what it holds.
    log.engine().shutdown().await;
    tracing::info!("transparency log stopped");
    Ok(())
}

/// The admin listener of `server`, if it names one.
pub fn admin(
    server: &ServerConfig,
    readiness: &Arc<Readiness>,
    metrics: &PrometheusHandle,
) -> Option<(std::net::SocketAddr, axum::Router)> {
    match server.admin_listen {
        Some(address) => Some((
            address,
            admin_router(Arc::clone(readiness), metrics.clone()),
        )),
        None => {
            tracing::warn!("no server.admin_listen: /metrics is not served");
            None
        }
    }
}

/// Ready while the database answers a round trip.
pub fn database_check<S: Ping + Clone + 'static>(store: S) -> impl ReadinessCheck {
    CheckFn(move || {
        let store = store.clone();
        async move {
            store
                .ping()
                .await
                .map_err(|e| sigstack_engine::error_chain(&e))
        }
    })
}

/// The readiness of a log service (the transparency log, the CT log): its
/// database, its key (in memory) and its sequencer.
pub fn log_readiness<L, S>(
    store: S,
    log: &Arc<L>,
    engine: fn(&L) -> &sigstack_engine::Engine<S>,
) -> Readiness
where
    L: Send + Sync + 'static,
    S: EngineStore + Ping + Clone + 'static,
{
    Readiness::new()
        .with("database", database_check(store))
        .with("keys", key_loaded())
        .with("sequencer", sequencer_check(Arc::clone(log), engine))
}

/// A key held in this process's memory, loaded before the service started:
/// it cannot go away while the process runs (the CA's, which may live in a
/// token, is probed by signing instead).
pub fn key_loaded() -> impl ReadinessCheck {
    CheckFn(|| std::future::ready(Ok(())))
}

/// Ready while every sequencer this process started still runs. There is
/// no election: every replica writes, serialised by the tree's lock in the
/// store (`SequencerStore::begin_batch`), so a replica that waits for the
/// lock is as ready as the one holding it.
pub fn sequencer_check<L, S>(
    log: Arc<L>,
    engine: fn(&L) -> &sigstack_engine::Engine<S>,
) -> impl ReadinessCheck
where
    L: Send + Sync + 'static,
    S: EngineStore,
{
    CheckFn(move || {
        let log = Arc::clone(&log);
        async move {
            let stopped = engine(&log).stopped_sequencers().await;
            if stopped.is_empty() {
                Ok(())
            } else {
                Err(format!("sequencer of tree(s) {stopped:?} ended"))
            }
        }
    })
}

/// `sigstack log rotate`.
pub async fn rotate(args: LogRotateArgs) -> anyhow::Result<()> {
    let signer = Arc::new(crate::keys::load_note_signer(&args.key, &args.hostname)?);
    with_store!(args.store, 4, |store| {
        let log = RekorLog::open(store, RekorConfig::new(args.hostname.clone()), signer).await?;
        let shard = log.rotate().await?;
        println!(
            "active tree is now {} (virtual index from {})",
            shard.tree, shard.offset
        );
        log.engine().shutdown().await;
        Ok(())
    })
}
