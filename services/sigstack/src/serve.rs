//! `sigstack serve log`: the transparency log on its own listener.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sigstack_engine::EngineStore;
use sigstack_rekor::{RekorConfig, RekorLog};

use crate::backend::with_store;
use crate::cli::{LogRotateArgs, ServeLogArgs};

pub async fn log(args: ServeLogArgs) -> anyhow::Result<()> {
    let hostname = match &args.hostname {
        Some(h) => h.clone(),
        None if args.listen.ip().is_unspecified() => {
            anyhow::bail!(
                "--listen {} is a wildcard: give --hostname, the host of the log's published URL",
                args.listen
            )
        }
        None => args.listen.ip().to_string(),
    };
    let signer = Arc::new(crate::keys::load_note_signer(&args.key, &hostname)?);
    let connections = 16;
    with_store!(args.store, connections, |store| run(
        store, &args, hostname, signer
    )
    .await)
}

async fn run<S: EngineStore>(
    store: S,
    args: &ServeLogArgs,
    hostname: String,
    signer: Arc<sigstack_core::note::EcdsaP256NoteSigner>,
) -> anyhow::Result<()> {
    let mut config = RekorConfig::new(hostname.clone());
    config.body_limit = args.body_limit;
    config.request_timeout = Duration::from_secs(args.request_timeout_secs.max(1));
    if !args.enabled_api_endpoints.is_empty() {
        config.enabled = args
            .enabled_api_endpoints
            .iter()
            .map(|id| {
                sigstack_rekor::Operation::from_operation_id(id).ok_or_else(|| {
                    anyhow::anyhow!("--enabled-api-endpoints: unknown operation {id:?}")
                })
            })
            .collect::<anyhow::Result<_>>()?;
    }
    config.engine.max_batch = args.max_batch;
    config.engine.max_wait = Duration::from_millis(args.max_wait_ms);
    let log = Arc::new(RekorLog::open(store, config, signer).await?);
    let router = sigstack_rekor::api::router(Arc::clone(&log), args.body_limit);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(listen = %args.listen, hostname = %hostname, log_id = %log.log_id().to_hex(), "transparency log serving");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    // Stop taking appends and let the sequencer commit what it holds.
    log.engine().shutdown().await;
    tracing::info!("transparency log stopped");
    Ok(())
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
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
