//! What the sequencer reports through the `metrics` facade (the binary
//! decides where it goes). Every series carries `log`, the personality's
//! name from [`crate::EngineConfig::name`]; the per-tree ones carry `tree`.

use std::time::Duration;

use sigstack_core::ids::{TreeId, TreeSize};

/// Tree size per tree. Not an upstream Rekor metric: the gauge operators'
/// deployment guides alert on, exported by both logs.
pub const ENTRY_COUNT: &str = "rekor_entry_count";
/// Unix seconds of the newest checkpoint this process signed, per tree.
pub const CHECKPOINT_TIMESTAMP: &str = "sigstack_checkpoint_timestamp_seconds";
/// Entries per committed batch.
pub const BATCH_SIZE: &str = "sigstack_sequencer_batch_size";
/// From opening a batch's transaction to its commit.
pub const COMMIT_DURATION: &str = "sigstack_sequencer_commit_duration_seconds";
/// Batches by `result`: `committed` or `failed`.
pub const BATCHES: &str = "sigstack_sequencer_batches_total";
/// Appends waiting in the sequencer's queue when it last took a batch.
pub const QUEUE_DEPTH: &str = "sigstack_sequencer_queue_depth";

pub(crate) fn tree_size(log: &str, tree: TreeId, size: TreeSize) {
    // A tree of 2^53 entries is beyond any store; f64 holds every size below it.
    #[allow(clippy::cast_precision_loss)]
    let value = size.get() as f64;
    metrics::gauge!(ENTRY_COUNT, "log" => log.to_owned(), "tree" => tree.to_string()).set(value);
}

pub(crate) fn batch_committed(
    log: &str,
    tree: TreeId,
    entries: usize,
    took: Duration,
    signed_at: Option<i64>,
) {
    #[allow(clippy::cast_precision_loss)]
    metrics::histogram!(BATCH_SIZE, "log" => log.to_owned()).record(entries as f64);
    metrics::histogram!(COMMIT_DURATION, "log" => log.to_owned()).record(took.as_secs_f64());
    metrics::counter!(BATCHES, "log" => log.to_owned(), "result" => "committed").increment(1);
    if let Some(at) = signed_at {
        #[allow(clippy::cast_precision_loss)]
        metrics::gauge!(CHECKPOINT_TIMESTAMP, "log" => log.to_owned(), "tree" => tree.to_string())
            .set(at as f64);
    }
}

pub(crate) fn batch_failed(log: &str) {
    metrics::counter!(BATCHES, "log" => log.to_owned(), "result" => "failed").increment(1);
}

/// A sequencer starts: its counters exist at zero (so that rates and
/// alerts see them before the first failure), and the queue gauge it and
/// its writers set.
pub(crate) fn sequencer_started(log: &str) -> metrics::Gauge {
    for result in ["committed", "failed"] {
        metrics::counter!(BATCHES, "log" => log.to_owned(), "result" => result).increment(0);
    }
    let gauge = metrics::gauge!(QUEUE_DEPTH, "log" => log.to_owned());
    gauge.set(0.0);
    gauge
}
