//! Logging and metrics. Logs: `tracing` with human output on a terminal and
//! JSON otherwise, to stderr (stdout stays for a command's own output);
//! `RUST_LOG` filters (default `info,sqlx=warn`). Metrics: the crates record
//! through the `metrics` facade; [`install_metrics`] makes the Prometheus
//! recorder whose text the admin listener serves.

use std::io::IsTerminal as _;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

const DEFAULT_FILTER: &str = "info,sqlx=warn";

pub fn init(format: LogFormat) {
    init_with(format, None);
}

/// As [`init`], with the config's filter unless `RUST_LOG` is set.
pub fn init_with(format: LogFormat, filter: Option<&str>) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(filter.unwrap_or(DEFAULT_FILTER)));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Human => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Latency buckets in seconds: 1 ms to 30 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Entries per sequencer batch, up to the largest `max_batch` in use.
const BATCH_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// Installs the process's Prometheus recorder (once) and records
/// `sigstack_build_info`.
///
/// # Errors
/// A recorder is already installed.
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full(sigstack_engine::metrics::BATCH_SIZE.into()),
            BATCH_BUCKETS,
        )?
        .install_recorder()?;
    metrics::gauge!("sigstack_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(handle)
}
