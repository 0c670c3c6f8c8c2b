//! The arguments of `up`, `token` and `trust export`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Keys, database and trust files (created on the first start).
    #[arg(long, default_value = "./sigstack-data")]
    pub data_dir: PathBuf,
    /// Address to listen on [default: the last start's, else 127.0.0.1:3000].
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Host of the published URLs (log checkpoint name and origin); defaults
    /// to the listen address's host and is required when that is a wildcard.
    #[arg(long)]
    pub hostname: Option<String>,
    /// Fulcio-format issuer file of further issuers the CA trusts next to
    /// the dev issuer.
    #[arg(long)]
    pub issuer_config: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The data directory of `sigstack up`.
    #[arg(long, default_value = "./sigstack-data")]
    pub data_dir: PathBuf,
    /// `sub`.
    #[arg(long)]
    pub subject: String,
    /// `email`, with `email_verified: true`.
    #[arg(long)]
    pub email: Option<String>,
    /// `aud`, a single string.
    #[arg(long, default_value = "sigstore")]
    pub audience: String,
    /// Further claims as a JSON object, merged last (they override).
    #[arg(long)]
    pub claims: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Write trusted_root.json, signing_config.v0.2.json, trust_config.json,
    /// the PEMs and cosign's files: from a data directory, or for a
    /// production deployment from its URLs, chain and public keys.
    Export(TrustExportArgs),
}

#[derive(Debug, Clone, Args)]
pub struct TrustExportArgs {
    /// A data directory of `sigstack up` (its URLs, keys and key times).
    #[arg(long, conflicts_with_all = ["url", "ca_url", "rekor_url", "ct_url", "ca_chain", "rekor_public_key", "ct_public_key"])]
    pub data_dir: Option<PathBuf>,
    /// Where to write [default with --data-dir: DIR/trust].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// One base URL for the CA, the transparency log and the CT log.
    #[arg(long)]
    pub url: Option<String>,
    /// The CA's base URL (clients append /api/v2/signingCert).
    #[arg(long)]
    pub ca_url: Option<String>,
    /// The transparency log's base URL (Rekor v1 API).
    #[arg(long)]
    pub rekor_url: Option<String>,
    /// The CT log's base URL, any log prefix included (before /ct/v1/).
    #[arg(long)]
    pub ct_url: Option<String>,
    /// The OIDC issuer signers use.
    #[arg(long)]
    pub oidc_url: Option<String>,
    /// PEM chain of the CA: the signing CA first, the self-signed root last.
    #[arg(long)]
    pub ca_chain: Option<PathBuf>,
    /// The transparency log's public key (PEM or DER SubjectPublicKeyInfo).
    #[arg(long)]
    pub rekor_public_key: Option<PathBuf>,
    /// The CT log's public key (PEM or DER SubjectPublicKeyInfo).
    #[arg(long)]
    pub ct_public_key: Option<PathBuf>,
    /// RFC 3339 time at or before both log keys' first use.
    #[arg(long)]
    pub valid_from: Option<String>,
    #[arg(long)]
    pub rekor_valid_from: Option<String>,
    #[arg(long)]
    pub ct_valid_from: Option<String>,
    /// The signing config's `operator` [default: the CA URL's host].
    #[arg(long)]
    pub operator: Option<String>,
}
