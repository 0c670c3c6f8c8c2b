//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod stack;
pub use stack::{TokenArgs, TrustCommand, TrustExportArgs, UpArgs};

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

#[derive(Debug, Clone, Copy, Default, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Auto,
    Human,
    Json,
}

// Parsed once at start and moved into its command: the size is of no matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole stack in one process on one port, over an embedded SQLite
    /// database in a data directory (made on the first start).
    Up(UpArgs),
    /// A fresh ID token from the dev OIDC issuer of a data directory.
    Token(TokenArgs),
    /// Trust documents for clients.
    #[command(subcommand)]
    Trust(TrustCommand),
    /// Run one service (the `service` of its config file) against its database.
    Serve(ServeArgs),
    /// Validate a service config without starting it, naming the bad key.
    CheckConfig(CheckConfigArgs),
    /// Apply the database migrations of a config's `[database]`, then exit.
    Migrate(MigrateArgs),
    /// Operator key tools.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Operator tools for the transparency log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Benchmarks (see README, "Performance").
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The service's TOML config (see deploy/config/); `SIGSTACK_<SECTION>__<KEY>`
    /// variables override its keys.
    #[arg(long, env = "SIGSTACK_CONFIG")]
    pub config: PathBuf,
    /// Development only: let `[ca.key] backend = "ephemeral"` start (a CA
    /// hierarchy made in memory and lost at exit).
    #[arg(long)]
    pub allow_ephemeral_ca: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CheckConfigArgs {
    /// The config file to check.
    pub file: PathBuf,
    /// Also check that every file the config names can be opened.
    #[arg(long)]
    pub files: bool,
}

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// A service config; its `[database]` is migrated.
    #[arg(long, env = "SIGSTACK_CONFIG")]
    pub config: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Freeze the active tree and start a new one (with its genesis entry),
    /// while the service keeps running: it moves to the new tree on its next
    /// write.
    Rotate(LogRotateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct LogRotateArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub key: KeySource,
    /// Host of the log's published URL (as given to `serve log`).
    #[arg(long)]
    pub hostname: String,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate an ECDSA P-256 key (the v1 log key) into a new encrypted PEM file.
    Generate(KeyGenerateArgs),
    /// Create the CA hierarchy (P-384 root and intermediate) and the CT log
    /// and transparency log keys in a directory.
    Init(KeyInitArgs),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Append throughput, acknowledgement latency and RSS of the log engine,
    /// or (with --proofs) proof latency at growing tree sizes.
    Engine(EngineBenchArgs),
    /// Entries per second and latency of a running transparency log, with
    /// real signed hashedrekord entries, against the per-entry crypto bound.
    Log(LogBenchArgs),
    /// Certificates per second and latency of the CA (embedded SCTs, CT log
    /// in process) over HTTP, with the single-core P-384 signing rate.
    Ca(CaBenchArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CaBenchArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Certificates to obtain (every token and proof made before timing starts;
    /// tokens live 10 minutes, so keep the run shorter than that).
    #[arg(long, default_value_t = 20_000)]
    pub certificates: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Offer requests at this rate per second instead (open loop).
    #[arg(long)]
    pub rate: Option<u64>,
    /// Send CSRs (sigstore-python's form) instead of public key + proof.
    #[arg(long)]
    pub csr: bool,
}

#[derive(Debug, Clone, Args)]
pub struct KeySource {
    /// Encrypted PKCS#8 PEM (`sigstack keys generate`).
    #[arg(long)]
    pub key_file: PathBuf,
    /// File holding the key's password (one line).
    #[arg(long)]
    pub password_file: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct KeyGenerateArgs {
    /// Where to write the key (must not exist; written with mode 0600).
    #[arg(long)]
    pub out: PathBuf,
    /// File holding the password to encrypt it with.
    #[arg(long)]
    pub password_file: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct KeyInitArgs {
    /// Directory to write into (created if missing); no file in it is overwritten.
    #[arg(long)]
    pub out_dir: PathBuf,
    /// File holding the password every private key file is encrypted with.
    #[arg(long)]
    pub password_file: PathBuf,
    /// Names the CA: `O=<name>`, `CN=<name> root` and `CN=<name> intermediate`.
    #[arg(long, default_value = "sigstack")]
    pub common_name: String,
    /// Validity of the root and the intermediate, from now.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i64).range(1..=100))]
    pub years: i64,
    #[command(flatten)]
    pub pkcs11: Pkcs11InitArgs,
}

/// Make the intermediate's key in a PKCS#11 token instead of a file.
#[derive(Debug, Clone, Args)]
pub struct Pkcs11InitArgs {
    /// The PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so.
    #[arg(long, requires_all = ["pkcs11_token", "pkcs11_pin_file", "pkcs11_key_label"])]
    pub pkcs11_module: Option<PathBuf>,
    /// Label of the token to create the key in.
    #[arg(long, requires = "pkcs11_module")]
    pub pkcs11_token: Option<String>,
    /// File holding the token's user PIN (one line).
    #[arg(long, requires = "pkcs11_module")]
    pub pkcs11_pin_file: Option<PathBuf>,
    /// Label of the new key pair (must not be in use in the token).
    #[arg(long, requires = "pkcs11_module")]
    pub pkcs11_key_label: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct LogBenchArgs {
    /// Base URL of the log, e.g. http://127.0.0.1:3000 (loopback only for load runs).
    #[arg(long)]
    pub url: String,
    /// Entries to send (all generated and signed before timing starts).
    #[arg(long, default_value_t = 20_000)]
    pub entries: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Offer entries at this rate per second instead (open loop).
    #[arg(long)]
    pub rate: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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
