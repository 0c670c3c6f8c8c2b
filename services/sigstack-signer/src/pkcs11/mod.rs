//! The `pkcs11` backend: the CA key in a PKCS#11 token (`spec/ca.md` §13,
//! Fulcio's `pkcs11ca`), tested against SoftHSM2.
//!
//! The key is an EC private key found by `CKA_LABEL` and/or `CKA_ID`; its
//! point and curve come from the public key object paired with it. Signing
//! hashes in Rust and asks the token for `CKM_ECDSA` over the digest, then
//! turns the raw `r‖s` into DER ([`ec`]). At open, one probe signature is
//! checked against the public point, so a token whose public object does not
//! belong to its private key is refused before any certificate is signed.
//! Sessions: see [`session`].

mod ec;
mod generate;
mod module;
mod session;

use std::num::NonZeroUsize;
use std::path::PathBuf;

use cryptoki::mechanism::Mechanism;
use cryptoki::types::RawAuthPin;
use sigstack_core::certificate::{CaKeyAlgorithm, CaSigner};

pub use generate::{GeneratedKey, generate_p384};
use module::TokenSelector;

use crate::{SignerError, read_secret_file};
use session::{KeySelector, SessionPool, Token};

/// Sessions a signer opens at most when `sessions` is not set.
pub const DEFAULT_SESSIONS: usize = 4;

/// A key in a PKCS#11 token. Name the token by `token_label` or `slot`
/// (exactly one), and the key by `key_label`, `key_id` (hex `CKA_ID`) or
/// both.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Config {
    /// The module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    pub token_label: Option<String>,
    pub slot: Option<u64>,
    /// File whose first line is the user PIN.
    pub pin_file: PathBuf,
    pub key_label: Option<String>,
    pub key_id: Option<String>,
    /// Sessions signing at once (default [`DEFAULT_SESSIONS`]).
    pub sessions: Option<NonZeroUsize>,
}

impl Pkcs11Config {
    fn token(&self) -> Result<TokenSelector, SignerError> {
        match (&self.token_label, self.slot) {
            (Some(label), None) => Ok(TokenSelector::Label(label.clone())),
            (None, Some(slot)) => Ok(TokenSelector::Slot(slot)),
            (Some(_), Some(_)) => Err(SignerError::Config(
                "give token_label or slot, not both".into(),
            )),
            (None, None) => Err(SignerError::Config(
                "name the token with token_label or slot".into(),
            )),
        }
    }

    fn key(&self) -> Result<KeySelector, SignerError> {
        let id = match &self.key_id {
            Some(hex_id) => match hex::decode(hex_id) {
                Ok(id) if !id.is_empty() => Some(id),
                _ => {
                    return Err(SignerError::Config(format!(
                        "key_id {hex_id:?} is not a non-empty hex string"
                    )));
                }
            },
            None => None,
        };
        if self.key_label.is_none() && id.is_none() {
            return Err(SignerError::Config(
                "name the key with key_label, key_id or both".into(),
            ));
        }
        Ok(KeySelector {
            label: self.key_label.clone(),
            id,
        })
    }
}

/// A CA signer whose key stays in a PKCS#11 token.
pub struct Pkcs11Signer {
    pool: SessionPool,
    algorithm: CaKeyAlgorithm,
    point: Vec<u8>,
    subject_public_key_info: Vec<u8>,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("module", &self.pool.token.module)
            .field("token", &self.pool.token.name)
            .field("key", &self.pool.key.to_string())
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Pkcs11Signer {
    /// Loads the module, logs in to the token, finds the key and checks
    /// that it signs for its public point.
    ///
    /// # Errors
    /// [`SignerError`] naming what is wrong: the config, the PIN file, the
    /// module, the token, the PIN, the key or its curve.
    pub fn open(config: &Pkcs11Config) -> Result<Self, SignerError> {
        let selector = config.token()?;
        let key = config.key()?;
        let pin = read_secret_file(&config.pin_file)?;
        let context = module::load(&config.module)?;
        let slot = module::find_slot(&context, &config.module, &selector)?;
        let token = Token {
            context,
            module: config.module.clone(),
            slot,
            name: selector.to_string(),
            pin: RawAuthPin::new(Box::new(pin.expose().to_vec())),
            pin_source: config.pin_file.display().to_string(),
        };
        let first = SessionPool::open_session(&token, &key)?;
        let (params, ec_point) =
            session::public_key_attributes(&token, &first.session, &key, first.key)?;
        let malformed = |what: String| SignerError::MalformedKey {
            token: token.name.clone(),
            key: key.to_string(),
            what,
        };
        let algorithm = ec::algorithm_of(&params).ok_or_else(|| SignerError::UnsupportedCurve {
            token: token.name.clone(),
            key: key.to_string(),
            params: hex::encode(&params),
        })?;
        let point = ec::point_from_attribute(algorithm, &ec_point).map_err(malformed)?;
        let sessions = config.sessions.map_or(DEFAULT_SESSIONS, NonZeroUsize::get);
        let signer = Self {
            subject_public_key_info: ec::subject_public_key_info(algorithm, &point),
            pool: SessionPool::new(token, key, sessions, first),
            algorithm,
            point,
        };
        signer.check_probe_signature()?;
        tracing::info!(
            module = %config.module.display(),
            token = %signer.pool.token.name,
            key = %signer.pool.key,
            algorithm = ?algorithm,
            sessions,
            "opened the CA key in a PKCS#11 token"
        );
        Ok(signer)
    }

    /// The key's DER SubjectPublicKeyInfo.
    pub fn subject_public_key_info(&self) -> &[u8] {
        &self.subject_public_key_info
    }

    fn check_probe_signature(&self) -> Result<(), SignerError> {
        const PROBE: &[u8] = b"sigstack-signer: does this key sign for its public point?";
        let verification = match self.algorithm {
            CaKeyAlgorithm::EcdsaP256Sha256 => &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
            CaKeyAlgorithm::EcdsaP384Sha384 => &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1,
        };
        let mismatch = |what: &str| SignerError::MalformedKey {
            token: self.pool.token.name.clone(),
            key: self.pool.key.to_string(),
            what: what.to_owned(),
        };
        let signature = self
            .sign(PROBE)
            .map_err(|e| mismatch(&format!("the probe signature failed: {e}")))?;
        aws_lc_rs::signature::UnparsedPublicKey::new(verification, &self.point)
            .verify(PROBE, &signature)
            .map_err(|_| {
                mismatch("its private key does not sign for the point of its public key object")
            })
    }
}

impl CaSigner for Pkcs11Signer {
    fn algorithm(&self) -> CaKeyAlgorithm {
        self.algorithm
    }

    fn public_key(&self) -> &[u8] {
        &self.point
    }

    /// A token round trip, and a wait while every session is lent.
    fn blocking(&self) -> bool {
        true
    }

    /// Blocks for the token's round trip, and while every session is lent;
    /// async callers run it on a blocking thread.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let digest = ec::digest(self.algorithm, message);
        let failed = |error: &dyn std::fmt::Display| {
            tracing::error!(
                module = %self.pool.token.module.display(),
                token = %self.pool.token.name,
                key = %self.pool.key,
                error = %error,
                "pkcs11 signing failed"
            );
            format!("PKCS#11 signing failed: {error}")
        };
        let lease = self.pool.lease().map_err(|e| failed(&e))?;
        let session = lease.session();
        match session
            .session
            .sign(&Mechanism::Ecdsa, session.key, &digest)
        {
            Ok(raw) => ec::der_signature(self.algorithm, &raw).map_err(|e| failed(&e)),
            Err(e) => {
                lease.discard();
                Err(failed(&e))
            }
        }
    }
}
