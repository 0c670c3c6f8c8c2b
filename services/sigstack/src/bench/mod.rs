//! `sigstack bench …`: the figures of README "Performance" (engine, log, CA).
//! Medians and percentiles come from one run; nothing here runs in CI.

mod append;
mod ca;
mod load;
mod log;
mod proofs;
mod stats;

use std::sync::Arc;
use std::time::Duration;

use sigstack_core::ids::TreeId;
use sigstack_core::note::EcdsaP256NoteSigner;
use sigstack_engine::{Engine, EngineConfig, EngineError, EngineStore, Publisher};
use sigstack_store::StoreError;

use crate::backend::with_store;
use crate::cli::{CaBenchArgs, EngineBenchArgs, LogBenchArgs};

/// Key name and origin host of the benchmark's throwaway checkpoint key.
const BENCH_HOST: &str = "bench.sigstack.invalid";

pub async fn ca(args: CaBenchArgs) -> anyhow::Result<()> {
    ca::run(args).await
}

pub async fn log(args: LogBenchArgs) -> anyhow::Result<()> {
    log::run(args).await
}

pub async fn engine(args: EngineBenchArgs) -> anyhow::Result<()> {
    // Enough connections for the sequencer and the read side at once.
    let connections = 8;
    with_store!(args.store, connections, |store| run(store, &args).await)
}

async fn run<S: EngineStore>(store: S, args: &EngineBenchArgs) -> anyhow::Result<()> {
    // The benchmark signs with a key made for this run only: it measures
    // signing, not key custody.
    let signer = Arc::new(EcdsaP256NoteSigner::generate(BENCH_HOST)?);
    let publisher = Publisher::new(
        signer,
        Arc::new(|tree: TreeId| format!("{BENCH_HOST} - {tree}")),
    );
    let config = EngineConfig {
        max_batch: args.max_batch,
        max_wait: Duration::from_millis(args.max_wait_ms),
        ..EngineConfig::default()
    };
    let engine = Arc::new(Engine::new(store, config, publisher)?);
    let tree = open_tree(&engine, args.tree_id).await?;
    let result = if args.proofs {
        proofs::run(&engine, tree, args).await
    } else {
        append::run(&engine, tree, args).await
    };
    engine.shutdown().await;
    result
}

/// The tree to append to: `id` if given (created when missing, so that
/// several writer processes may race to start it), else a new random one.
async fn open_tree<S: EngineStore>(engine: &Engine<S>, id: Option<i64>) -> anyhow::Result<TreeId> {
    let tree = match id {
        Some(id) => TreeId::new(id)?,
        None => TreeId::new(rand::random_range(1..i64::MAX))?,
    };
    match engine.head(tree).await {
        Ok(_) => return Ok(tree),
        Err(EngineError::UnknownTree(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let log = format!("bench-{tree}");
    match engine
        .create_tree(&log, tree, b"sigstack bench genesis".to_vec())
        .await
    {
        Ok(_) => Ok(tree),
        // Another writer created it first.
        Err(EngineError::Store(StoreError::Conflict(_))) if engine.head(tree).await.is_ok() => {
            Ok(tree)
        }
        Err(e) => Err(e.into()),
    }
}
