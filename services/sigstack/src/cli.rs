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

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
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
    /// Run one service against its database.
    #[command(subcommand)]
    Serve(ServeCommand),
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

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum ServeCommand {
    /// The Rekor v1-compatible transparency log.
    Log(ServeLogArgs),
    /// The Fulcio-compatible CA, with its CT log in the same process (and on
    /// the same listener) unless --ct-log-url names one elsewhere.
    Ca(ServeCaArgs),
    /// The RFC 6962 CT log on its own.
    Ct(ServeCtArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeCaArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address to listen on, for REST and (unless --grpc-listen differs) gRPC.
    #[arg(long, default_value = "127.0.0.1:5555")]
    pub listen: std::net::SocketAddr,
    /// A listener of its own for gRPC (`dev.sigstore.fulcio.v2.CA`); by
    /// default gRPC shares --listen (h2c).
    #[arg(long)]
    pub grpc_listen: Option<std::net::SocketAddr>,
    /// PEM chain of the signing CA: its certificate first, the root last
    /// (not with --ephemeral-ca, which makes its own).
    #[arg(
        long,
        required_unless_present = "ephemeral_ca",
        conflicts_with = "ephemeral_ca"
    )]
    pub ca_chain: Option<PathBuf>,
    #[command(flatten)]
    pub ca_key: CaKeyArgs,
    /// Fulcio-format issuer file (JSON or YAML: OIDCIssuers, MetaIssuers).
    #[arg(long)]
    pub issuer_config: PathBuf,
    /// The in-process CT log's key (encrypted ECDSA P-256 PEM).
    #[command(flatten)]
    pub ct_key: Option<CtKeySource>,
    /// Checkpoint origin of the in-process CT log.
    #[arg(long, default_value = "sigstack-ct")]
    pub ct_origin: String,
    /// A CT log elsewhere (its URL including any log prefix), instead of one
    /// in this process.
    #[arg(long, conflicts_with = "ct_key_file")]
    pub ct_log_url: Option<url::Url>,
    /// That log's public key (PEM or DER SubjectPublicKeyInfo): each SCT is
    /// checked with it before it is embedded.
    #[arg(long, requires = "ct_log_url")]
    pub ct_log_public_key: Option<PathBuf>,
    /// Deadline of one add-pre-chain call, retries included, in seconds.
    #[arg(long, default_value_t = 30)]
    pub ct_timeout_secs: u64,
}

/// The CA's signing key: an encrypted key file, a PKCS#11 token, or (for
/// development only, asked for by name) an ephemeral in-memory hierarchy.
#[derive(Debug, Clone, Args)]
pub struct CaKeyArgs {
    /// Encrypted PKCS#8 PEM of the signing CA's key (ECDSA P-384 or P-256).
    #[arg(long, requires = "ca_password_file", conflicts_with_all = ["ca_pkcs11_module", "ephemeral_ca"])]
    pub ca_key_file: Option<PathBuf>,
    /// File holding its password (one line).
    #[arg(long)]
    pub ca_password_file: Option<PathBuf>,
    /// PKCS#11 module of the token holding the CA key (e.g. /usr/lib/softhsm/libsofthsm2.so).
    #[arg(long, requires = "ca_pkcs11_pin_file", conflicts_with = "ephemeral_ca")]
    pub ca_pkcs11_module: Option<PathBuf>,
    /// Label of that token (or give --ca-pkcs11-slot).
    #[arg(long)]
    pub ca_pkcs11_token_label: Option<String>,
    #[arg(long)]
    pub ca_pkcs11_slot: Option<u64>,
    /// File holding the token's user PIN (one line).
    #[arg(long)]
    pub ca_pkcs11_pin_file: Option<PathBuf>,
    /// CKA_LABEL of the key (and/or --ca-pkcs11-key-id, hex CKA_ID).
    #[arg(long)]
    pub ca_pkcs11_key_label: Option<String>,
    #[arg(long)]
    pub ca_pkcs11_key_id: Option<String>,
    /// Sessions kept open for concurrent signing.
    #[arg(long)]
    pub ca_pkcs11_sessions: Option<std::num::NonZeroUsize>,
    /// Development only: a CA hierarchy made in memory at start and lost at
    /// exit (no --ca-chain). Certificates it issues verify nowhere else.
    #[arg(long)]
    pub ephemeral_ca: bool,
}

impl CaKeyArgs {
    /// The signer backend these flags name, and whether the ephemeral one
    /// was asked for.
    ///
    /// # Errors
    /// When no backend is named.
    pub fn config(&self) -> anyhow::Result<(sigstack_signer::CaKeyConfig, bool)> {
        use sigstack_signer::{CaKeyConfig, Pkcs11Config};
        if self.ephemeral_ca {
            return Ok((CaKeyConfig::Ephemeral {}, true));
        }
        if let (Some(key_file), Some(password_file)) = (&self.ca_key_file, &self.ca_password_file) {
            return Ok((
                CaKeyConfig::File {
                    key_file: key_file.clone(),
                    password_file: password_file.clone(),
                },
                false,
            ));
        }
        if let (Some(module), Some(pin_file)) = (&self.ca_pkcs11_module, &self.ca_pkcs11_pin_file) {
            return Ok((
                CaKeyConfig::Pkcs11(Pkcs11Config {
                    module: module.clone(),
                    token_label: self.ca_pkcs11_token_label.clone(),
                    slot: self.ca_pkcs11_slot,
                    pin_file: pin_file.clone(),
                    key_label: self.ca_pkcs11_key_label.clone(),
                    key_id: self.ca_pkcs11_key_id.clone(),
                    sessions: self.ca_pkcs11_sessions,
                }),
                false,
            ));
        }
        anyhow::bail!(
            "name the CA key: --ca-key-file and --ca-password-file, or --ca-pkcs11-module and --ca-pkcs11-pin-file (or --ephemeral-ca for development)"
        )
    }
}

#[derive(Debug, Clone, Args)]
#[group(requires_all = ["ct_key_file", "ct_password_file"], multiple = true)]
pub struct CtKeySource {
    /// The in-process CT log's key: encrypted ECDSA P-256 PKCS#8 PEM.
    #[arg(long, required = false)]
    pub ct_key_file: PathBuf,
    /// File holding its password (one line).
    #[arg(long, required = false)]
    pub ct_password_file: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ServeCtArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub key: KeySource,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:6962")]
    pub listen: std::net::SocketAddr,
    /// PEM file of the CA roots whose chains the log accepts.
    #[arg(long)]
    pub roots: PathBuf,
    /// Checkpoint origin (the log's name).
    #[arg(long, default_value = "sigstack-ct")]
    pub origin: String,
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
pub struct ServeLogArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub key: KeySource,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: std::net::SocketAddr,
    /// Host of the log's published URL (checkpoint key name and origin);
    /// defaults to the listen address's host, and is required when that is
    /// a wildcard.
    #[arg(long)]
    pub hostname: Option<String>,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 32 * 1024 * 1024)]
    pub body_limit: usize,
    /// Longest a request may take before it is answered 504, in seconds.
    #[arg(long, default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// The API operations to serve, by Rekor's operationIds (default: all);
    /// the others answer 501.
    #[arg(long, value_delimiter = ',')]
    pub enabled_api_endpoints: Vec<String>,
    #[arg(long, default_value_t = 256)]
    pub max_batch: usize,
    #[arg(long, default_value_t = 2)]
    pub max_wait_ms: u64,
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
