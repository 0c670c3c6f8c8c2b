//! The CA's signing key, wherever it lives (`design.md` §4, `spec/ca.md`
//! §13), behind [`sigstack_core::certificate::CaSigner`]:
//!
//! - [`CaKeyConfig::File`]: an encrypted PKCS#8 PEM key file and the file
//!   holding its password (Fulcio's `fileca`);
//! - [`CaKeyConfig::Pkcs11`]: a key in a PKCS#11 token (Fulcio's
//!   `pkcs11ca`), signing with `CKM_ECDSA` over a digest computed here;
//! - [`CaKeyConfig::Ephemeral`]: a hierarchy made in memory at start, for
//!   development only, refused unless the caller allows it.
//!
//! [`open`] turns a config into a signer. This crate reads files and talks
//! to the token; it builds no certificate beyond the ephemeral hierarchy
//! (that is `sigstack-core`'s) and holds no certificate chain for the file
//! and PKCS#11 backends (the CA's config names the chain file).

mod ephemeral;
mod error;
mod file;
pub mod pkcs11;
mod secret;

use std::path::PathBuf;

use sigstack_core::certificate::CaSigner;

pub use error::SignerError;
pub use pkcs11::{GeneratedKey, Pkcs11Config, generate_p384};
pub use secret::{SecretBytes, read_secret_file};

/// Where the CA's key is. Deserialised from the CA's config, tagged by
/// `backend`; every level rejects unknown keys. There is no default: a
/// config that names no backend does not parse, so the ephemeral backend is
/// never reached by omission, and [`open`] refuses it unless its caller
/// allows it besides.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "backend", rename_all = "lowercase", deny_unknown_fields)]
pub enum CaKeyConfig {
    /// `ENCRYPTED PRIVATE KEY` PEM (`sigstack keys init`), ECDSA P-256 or
    /// P-384, and a file whose first line is its password.
    File {
        key_file: PathBuf,
        password_file: PathBuf,
    },
    /// A key in a PKCS#11 token.
    Pkcs11(Pkcs11Config),
    /// A P-384 hierarchy generated in memory at start and lost at exit.
    /// (A struct variant: serde lets a unit variant ignore unknown keys.)
    Ephemeral {},
}

/// An opened CA key.
pub struct CaKey {
    pub signer: Box<dyn CaSigner>,
    /// The DER certificates of a hierarchy the backend made itself,
    /// signing CA first, root last: the ephemeral backend's only. `None` for
    /// a key whose certificates are files.
    pub generated_chain: Option<Vec<Vec<u8>>>,
}

impl std::fmt::Debug for CaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaKey")
            .field("algorithm", &self.signer.algorithm())
            .field(
                "generated_chain",
                &self.generated_chain.as_ref().map(Vec::len),
            )
            .finish_non_exhaustive()
    }
}

/// Opens the key `config` names. `allow_ephemeral` is the caller's own
/// word (a development command), never read from the same config.
///
/// # Errors
/// [`SignerError`], naming the file, module, token or key at fault.
pub fn open(config: &CaKeyConfig, allow_ephemeral: bool) -> Result<CaKey, SignerError> {
    match config {
        CaKeyConfig::File {
            key_file,
            password_file,
        } => Ok(CaKey {
            signer: Box::new(file::open(key_file, password_file)?),
            generated_chain: None,
        }),
        CaKeyConfig::Pkcs11(config) => Ok(CaKey {
            signer: Box::new(pkcs11::Pkcs11Signer::open(config)?),
            generated_chain: None,
        }),
        CaKeyConfig::Ephemeral {} => ephemeral::open(allow_ephemeral),
    }
}
