//! Verification material of entries: `publicKey.content`, dsse verifiers and
//! intoto keys, read as Rekor's `x509.NewPublicKey` reads them (log.md §2.1).
//!
//! The input is trimmed and must be PEM. One `PUBLIC KEY` block is a key,
//! one `CERTIFICATE` block a certificate, several `CERTIFICATE` blocks a
//! chain (at most 10, leaf first); any other block type (`EC PUBLIC KEY`,
//! `RSA PUBLIC KEY`, …) is refused. The canonical form Rekor stores is Go's
//! `pem.Encode` of the key's re-marshalled SPKI, or of each certificate's
//! DER as received.

mod certificate;
mod chain;
mod key;
mod pem;
mod verify;

pub use certificate::Certificate;
pub use chain::{LeafSignature, SignatureCache};
pub use key::{KeyType, PublicKey};
pub use verify::{HashAlgorithm, is_permitted, verify_message, verify_prehashed};

/// The longest chain Rekor parses (`UnmarshalCertificatesFromPEMLimited(…, 10)`).
pub const MAX_CHAIN_LEN: usize = 10;

/// A key, a certificate, or a certificate chain (leaf first).
#[derive(Debug, Clone)]
pub struct VerificationMaterial {
    inner: Material,
}

#[derive(Debug, Clone)]
enum Material {
    PublicKey(PublicKey),
    /// One certificate (`issuers` empty) or a chain of up to
    /// [`MAX_CHAIN_LEN`], leaf first.
    Certificates {
        leaf: Box<Certificate>,
        issuers: Vec<Certificate>,
    },
}

/// Raised when verification material cannot be read or a signature or
/// chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkiError {
    #[error("{0}")]
    Pem(String),
    #[error("invalid public key: cannot handle type {0}")]
    UnsupportedPemType(String),
    #[error("too many certificates specified in PEM block")]
    TooManyCertificates,
    #[error("{0}")]
    Key(String),
    #[error("{0}")]
    Certificate(String),
    #[error("{0}")]
    Chain(String),
    #[error("{0}")]
    Signature(String),
    #[error("entry algorithm {key:?}/{} not allowed", hash.name())]
    AlgorithmNotAllowed { key: KeyType, hash: HashAlgorithm },
}

impl VerificationMaterial {
    /// Parses PEM text as log.md §2.1 describes.
    ///
    /// # Errors
    /// [`PkiError::Pem`] for non-PEM input, [`PkiError::UnsupportedPemType`]
    /// for a single block of another type, [`PkiError::TooManyCertificates`]
    /// past ten, and the key or certificate errors of what the blocks hold.
    pub fn parse_pem(text: &[u8]) -> Result<Self, PkiError> {
        let blocks = pem::decode_all(text)?;
        let inner = match blocks.as_slice() {
            [single] => match single.label.as_str() {
                "PUBLIC KEY" => Material::PublicKey(PublicKey::from_spki_der(&single.der)?),
                "CERTIFICATE" => Material::Certificates {
                    leaf: Box::new(Certificate::from_der(&single.der)?),
                    issuers: Vec::new(),
                },
                other => return Err(PkiError::UnsupportedPemType(other.to_owned())),
            },
            several if several.len() > MAX_CHAIN_LEN => return Err(PkiError::TooManyCertificates),
            several => {
                let mut certs = several.iter().map(|block| match block.label.as_str() {
                    "CERTIFICATE" => Certificate::from_der(&block.der),
                    other => Err(PkiError::Certificate(format!(
                        "a chain holds only CERTIFICATE blocks, not {other}"
                    ))),
                });
                let Some(leaf) = certs.next() else {
                    return Err(PkiError::Pem("no PEM block".into()));
                };
                Material::Certificates {
                    leaf: Box::new(leaf?),
                    issuers: certs.collect::<Result<_, _>>()?,
                }
            }
        };
        Ok(Self { inner })
    }

    /// The key that verifies entry signatures: the key itself, or the
    /// (leaf) certificate's subject key.
    pub fn public_key(&self) -> &PublicKey {
        match &self.inner {
            Material::PublicKey(key) => key,
            Material::Certificates { leaf, .. } => leaf.public_key(),
        }
    }

    /// The (leaf) certificate, if this is not a bare key.
    pub fn leaf_certificate(&self) -> Option<&Certificate> {
        match &self.inner {
            Material::PublicKey(_) => None,
            Material::Certificates { leaf, .. } => Some(leaf),
        }
    }

    /// Every certificate, leaf first; empty for a bare key.
    pub fn certificates(&self) -> Vec<&Certificate> {
        match &self.inner {
            Material::PublicKey(_) => Vec::new(),
            Material::Certificates { leaf, issuers } => {
                std::iter::once(leaf.as_ref()).chain(issuers).collect()
            }
        }
    }

    /// The canonical PEM Rekor stores (log.md §2.1): one `PUBLIC KEY` block,
    /// or the `CERTIFICATE` blocks of the certificates in order.
    pub fn canonical_pem(&self) -> String {
        match &self.inner {
            Material::PublicKey(key) => key.canonical_pem(),
            Material::Certificates { .. } => self
                .certificates()
                .into_iter()
                .map(Certificate::canonical_pem)
                .collect(),
        }
    }

    /// The leaf certificate's SANs in sigstore's order (for the search
    /// index, log.md §2.6); none for a bare key.
    pub fn subject_alternative_names(&self) -> &[String] {
        self.leaf_certificate()
            .map_or(&[], Certificate::subject_alternative_names)
    }

    /// Verifies a chain leaf→root (see `chain` for what is checked); keys
    /// and single certificates pass, as in the reference.
    ///
    /// # Errors
    /// [`PkiError::Chain`].
    pub fn verify_chain(&self) -> Result<(), PkiError> {
        self.verify_chain_with(None, LeafSignature::Check)
    }

    /// [`VerificationMaterial::verify_chain`], remembering CA signatures in
    /// `cache` ([`SignatureCache`]); `leaf_signature` says whether the
    /// leaf's own signature is checked ([`LeafSignature`]).
    ///
    /// # Errors
    /// [`PkiError::Chain`].
    pub fn verify_chain_cached(
        &self,
        cache: &SignatureCache,
        leaf_signature: LeafSignature,
    ) -> Result<(), PkiError> {
        self.verify_chain_with(Some(cache), leaf_signature)
    }

    fn verify_chain_with(
        &self,
        cache: Option<&SignatureCache>,
        leaf_signature: LeafSignature,
    ) -> Result<(), PkiError> {
        match &self.inner {
            Material::Certificates { issuers, .. } if !issuers.is_empty() => {
                chain::verify_chain(&self.certificates(), cache, leaf_signature)
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
