//! Proof mode: grows one tree through the engine to each size in
//! `--proof-sizes`, then times `--samples` inclusion proofs of random leaves
//! and consistency proofs from random earlier sizes, all against that size
//! and read from the stored tiles. Every proof is verified, outside the timer.

use std::sync::Arc;
use std::time::Instant;

use sigstack_core::ids::{LeafIndex, TreeId, TreeSize};
use sigstack_core::{consistency, inclusion};
use sigstack_engine::{Engine, EngineStore};

use super::stats::{ms, quantile};
use crate::cli::EngineBenchArgs;

pub async fn run<S: EngineStore>(
    engine: &Arc<Engine<S>>,
    tree: TreeId,
    args: &EngineBenchArgs,
) -> anyhow::Result<()> {
    let reader = engine.reader();
    let mut sizes = args.proof_sizes.clone();
    sizes.sort_unstable();
    for target in sizes {
        let current = engine.size(tree).await?.get();
        if current < target {
            let grow = EngineBenchArgs {
                leaves: target - current,
                print_acks: false,
                rate: None,
                ..args.clone()
            };
            let started = Instant::now();
            super::append::run(engine, tree, &grow).await?;
            eprintln!(
                "grew tree to {target} in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        let head = engine.head(tree).await?;
        let size = head.size;
        let mut inclusion_times = Vec::with_capacity(args.samples);
        let mut consistency_times = Vec::with_capacity(args.samples);
        for _ in 0..args.samples {
            let index = LeafIndex::new(rand::random_range(0..size.get()));
            let t = Instant::now();
            let proof = reader.inclusion_proof(tree, index, size).await?;
            inclusion_times.push(t.elapsed());
            let leaf = reader.leaf(tree, index).await?;
            inclusion::verify(index, size, &leaf.hash, &proof, &head.root)?;
        }
        if size.get() > 1 {
            for _ in 0..args.samples {
                let first = TreeSize::new(rand::random_range(1..size.get()));
                let t = Instant::now();
                let proof = reader.consistency_proof(tree, first, size).await?;
                consistency_times.push(t.elapsed());
                let first_root = reader_root(engine, tree, first).await?;
                consistency::verify(first, size, &proof, &first_root, &head.root)?;
            }
        }
        println!(
            "size {size}: inclusion_median_ms {} inclusion_p99_ms {} consistency_median_ms {} consistency_p99_ms {} (samples {})",
            ms(quantile(&mut inclusion_times, 0.5)),
            ms(quantile(&mut inclusion_times, 0.99)),
            ms(quantile(&mut consistency_times, 0.5)),
            ms(quantile(&mut consistency_times, 0.99)),
            args.samples
        );
    }
    Ok(())
}

/// The root at an earlier size, from the stored tiles.
async fn reader_root<S: EngineStore>(
    engine: &Engine<S>,
    tree: TreeId,
    size: TreeSize,
) -> anyhow::Result<sigstack_core::hash::Hash> {
    Ok(engine.reader().root_at(tree, size).await?)
}
