//! Proof mode: grows one tree through the engine to each size in
//! `--proof-sizes` (or uses a tree already that large), then times `--samples` inclusion proofs of random leaves
//! and consistency proofs from random earlier sizes, all against that size
//! and read from the stored tiles. Every proof is verified, outside the timer.

use std::sync::Arc;
use std::time::Instant;

use sigstack_core::ids::{LeafIndex, TreeId, TreeSize};
use sigstack_core::{consistency, inclusion};
use sigstack_engine::{Engine, EngineStore};

use super::stats::{Histogram, ms};
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
        // Proofs at exactly the target size, also on a tree that is larger
        // (a prefix of the stored tiles is the tree at any smaller size).
        let size = TreeSize::new(target);
        let root = reader.root_at(tree, size).await?;
        let mut inclusion_times = Histogram::default();
        let mut consistency_times = Histogram::default();
        for _ in 0..args.samples {
            let index = LeafIndex::new(rand::random_range(0..size.get()));
            let t = Instant::now();
            let proof = reader.inclusion_proof(tree, index, size).await?;
            inclusion_times.record(t.elapsed());
            let leaf = reader.leaf(tree, index).await?;
            inclusion::verify(index, size, &leaf.hash, &proof, &root)?;
        }
        if size.get() > 1 {
            for _ in 0..args.samples {
                let first = TreeSize::new(rand::random_range(1..size.get()));
                let t = Instant::now();
                let proof = reader.consistency_proof(tree, first, size).await?;
                consistency_times.record(t.elapsed());
                let first_root = reader.root_at(tree, first).await?;
                consistency::verify(first, size, &proof, &first_root, &root)?;
            }
        }
        println!(
            "size {size}: inclusion_median_ms {} inclusion_p99_ms {} consistency_median_ms {} consistency_p99_ms {} (samples {})",
            ms(inclusion_times.quantile(0.5)),
            ms(inclusion_times.quantile(0.99)),
            ms(consistency_times.quantile(0.5)),
            ms(consistency_times.quantile(0.99)),
            args.samples
        );
    }
    Ok(())
}
