//! `sigstack trust export`, and the trust directory `up` writes: the
//! documents of `sigstack_core::trust` plus the PEMs and cosign's two ways
//! of finding them (`spec/trust.md` §2.4–§2.5).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sigstack_core::entry::pki::{Certificate, PublicKey};
use sigstack_core::trust::{LogInput, TrustDocuments, TrustInputs};

use crate::cli::TrustExportArgs;
use crate::data_dir::{DataDir, Metadata};
use crate::keys;

pub const TRUSTED_ROOT: &str = "trusted_root.json";
pub const SIGNING_CONFIG: &str = "signing_config.v0.2.json";
pub const TRUST_CONFIG: &str = "trust_config.json";
pub const CA_CHAIN: &str = "ca-chain.pem";
pub const CTLOG_PUBLIC_KEY: &str = "ctlog.pub.pem";
pub const REKOR_PUBLIC_KEY: &str = "rekor.pub.pem";
pub const COSIGN_ENV: &str = "cosign.env";
pub const COSIGN_V3: &str = "cosign-v3.txt";

/// What a trust directory is made from.
#[derive(Debug)]
pub struct TrustMaterial {
    pub inputs: TrustInputs,
    /// Printed in the cosign instructions.
    pub oidc_issuer: String,
}

/// `sigstack trust export`.
pub fn export(args: &TrustExportArgs) -> anyhow::Result<()> {
    let (material, out) = match &args.data_dir {
        Some(dir) => {
            let dir = DataDir::new(dir);
            let metadata = dir.existing_metadata()?;
            let out = args.out.clone().unwrap_or_else(|| dir.trust());
            (from_data_dir(&dir, &metadata)?, out)
        }
        None => (from_flags(args)?, args.out.clone().context("give --out")?),
    };
    let written = write(&out, &material)?;
    for path in written {
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// The material of a data directory: its keys as `up` signs with them, its
/// URLs from the recorded listen address.
pub fn from_data_dir(dir: &DataDir, metadata: &Metadata) -> anyhow::Result<TrustMaterial> {
    let password = dir.password()?;
    let public_key = |name: &str| -> anyhow::Result<Vec<u8>> {
        let signer = keys::load_note_signer_with(&dir.key(name), &password, "key")?;
        Ok(signer.public_key_spki_der().to_vec())
    };
    with_log_keys(
        dir,
        metadata,
        public_key(keys::REKOR_KEY)?,
        public_key(keys::CTLOG_KEY)?,
    )
}

/// [`from_data_dir`] with the two logs' DER SPKIs from signers already
/// opened (`up` has them; decrypting a key file again costs a KDF run).
pub fn with_log_keys(
    dir: &DataDir,
    metadata: &Metadata,
    rekor_spki: Vec<u8>,
    ct_spki: Vec<u8>,
) -> anyhow::Result<TrustMaterial> {
    let base = metadata.base_url();
    let valid_from = metadata.keys_created_at;
    Ok(TrustMaterial {
        inputs: TrustInputs {
            ca_url: base.clone(),
            ca_chain_der: keys::read_certificates(&dir.key(keys::CHAIN))?,
            oidc_url: metadata.issuer_url.clone(),
            tlog: LogInput {
                base_url: base.clone(),
                spki_der: rekor_spki,
                valid_from,
            },
            ctlog: LogInput {
                base_url: base,
                spki_der: ct_spki,
                valid_from,
            },
            operator: metadata.hostname.clone(),
            services_valid_from: valid_from,
        },
        oidc_issuer: metadata.issuer_url.clone(),
    })
}

/// A production deployment's material, every part named by a flag.
fn from_flags(args: &TrustExportArgs) -> anyhow::Result<TrustMaterial> {
    let need = |value: &Option<String>, flag: &str| -> anyhow::Result<String> {
        let (text, flag) = match (value, &args.url) {
            (Some(url), _) => (url, flag),
            (None, Some(url)) => (url, "--url"),
            (None, None) => {
                anyhow::bail!("give --data-dir, or {flag} (or --url for every service)")
            }
        };
        let text = text.trim_end_matches('/').to_owned();
        http_url(&text, flag)?;
        Ok(text)
    };
    let file = |value: &Option<PathBuf>, flag: &str| {
        value
            .clone()
            .with_context(|| format!("give --data-dir, or {flag}"))
    };
    let ca_url = need(&args.ca_url, "--ca-url")?;
    let rekor_url = need(&args.rekor_url, "--rekor-url")?;
    let ct_url = need(&args.ct_url, "--ct-url")?;
    let oidc_url = args
        .oidc_url
        .clone()
        .context("give --oidc-url (the issuer signers get their tokens from)")?;
    http_url(&oidc_url, "--oidc-url")?;
    let valid_from = |value: &Option<String>, flag: &str| -> anyhow::Result<i64> {
        let (text, flag) = match (value, &args.valid_from) {
            (Some(text), _) => (text.as_str(), flag),
            (None, Some(text)) => (text.as_str(), "--valid-from"),
            (None, None) => anyhow::bail!(
                "give {flag} or --valid-from: RFC 3339, at or before the key's first use"
            ),
        };
        let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .with_context(|| format!("{flag} {text:?} is not an RFC 3339 time"))?;
        Ok(t.unix_timestamp())
    };
    let rekor_from = valid_from(&args.rekor_valid_from, "--rekor-valid-from")?;
    let ct_from = valid_from(&args.ct_valid_from, "--ct-valid-from")?;
    let operator = match &args.operator {
        Some(operator) => operator.clone(),
        None => url::Url::parse(&ca_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .context("give --operator")?,
    };
    Ok(TrustMaterial {
        inputs: TrustInputs {
            ca_url,
            ca_chain_der: keys::read_certificates(&file(&args.ca_chain, "--ca-chain")?)?,
            oidc_url: oidc_url.clone(),
            tlog: LogInput {
                base_url: rekor_url,
                spki_der: keys::read_public_key_der(&file(
                    &args.rekor_public_key,
                    "--rekor-public-key",
                )?)?,
                valid_from: rekor_from,
            },
            ctlog: LogInput {
                base_url: ct_url,
                spki_der: keys::read_public_key_der(&file(
                    &args.ct_public_key,
                    "--ct-public-key",
                )?)?,
                valid_from: ct_from,
            },
            operator,
            services_valid_from: rekor_from.min(ct_from),
        },
        oidc_issuer: oidc_url,
    })
}

/// Refuses anything but an absolute http(s) URL: clients append paths to it.
fn http_url(text: &str, flag: &str) -> anyhow::Result<()> {
    let url = url::Url::parse(text).with_context(|| format!("{flag} {text:?} is not a URL"))?;
    anyhow::ensure!(
        matches!(url.scheme(), "http" | "https") && url.host_str().is_some(),
        "{flag} {text:?} is not an http(s) URL with a host"
    );
    Ok(())
}

/// Writes every file of a trust directory into `out` (made if missing;
/// each file replaced whole), and returns their paths.
///
/// # Errors
/// Inconsistent material (see [`TrustDocuments::build`]) or an unwritable `out`.
pub fn write(out: &Path, material: &TrustMaterial) -> anyhow::Result<Vec<PathBuf>> {
    let docs = TrustDocuments::build(&material.inputs)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let out = std::fs::canonicalize(out)?;
    let at = |name: &str| out.join(name);
    let json = |value: &dyn erased::Json| -> anyhow::Result<Vec<u8>> {
        let mut text = value.to_pretty()?;
        text.push('\n');
        Ok(text.into_bytes())
    };
    let chain_pem: String = material
        .inputs
        .ca_chain_der
        .iter()
        .map(|der| Ok(Certificate::from_der(der)?.canonical_pem()))
        .collect::<anyhow::Result<_>>()?;
    let key_pem = |der: &[u8]| -> anyhow::Result<String> {
        Ok(PublicKey::from_spki_der(der)?.canonical_pem())
    };
    let files: Vec<(&str, Vec<u8>)> = vec![
        (TRUSTED_ROOT, json(&docs.trusted_root)?),
        (SIGNING_CONFIG, json(&docs.signing_config)?),
        (TRUST_CONFIG, json(&docs.client_trust_config())?),
        (CA_CHAIN, chain_pem.into_bytes()),
        (
            CTLOG_PUBLIC_KEY,
            key_pem(&material.inputs.ctlog.spki_der)?.into_bytes(),
        ),
        (
            REKOR_PUBLIC_KEY,
            key_pem(&material.inputs.tlog.spki_der)?.into_bytes(),
        ),
        (COSIGN_ENV, cosign_env(&out).into_bytes()),
        (COSIGN_V3, cosign_v3(&out, material).into_bytes()),
    ];
    let mut written = Vec::new();
    for (name, bytes) in files {
        let tmp = at(&format!(".{name}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        keys::write_new(&tmp, &bytes, None)?;
        std::fs::rename(&tmp, at(name))
            .with_context(|| format!("writing {}", at(name).display()))?;
        written.push(at(name));
    }
    Ok(written)
}

/// The legacy path of cosign 2.x (and 3.0.x with `--use-signing-config=false`):
/// these variables replace TUF, and stop cosign loading a trusted root at
/// verification (trust.md §2.5 note).
fn cosign_env(out: &Path) -> String {
    format!(
        "# cosign 2.x, legacy trust path (untested here: no cosign binary on this machine).\n\
         # `source` this file; cosign 3.x users see {COSIGN_V3} instead.\n\
         export SIGSTORE_ROOT_FILE={}\n\
         export SIGSTORE_REKOR_PUBLIC_KEY={}\n\
         export SIGSTORE_CT_LOG_PUBLIC_KEY_FILE={}\n",
        out.join(CA_CHAIN).display(),
        out.join(REKOR_PUBLIC_KEY).display(),
        out.join(CTLOG_PUBLIC_KEY).display(),
    )
}

/// cosign 3.x: the trusted root and signing config as files, no variables.
fn cosign_v3(out: &Path, material: &TrustMaterial) -> String {
    let root = out.join(TRUSTED_ROOT);
    let config = out.join(SIGNING_CONFIG);
    format!(
        "# cosign 3.x (untested here: no cosign binary on this machine).\n\
         # Do not set the SIGSTORE_* variables of {COSIGN_ENV} with these commands.\n\
         cosign sign-blob --yes --bundle artifact.sigstore.json \\\n  --signing-config {config} \\\n  --trusted-root {root} \\\n  --identity-token \"$SIGSTORE_ID_TOKEN\" artifact.txt\n\
         cosign verify-blob --bundle artifact.sigstore.json \\\n  --trusted-root {root} \\\n  --certificate-identity you@example.com \\\n  --certificate-oidc-issuer {issuer} artifact.txt\n",
        config = config.display(),
        root = root.display(),
        issuer = material.oidc_issuer,
    )
}

/// Pretty JSON of any of the three documents.
mod erased {
    pub trait Json {
        fn to_pretty(&self) -> serde_json::Result<String>;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_pretty(&self) -> serde_json::Result<String> {
            serde_json::to_string_pretty(self)
        }
    }
}
