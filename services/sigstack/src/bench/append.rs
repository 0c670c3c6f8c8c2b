//! Append mode: closed loop (`--concurrency` appends in flight, each waiting
//! for its acknowledgement) or open loop (`--rate` per second, latency
//! measured from each leaf's scheduled send time, so a stall is not hidden).

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use sigstack_core::hash::leaf_hash;
use sigstack_core::ids::TreeId;
use sigstack_engine::{Appended, Engine, EngineStore, TreeWriter};
use tokio::sync::Semaphore;

use super::stats::{Histogram, ms, rss_kib};
use crate::cli::EngineBenchArgs;

pub async fn run<S: EngineStore>(
    engine: &Arc<Engine<S>>,
    tree: TreeId,
    args: &EngineBenchArgs,
) -> anyhow::Result<()> {
    let writer = engine.writer(tree).await?;
    let start_size = engine.size(tree).await?.get();
    let nonce: u64 = rand::random();
    let printer = Arc::new(AckPrinter::new(args.print_acks));
    let done = Arc::new(AtomicU64::new(0));
    let monitor = tokio::spawn(watch_rss(
        Arc::clone(&done),
        start_size,
        args.rss_at.clone(),
        args.print_acks,
    ));

    let started = Instant::now();
    let (latencies, errors) = match args.rate {
        None => closed_loop(&writer, args, nonce, &printer, &done).await,
        Some(rate) => open_loop(&writer, args, rate, nonce, &printer, &done).await?,
    };
    let elapsed = started.elapsed();
    monitor.abort();

    let acked = latencies.count();
    let (rss, peak) = rss_kib();
    let report = [
        format!("backend: {:?}", args.store.backend),
        format!("tree: {tree} (from size {start_size})"),
        format!("leaves acknowledged: {acked} (errors: {errors})"),
        format!("elapsed_s: {:.3}", elapsed.as_secs_f64()),
        format!("leaves_per_s: {:.0}", acked as f64 / elapsed.as_secs_f64()),
        format!("ack_p50_ms: {}", ms(latencies.quantile(0.50))),
        format!("ack_p99_ms: {}", ms(latencies.quantile(0.99))),
        format!("rss_kib: {rss}"),
        format!("peak_rss_kib: {peak}"),
    ];
    for line in report {
        if args.print_acks {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
    Ok(())
}

async fn closed_loop(
    writer: &TreeWriter,
    args: &EngineBenchArgs,
    nonce: u64,
    printer: &Arc<AckPrinter>,
    done: &Arc<AtomicU64>,
) -> (Histogram, u64) {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency.max(1) {
        let (writer, next, printer, done) = (
            writer.clone(),
            Arc::clone(&next),
            Arc::clone(printer),
            Arc::clone(done),
        );
        let (total, leaf_bytes) = (args.leaves, args.leaf_bytes);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Histogram::default();
            let mut errors = 0u64;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let data = leaf_data(nonce, n, leaf_bytes);
                let sent = Instant::now();
                match append_one(&writer, data, &printer).await {
                    Ok(()) => {
                        latencies.record(sent.elapsed());
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(()) => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Histogram::default();
    let mut errors = 0;
    for task in tasks {
        if let Ok((l, e)) = task.await {
            all.merge(&l);
            errors += e;
        }
    }
    (all, errors)
}

async fn open_loop(
    writer: &TreeWriter,
    args: &EngineBenchArgs,
    rate: u64,
    nonce: u64,
    printer: &Arc<AckPrinter>,
    done: &Arc<AtomicU64>,
) -> anyhow::Result<(Histogram, u64)> {
    anyhow::ensure!(rate > 0, "--rate must be positive");
    let slots = u32::try_from(args.concurrency.max(1))?;
    let in_flight = Arc::new(Semaphore::new(slots as usize));
    let results = Arc::new(std::sync::Mutex::new((Histogram::default(), 0u64)));
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let mut issued = 0u64;
    while issued < args.leaves {
        tick.tick().await;
        let due = ((start.elapsed().as_secs_f64() * rate as f64) as u64).min(args.leaves);
        while issued < due {
            let scheduled = start + Duration::from_secs_f64(issued as f64 / rate as f64);
            let permit = Arc::clone(&in_flight).acquire_owned().await?;
            let (writer, printer, done, results) = (
                writer.clone(),
                Arc::clone(printer),
                Arc::clone(done),
                Arc::clone(&results),
            );
            let data = leaf_data(nonce, issued, args.leaf_bytes);
            tokio::spawn(async move {
                let outcome = append_one(&writer, data, &printer).await;
                // Latency from the scheduled send time: a stall is not hidden.
                let latency = scheduled.elapsed();
                if let Ok(mut r) = results.lock() {
                    match outcome {
                        Ok(()) => r.0.record(latency),
                        Err(()) => r.1 += 1,
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
                drop(permit);
            });
            issued += 1;
        }
    }
    // Every append in flight holds a permit: taking them all waits for the last.
    let _all = in_flight.acquire_many(slots).await?;
    let results = results
        .lock()
        .map_err(|_| anyhow::anyhow!("results lock poisoned"))?;
    Ok((results.0.clone(), results.1))
}

async fn append_one(writer: &TreeWriter, data: Vec<u8>, printer: &AckPrinter) -> Result<(), ()> {
    let hash = printer.enabled.then(|| leaf_hash(&data));
    match writer.append(data).await {
        Ok(appended) => {
            if let Some(hash) = hash {
                printer.print(&appended, &hash.to_hex());
            }
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, "append failed");
            Err(())
        }
    }
}

/// A leaf unique to this run: a nonce and a counter, padded to `len` bytes.
fn leaf_data(nonce: u64, n: u64, len: usize) -> Vec<u8> {
    let mut data = format!("sigstack-bench {nonce:016x} {n:012}").into_bytes();
    data.resize(len.max(data.len()), b'.');
    data
}

/// Prints acknowledgements and each newly seen signed head, one line each.
struct AckPrinter {
    enabled: bool,
    last_head: std::sync::Mutex<u64>,
}

impl AckPrinter {
    fn new(enabled: bool) -> Self {
        Self {
            enabled,
            last_head: std::sync::Mutex::new(0),
        }
    }

    fn print(&self, appended: &Appended, hash_hex: &str) {
        let kind = if appended.duplicate { "dup" } else { "new" };
        let mut out = std::io::stdout().lock();
        let Ok(mut last) = self.last_head.lock() else {
            return;
        };
        // One write per line, flushed at once: a reader that kills this
        // process must never see an acknowledgement that was not committed.
        if appended.head.size.get() > *last {
            *last = appended.head.size.get();
            let note = base64::engine::general_purpose::STANDARD.encode(&appended.head.checkpoint);
            let _ = writeln!(
                out,
                "head {} {} {note}",
                appended.head.size,
                appended.head.root.to_hex()
            );
        }
        let _ = writeln!(out, "ack {} {hash_hex} {kind}", appended.index);
        let _ = out.flush();
    }
}

/// Prints resident memory as the tree passes each size in `at`.
async fn watch_rss(done: Arc<AtomicU64>, start: u64, mut at: Vec<u64>, to_stderr: bool) {
    at.sort_unstable();
    let mut at = at.into_iter().filter(|s| *s > start).peekable();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    while let Some(&size) = at.peek() {
        tick.tick().await;
        if start + done.load(Ordering::Relaxed) >= size {
            let (rss, peak) = rss_kib();
            let line = format!("rss_at_size {size}: rss_kib {rss} peak_rss_kib {peak}");
            if to_stderr {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
            at.next();
        }
    }
}
