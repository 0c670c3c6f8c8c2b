//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "sigstack",
    version,
    about = "A self-hosted, private Sigstore stack"
)]
pub struct Cli {
    /// Log output: human-readable on a terminal, JSON for production.
    #[arg(long, value_enum, default_value_t = LogFormat::Auto, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Auto,
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Benchmarks (see README, "Performance").
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Append throughput, acknowledgement latency and RSS of the log engine,
    /// or (with --proofs) proof latency at growing tree sizes.
    Engine(EngineBenchArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    #[arg(long, value_enum)]
    pub backend: Backend,
    /// PostgreSQL URL (`postgres://…`), or for SQLite a file path
    /// (`sqlite:` prefix optional).
    #[arg(long, env = "SIGSTACK_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct EngineBenchArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Leaves to append.
    #[arg(long, default_value_t = 100_000)]
    pub leaves: u64,
    /// Appends in flight at once (closed loop: each waits for its acknowledgement).
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Offer leaves at this rate per second instead (open loop), with at most
    /// --concurrency in flight.
    #[arg(long)]
    pub rate: Option<u64>,
    /// Size of each leaf in bytes.
    #[arg(long, default_value_t = 128)]
    pub leaf_bytes: usize,
    /// Append to this tree, creating it if missing (default: a new tree).
    #[arg(long)]
    pub tree_id: Option<i64>,
    /// Sequencer batch limit.
    #[arg(long, default_value_t = 256)]
    pub max_batch: usize,
    /// Sequencer batch wait in milliseconds.
    #[arg(long, default_value_t = 2)]
    pub max_wait_ms: u64,
    /// Print every acknowledgement and every new signed head on stdout
    /// (`ack <index> <leaf hash hex> <new|dup>` and `head <size> <root hex> <checkpoint base64>`),
    /// for the crash tests.
    #[arg(long)]
    pub print_acks: bool,
    /// Instead of appending, grow a tree to 10^3, 10^5 and 10^7 leaves (or
    /// --proof-sizes) and print median inclusion and consistency proof latency at each.
    #[arg(long)]
    pub proofs: bool,
    /// Tree sizes for --proofs, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,100000,10000000")]
    pub proof_sizes: Vec<u64>,
    /// Proofs sampled at each size.
    #[arg(long, default_value_t = 2000)]
    pub samples: usize,
    /// Print resident memory whenever the tree passes each of these sizes.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000,10000000")]
    pub rss_at: Vec<u64>,
}

/// A SQLite path from `--database-url`.
pub fn sqlite_path(url: &str) -> PathBuf {
    PathBuf::from(
        url.strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url),
    )
}
