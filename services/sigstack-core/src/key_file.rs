//! Private keys at rest: PKCS#8 encrypted with a password (PBES2: scrypt and
//! AES-256-CBC, RFC 8018), as an `ENCRYPTED PRIVATE KEY` PEM. Pure
//! conversions only; reading and writing the files is the caller's.

use pkcs8::der::SecretDocument;
use pkcs8::der::pem::LineEnding;
use pkcs8::{EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef};

const LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// Why a key file could not be made or opened. Never carries key bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    #[error("not a PKCS#8 private key")]
    NotPkcs8,
    #[error("not an {LABEL} PEM")]
    NotEncryptedPem,
    #[error("the password does not open this key (or the file is damaged)")]
    WrongPassword,
    #[error("encrypting the key failed")]
    Encrypt,
    #[error("an empty password does not protect a key")]
    EmptyPassword,
}

/// Encrypts the PKCS#8 DER `pkcs8_der` under `password`.
///
/// # Errors
/// [`KeyFileError::EmptyPassword`], [`KeyFileError::NotPkcs8`], or
/// [`KeyFileError::Encrypt`].
pub fn encrypt_pkcs8_pem(pkcs8_der: &[u8], password: &[u8]) -> Result<String, KeyFileError> {
    if password.is_empty() {
        return Err(KeyFileError::EmptyPassword);
    }
    let info = PrivateKeyInfoRef::try_from(pkcs8_der).map_err(|_| KeyFileError::NotPkcs8)?;
    let encrypted = info.encrypt(password).map_err(|_| KeyFileError::Encrypt)?;
    let pem = encrypted
        .to_pem(LABEL, LineEnding::LF)
        .map_err(|_| KeyFileError::Encrypt)?;
    Ok(pem.to_string())
}

/// Decrypts an `ENCRYPTED PRIVATE KEY` PEM into PKCS#8 DER. The returned
/// document zeroes its memory when dropped.
///
/// # Errors
/// [`KeyFileError::NotEncryptedPem`] or [`KeyFileError::WrongPassword`].
pub fn decrypt_pkcs8_pem(pem: &str, password: &[u8]) -> Result<SecretDocument, KeyFileError> {
    let (label, document) =
        SecretDocument::from_pem(pem).map_err(|_| KeyFileError::NotEncryptedPem)?;
    if label != LABEL {
        return Err(KeyFileError::NotEncryptedPem);
    }
    let encrypted = EncryptedPrivateKeyInfoRef::try_from(document.as_bytes())
        .map_err(|_| KeyFileError::NotEncryptedPem)?;
    let decrypted = encrypted
        .decrypt(password)
        .map_err(|_| KeyFileError::WrongPassword)?;
    PrivateKeyInfoRef::try_from(decrypted.as_bytes()).map_err(|_| KeyFileError::WrongPassword)?;
    Ok(decrypted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::EcdsaP256NoteSigner;

    #[test]
    fn round_trip_and_refusals() {
        let signer = EcdsaP256NoteSigner::generate("log.example").expect("key");
        let der = signer.pkcs8_der().expect("pkcs8");
        let pem = encrypt_pkcs8_pem(&der, b"correct horse").expect("encrypt");
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
        let opened = decrypt_pkcs8_pem(&pem, b"correct horse").expect("decrypt");
        assert_eq!(opened.as_bytes(), der.as_slice());
        let reloaded =
            EcdsaP256NoteSigner::from_pkcs8("log.example", opened.as_bytes()).expect("load");
        assert_eq!(reloaded.log_id(), signer.log_id());
        assert_eq!(
            decrypt_pkcs8_pem(&pem, b"wrong").err(),
            Some(KeyFileError::WrongPassword)
        );
        assert_eq!(
            encrypt_pkcs8_pem(&der, b"").err(),
            Some(KeyFileError::EmptyPassword)
        );
        assert_eq!(
            encrypt_pkcs8_pem(b"junk", b"pw").err(),
            Some(KeyFileError::NotPkcs8)
        );
        let plain = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(
            decrypt_pkcs8_pem(plain, b"pw").err(),
            Some(KeyFileError::NotEncryptedPem)
        );
    }
}
