//! The typed config of `sigstack serve` (one TOML file per service, see
//! `deploy/config/`), with `SIGSTACK_<SECTION>__<KEY>` environment
//! overrides. Every unknown key is an error that names it; secrets are never
//! in the file itself but in files it names (`url_file`, `password_file`,
//! `pin_file`). Relative paths are relative to the working directory.
//!
//! Loading is two steps: the top-level `service` picks the shape, then the
//! whole file is read as that shape, so each error carries the key's path.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format as _, Toml};
use serde::Deserialize;
use sigstack_signer::CaKeyConfig;

use crate::cli::{Backend, LogFormat, StoreArgs};

/// The prefix of the environment overrides; a key's sections are joined by `__`.
pub const ENV_PREFIX: &str = "SIGSTACK_";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    Log,
    Ca,
    Ct,
}

impl ServiceKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::Ca => "ca",
            Self::Ct => "ct",
        }
    }
}

/// One service's whole config.
#[derive(Debug)]
pub enum ServiceConfig {
    Log(LogServiceConfig),
    Ca(CaServiceConfig),
    Ct(CtServiceConfig),
}

/// `[server]`: where the service listens and how it stops.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// The API listener (for the CA: REST, and gRPC unless `grpc_listen`).
    pub listen: SocketAddr,
    /// `/metrics`, `/healthz` and `/readyz`; without it no metrics are served.
    #[serde(default)]
    pub admin_listen: Option<SocketAddr>,
    /// The CA only: gRPC on a listener of its own.
    #[serde(default)]
    pub grpc_listen: Option<SocketAddr>,
    #[serde(default = "default_timeout_secs")]
    pub request_timeout_secs: u64,
    /// After SIGTERM: how long in-flight requests may take to finish.
    #[serde(default = "default_timeout_secs")]
    pub shutdown_timeout_secs: u64,
}

fn default_timeout_secs() -> u64 {
    30
}

/// `[database]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub backend: Backend,
    /// The URL itself (for SQLite, a path); or give `url_file`.
    #[serde(default)]
    pub url: Option<String>,
    /// A file whose first line is the URL (it holds the password).
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    #[serde(default = "default_connections")]
    pub max_connections: u32,
}

fn default_connections() -> u32 {
    16
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("backend", &self.backend)
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("url_file", &self.url_file)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl DatabaseConfig {
    /// The store arguments, reading `url_file` when that names the URL.
    ///
    /// # Errors
    /// The file cannot be read or is not UTF-8.
    pub fn store_args(&self) -> anyhow::Result<StoreArgs> {
        let database_url = match (&self.url, &self.url_file) {
            (Some(url), None) => url.clone(),
            (None, Some(file)) => {
                let secret = sigstack_signer::read_secret_file(file)
                    .map_err(|e| anyhow::anyhow!("database.url_file {}: {e}", file.display()))?;
                String::from_utf8(secret.expose().to_vec()).map_err(|_| {
                    anyhow::anyhow!("database.url_file {}: not UTF-8", file.display())
                })?
            }
            _ => anyhow::bail!("database: give exactly one of url and url_file"),
        };
        Ok(StoreArgs {
            backend: self.backend,
            database_url,
        })
    }
}

/// `[telemetry]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    #[serde(default)]
    pub log_format: LogFormat,
    /// `RUST_LOG` syntax; `RUST_LOG` itself wins when set.
    #[serde(default)]
    pub log_filter: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogServiceConfig {
    pub service: ServiceKind,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    pub log: LogSection,
}

/// `[log]`: the Rekor v1-compatible transparency log.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// Host of the log's published URL: the checkpoint's origin and key name.
    pub hostname: String,
    pub key_file: PathBuf,
    pub password_file: PathBuf,
    #[serde(default = "default_body_limit")]
    pub body_limit_bytes: usize,
    /// Rekor operationIds to serve (empty: all); the others answer 501.
    #[serde(default)]
    pub enabled_api_endpoints: Vec<String>,
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    #[serde(default = "default_max_wait_ms")]
    pub max_wait_ms: u64,
}

fn default_body_limit() -> usize {
    32 * 1024 * 1024
}

fn default_max_batch() -> usize {
    256
}

fn default_max_wait_ms() -> u64 {
    2
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaServiceConfig {
    pub service: ServiceKind,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    pub ca: CaSection,
}

/// `[ca]`: the Fulcio-compatible CA.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaSection {
    /// PEM chain: the signing CA first, the root last (not with the
    /// ephemeral key backend, which makes its own).
    #[serde(default)]
    pub chain_file: Option<PathBuf>,
    /// The Fulcio-format issuer file (JSON or YAML). It loads as Fulcio
    /// loads it: unknown keys there are skipped with a warning each.
    pub issuer_config: PathBuf,
    pub key: CaKeyConfig,
    pub ct: CaCtConfig,
}

/// `[ca.ct]`: where the CA's SCTs come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum CaCtConfig {
    /// A CT log in the CA's process, on its listener and database.
    InProcess {
        key_file: PathBuf,
        password_file: PathBuf,
        origin: String,
    },
    /// A CT log elsewhere (its URL including any log prefix).
    Remote {
        url: url::Url,
        /// Each SCT is checked with this key before it is embedded.
        #[serde(default)]
        public_key_file: Option<PathBuf>,
        #[serde(default = "default_timeout_secs")]
        timeout_secs: u64,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtServiceConfig {
    pub service: ServiceKind,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    pub ct: CtSection,
}

/// `[ct]`: the RFC 6962 CT log on its own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtSection {
    pub key_file: PathBuf,
    pub password_file: PathBuf,
    /// PEM certificates of the roots whose chains the log accepts.
    pub roots_file: PathBuf,
    /// Checkpoint origin (the log's name).
    pub origin: String,
}

impl ServiceConfig {
    /// Reads `path` with the environment's overrides and checks it.
    ///
    /// # Errors
    /// One line naming the file, the key and what is wrong with it.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading config {}: {e}", path.display()))?;
        let figment = Figment::from(Toml::string(&text)).merge(
            Env::prefixed(ENV_PREFIX)
                // Only nested keys: SIGSTACK_CONFIG, SIGSTACK_DATABASE_URL
                // and the tests' variables are not config keys.
                .filter(|key| key.as_str().contains("__"))
                .split("__"),
        );
        let named = |e: figment::Error| anyhow::anyhow!("{}: {}", path.display(), describe(&e));
        let kind: ServiceKind = figment.extract_inner("service").map_err(named)?;
        let config = match kind {
            ServiceKind::Log => Self::Log(figment.extract().map_err(named)?),
            ServiceKind::Ca => Self::Ca(figment.extract().map_err(named)?),
            ServiceKind::Ct => Self::Ct(figment.extract().map_err(named)?),
        };
        config
            .validate()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(config)
    }

    pub fn kind(&self) -> ServiceKind {
        match self {
            Self::Log(c) => c.service,
            Self::Ca(c) => c.service,
            Self::Ct(c) => c.service,
        }
    }

    pub fn server(&self) -> &ServerConfig {
        match self {
            Self::Log(c) => &c.server,
            Self::Ca(c) => &c.server,
            Self::Ct(c) => &c.server,
        }
    }

    pub fn database(&self) -> &DatabaseConfig {
        match self {
            Self::Log(c) => &c.database,
            Self::Ca(c) => &c.database,
            Self::Ct(c) => &c.database,
        }
    }

    pub fn telemetry(&self) -> &TelemetryConfig {
        match self {
            Self::Log(c) => &c.telemetry,
            Self::Ca(c) => &c.telemetry,
            Self::Ct(c) => &c.telemetry,
        }
    }

    /// What serde cannot say: ranges, choices between keys, names.
    fn validate(&self) -> Result<(), String> {
        let server = self.server();
        if server.grpc_listen.is_some() && self.kind() != ServiceKind::Ca {
            return Err("server.grpc_listen: only the CA serves gRPC".into());
        }
        if server.request_timeout_secs == 0 {
            return Err("server.request_timeout_secs: must be at least 1".into());
        }
        if server.admin_listen == Some(server.listen) {
            return Err("server.admin_listen: must differ from server.listen".into());
        }
        let database = self.database();
        if database.url.is_some() == database.url_file.is_some() {
            return Err("database: give exactly one of url and url_file".into());
        }
        if database.max_connections == 0 {
            return Err("database.max_connections: must be at least 1".into());
        }
        match self {
            Self::Log(c) => {
                if c.log.hostname.is_empty() {
                    return Err("log.hostname: must not be empty".into());
                }
                if c.log.max_batch == 0 {
                    return Err("log.max_batch: must be at least 1".into());
                }
                if c.log.max_wait_ms > 10_000 {
                    return Err("log.max_wait_ms: at most 10000".into());
                }
                for id in &c.log.enabled_api_endpoints {
                    if sigstack_rekor::Operation::from_operation_id(id).is_none() {
                        return Err(format!(
                            "log.enabled_api_endpoints: unknown operation {id:?}"
                        ));
                    }
                }
            }
            Self::Ca(c) => {
                let ephemeral = matches!(c.ca.key, CaKeyConfig::Ephemeral {});
                if c.ca.chain_file.is_none() && !ephemeral {
                    return Err(
                        "ca.chain_file: required for the file and pkcs11 key backends".into(),
                    );
                }
                if c.ca.chain_file.is_some() && ephemeral {
                    return Err("ca.chain_file: the ephemeral backend makes its own chain".into());
                }
                if let CaCtConfig::InProcess { origin, .. } = &c.ca.ct
                    && origin.is_empty()
                {
                    return Err("ca.ct.origin: must not be empty".into());
                }
            }
            Self::Ct(c) => {
                if c.ct.origin.is_empty() {
                    return Err("ct.origin: must not be empty".into());
                }
            }
        }
        Ok(())
    }

    /// Every file the config names, with its key, for `check-config --files`.
    pub fn files(&self) -> Vec<(&'static str, &Path)> {
        let mut files: Vec<(&'static str, &Path)> = Vec::new();
        if let Some(file) = &self.database().url_file {
            files.push(("database.url_file", file));
        }
        match self {
            Self::Log(c) => {
                files.push(("log.key_file", &c.log.key_file));
                files.push(("log.password_file", &c.log.password_file));
            }
            Self::Ca(c) => {
                if let Some(chain) = &c.ca.chain_file {
                    files.push(("ca.chain_file", chain));
                }
                files.push(("ca.issuer_config", &c.ca.issuer_config));
                match &c.ca.key {
                    CaKeyConfig::File {
                        key_file,
                        password_file,
                    } => {
                        files.push(("ca.key.key_file", key_file));
                        files.push(("ca.key.password_file", password_file));
                    }
                    CaKeyConfig::Pkcs11(p) => {
                        files.push(("ca.key.module", &p.module));
                        files.push(("ca.key.pin_file", &p.pin_file));
                    }
                    CaKeyConfig::Ephemeral {} => {}
                }
                match &c.ca.ct {
                    CaCtConfig::InProcess {
                        key_file,
                        password_file,
                        ..
                    } => {
                        files.push(("ca.ct.key_file", key_file));
                        files.push(("ca.ct.password_file", password_file));
                    }
                    CaCtConfig::Remote {
                        public_key_file: Some(key),
                        ..
                    } => files.push(("ca.ct.public_key_file", key)),
                    CaCtConfig::Remote { .. } => {}
                }
            }
            Self::Ct(c) => {
                files.push(("ct.key_file", &c.ct.key_file));
                files.push(("ct.password_file", &c.ct.password_file));
                files.push(("ct.roots_file", &c.ct.roots_file));
            }
        }
        files
    }
}

/// figment's error as one line per problem, each starting with the dotted
/// key (and, for an override, the variable it came from).
fn describe(error: &figment::Error) -> String {
    error
        .clone()
        .into_iter()
        .map(|e| {
            let mut path = e.path.clone();
            // Name the unknown key itself, not only the table it is in.
            if let figment::error::Kind::UnknownField(name, _) = &e.kind
                && path.last() != Some(name)
            {
                path.push(name.clone());
            }
            let key = path.join(".");
            // Name the variable only when one by that name is set: a
            // table merged from both sources reports either.
            let variable = format!(
                "{ENV_PREFIX}{}",
                path.iter()
                    .map(|p| p.to_uppercase())
                    .collect::<Vec<_>>()
                    .join("__")
            );
            let from = if std::env::var_os(&variable).is_some() {
                format!(" (from {variable})")
            } else {
                String::new()
            };
            if key.is_empty() {
                format!("{}{from}", e.kind)
            } else {
                format!("{key}: {}{from}", e.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `sigstack check-config FILE`: loads it as `serve` would and, with
/// `files`, checks that every file it names can be read.
///
/// # Errors
/// The first problem, naming the key.
pub fn check(path: &Path, files: bool) -> anyhow::Result<()> {
    let config = ServiceConfig::load(path)?;
    if files {
        for (key, file) in config.files() {
            std::fs::File::open(file).map_err(|e| {
                anyhow::anyhow!("{}: {key} {}: {e}", path.display(), file.display())
            })?;
        }
    }
    println!(
        "{}: a valid {} config",
        path.display(),
        config.kind().name()
    );
    Ok(())
}
