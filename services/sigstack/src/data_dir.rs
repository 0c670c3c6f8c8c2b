//! The data directory of `sigstack up`: what is in it, making it on the
//! first start and reading it on later ones.
//!
//! ```text
//! DIR/sigstack-data.json   format version, key creation time, listen address, issuer URL
//! DIR/password             random, mode 0600: encrypts every private key file below
//! DIR/keys/                `keys init`'s files, and dev-issuer.key.pem (P-256)
//! DIR/sigstack.db          SQLite: the CA's records, the CT log's and the transparency log's trees
//! DIR/trust/               what clients need (written by `up` at every start)
//! ```
//!
//! `sigstack-data.json` is written last on the first start, so a directory
//! without it but with keys is an interrupted first start, refused rather
//! than overwritten.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use sigstack_core::key_file::{decrypt_pkcs8_pem, encrypt_pkcs8_pem};
use sigstack_signer::SecretBytes;

use crate::keys;

/// The layout this build writes and reads. A directory of a higher version
/// was made by a newer sigstack and is refused.
pub const FORMAT_VERSION: u32 = 1;
const METADATA: &str = "sigstack-data.json";
const PASSWORD: &str = "password";
const KEYS: &str = "keys";
const DEV_ISSUER_KEY: &str = "dev-issuer.key.pem";
const DATABASE: &str = "sigstack.db";
const TRUST: &str = "trust";

/// `sigstack-data.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub format_version: u32,
    /// Unix seconds, taken before any key was generated: every key's
    /// `validFor.start` in the trusted root.
    pub keys_created_at: i64,
    /// Where `up` last listened; its URLs (and the issuer's) derive from it.
    pub listen: SocketAddr,
    /// Host of the published URLs (the listen address's unless it is a wildcard).
    pub hostname: String,
    /// The dev issuer's `iss`, as `up` serves it.
    pub issuer_url: String,
}

impl Metadata {
    /// `http://HOST:PORT`, the one base URL of every service.
    pub fn base_url(&self) -> String {
        base_url(&self.hostname, self.listen.port())
    }
}

pub fn base_url(hostname: &str, port: u16) -> String {
    if hostname.contains(':') {
        format!("http://[{hostname}]:{port}")
    } else {
        format!("http://{hostname}:{port}")
    }
}

/// A data directory by its path.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn password_file(&self) -> PathBuf {
        self.root.join(PASSWORD)
    }

    pub fn keys(&self) -> PathBuf {
        self.root.join(KEYS)
    }

    pub fn key(&self, name: &str) -> PathBuf {
        self.keys().join(name)
    }

    pub fn database(&self) -> PathBuf {
        self.root.join(DATABASE)
    }

    pub fn trust(&self) -> PathBuf {
        self.root.join(TRUST)
    }

    /// The metadata of a directory `up` has made, for the commands that
    /// need one (`token`, `trust export --data-dir`).
    ///
    /// # Errors
    /// As [`DataDir::read_metadata`], and a directory `up` has not made.
    pub fn existing_metadata(&self) -> anyhow::Result<Metadata> {
        self.read_metadata()?.with_context(|| {
            format!(
                "{} is not a sigstack data directory (run `sigstack up --data-dir {}` once)",
                self.root.display(),
                self.root.display()
            )
        })
    }

    /// The metadata, or `None` for a directory `up` has not made yet.
    ///
    /// # Errors
    /// Unreadable or malformed metadata, a newer format version, or keys
    /// without metadata (an interrupted first start).
    pub fn read_metadata(&self) -> anyhow::Result<Option<Metadata>> {
        let path = self.root.join(METADATA);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                anyhow::ensure!(
                    !self.keys().exists(),
                    "{} has keys but no {METADATA}: an interrupted first start; move it away and start again",
                    self.root.display()
                );
                return Ok(None);
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        // The version is read on its own first: a newer layout may have
        // fields this build does not know.
        #[derive(Deserialize)]
        struct Version {
            format_version: u32,
        }
        let version: Version = serde_json::from_str(&text)
            .with_context(|| format!("{} has no format_version", path.display()))?;
        anyhow::ensure!(
            version.format_version <= FORMAT_VERSION,
            "{} is format version {}, written by a newer sigstack (this one reads up to {FORMAT_VERSION})",
            self.root.display(),
            version.format_version
        );
        let metadata =
            serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
        Ok(Some(metadata))
    }

    /// Writes the metadata (atomically: a temporary file renamed over it).
    ///
    /// # Errors
    /// The directory is not writable.
    pub fn write_metadata(&self, metadata: &Metadata) -> anyhow::Result<()> {
        let path = self.root.join(METADATA);
        let tmp = self.root.join(format!("{METADATA}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        let mut text = serde_json::to_string_pretty(metadata)?;
        text.push('\n');
        keys::write_new(&tmp, text.as_bytes(), None)?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    /// The first start: the directory, the password, every key, then the
    /// metadata. Prints what it wrote.
    ///
    /// # Errors
    /// The directory cannot be made or written.
    pub fn create(&self, listen: SocketAddr, hostname: &str) -> anyhow::Result<Metadata> {
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("creating data directory {}", self.root.display()))?;
        let keys_created_at = unix_now()?;
        let password = new_password();
        keys::write_private(&self.password_file(), format!("{password}\n").as_bytes())
            .with_context(|| format!("data directory {} is not writable", self.root.display()))?;
        let password = keys::read_password(&self.password_file())?;
        keys::init_files(&self.keys(), &password, "sigstack", 10, None)?;
        let issuer_key = sigstack_ca::dev_issuer::DevIssuer::generate_pkcs8()?;
        let pem = encrypt_pkcs8_pem(&issuer_key, password.expose())?;
        keys::write_private(&self.key(DEV_ISSUER_KEY), pem.as_bytes())?;
        println!(
            "wrote {} (dev OIDC issuer key, ECDSA P-256, encrypted)",
            self.key(DEV_ISSUER_KEY).display()
        );
        let metadata = Metadata {
            format_version: FORMAT_VERSION,
            keys_created_at,
            listen,
            hostname: hostname.to_owned(),
            issuer_url: issuer_url(hostname, listen.port()),
        };
        self.write_metadata(&metadata)?;
        Ok(metadata)
    }

    pub fn password(&self) -> anyhow::Result<SecretBytes> {
        keys::read_password(&self.password_file())
    }

    /// The dev issuer with its key from this directory, at the recorded URL.
    ///
    /// # Errors
    /// A missing or corrupt key file or password.
    pub fn dev_issuer(
        &self,
        metadata: &Metadata,
    ) -> anyhow::Result<sigstack_ca::dev_issuer::DevIssuer> {
        let path = self.key(DEV_ISSUER_KEY);
        let pem = std::fs::read_to_string(&path)
            .with_context(|| format!("reading key file {}", path.display()))?;
        let der = decrypt_pkcs8_pem(&pem, self.password()?.expose())
            .with_context(|| format!("opening {}", path.display()))?;
        sigstack_ca::dev_issuer::DevIssuer::from_pkcs8(&metadata.issuer_url, der.as_bytes())
            .with_context(|| format!("{}", path.display()))
    }
}

/// The dev issuer's URL under `up`'s base URL.
pub fn issuer_url(hostname: &str, port: u16) -> String {
    format!("{}/oidc", base_url(hostname, port))
}

/// 32 random bytes, hex: the password of every key file in the directory.
fn new_password() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

pub fn unix_now() -> anyhow::Result<i64> {
    Ok(i64::try_from(
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
    )?)
}
