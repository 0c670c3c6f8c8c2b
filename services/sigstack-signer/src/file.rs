//! The `file` backend: an encrypted PKCS#8 PEM decrypted at start into an
//! in-memory signer (`spec/ca.md` §13, Fulcio's `fileca`).

use std::path::Path;

use sigstack_core::certificate::InMemoryCaSigner;
use sigstack_core::key_file::decrypt_pkcs8_pem;

use crate::{SignerError, read_secret_file};

pub(crate) fn open(key_file: &Path, password_file: &Path) -> Result<InMemoryCaSigner, SignerError> {
    let pem = std::fs::read_to_string(key_file).map_err(|source| SignerError::Read {
        path: key_file.to_owned(),
        source,
    })?;
    let password = read_secret_file(password_file)?;
    let der =
        decrypt_pkcs8_pem(&pem, password.expose()).map_err(|source| SignerError::KeyFile {
            key_file: key_file.to_owned(),
            password_file: password_file.to_owned(),
            source,
        })?;
    let signer =
        InMemoryCaSigner::from_pkcs8(der.as_bytes()).map_err(|_| SignerError::KeyType {
            path: key_file.to_owned(),
        })?;
    tracing::info!(key_file = %key_file.display(), "opened the CA key file");
    Ok(signer)
}
