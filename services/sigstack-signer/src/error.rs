use std::path::PathBuf;

use sigstack_core::certificate::CertificateError;
use sigstack_core::key_file::KeyFileError;

/// Why a CA key could not be opened or made. Each names the file, module,
/// token or key at fault; none carries a PIN, a password or key material.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("reading {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: the first line (the secret) is empty", path.display())]
    EmptySecret { path: PathBuf },
    #[error("key file {}: {source} (password from {})", key_file.display(), password_file.display())]
    KeyFile {
        key_file: PathBuf,
        password_file: PathBuf,
        source: KeyFileError,
    },
    #[error("key file {}: not an ECDSA P-256 or P-384 key", path.display())]
    KeyType { path: PathBuf },
    #[error("invalid PKCS#11 key config: {0}")]
    Config(String),
    #[error("loading PKCS#11 module {}: {source}", module.display())]
    Module {
        module: PathBuf,
        source: cryptoki::error::Error,
    },
    #[error("PKCS#11 module {}: {operation}: {source}", module.display())]
    Pkcs11 {
        module: PathBuf,
        operation: &'static str,
        source: cryptoki::error::Error,
    },
    #[error("PKCS#11 module {}: no initialised token with {token}", module.display())]
    TokenNotFound { module: PathBuf, token: String },
    #[error("PKCS#11 module {}: {count} tokens have {token}; name the slot instead", module.display())]
    TokenAmbiguous {
        module: PathBuf,
        token: String,
        count: usize,
    },
    #[error("token {token} refused the user PIN from {pin_source} ({reason})")]
    WrongPin {
        token: String,
        pin_source: String,
        reason: &'static str,
    },
    #[error("token {token}: no EC private key with {key}")]
    KeyNotFound { token: String, key: String },
    #[error("token {token}: {count} EC private keys have {key}; give key_id as well")]
    KeyAmbiguous {
        token: String,
        key: String,
        count: usize,
    },
    #[error("token {token}: key {key} has no EC public key object with its CKA_ID or CKA_LABEL")]
    PublicKeyNotFound { token: String, key: String },
    #[error("token {token}: key {key} is not on P-256 or P-384 (CKA_EC_PARAMS {params})")]
    UnsupportedCurve {
        token: String,
        key: String,
        params: String,
    },
    #[error("token {token}: key {key}: {what}")]
    MalformedKey {
        token: String,
        key: String,
        what: String,
    },
    #[error("token {token}: a key labelled {key_label:?} already exists")]
    KeyExists { token: String, key_label: String },
    #[error(
        "the ephemeral CA key is for development only and this command does not allow it; \
         configure backend \"file\" or \"pkcs11\""
    )]
    EphemeralRefused,
    #[error("generating the ephemeral CA hierarchy: {0}")]
    Certificate(#[from] CertificateError),
}
