//! Entry signature verification (log.md §2.2, §2.3) and hashedrekord's
//! algorithm policy.
//!
//! Everything runs on aws-lc-rs except Ed25519ph: aws-lc-rs offers pure
//! Ed25519 only (its `verify_digest` refuses Ed25519), so hashedrekord's
//! Ed25519 keys go through `ed25519-dalek`'s RFC 8032 Ed25519ph.

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA384_ASN1, ECDSA_P256_SHA512_ASN1, ECDSA_P384_SHA256_ASN1,
    ECDSA_P384_SHA384_ASN1, ECDSA_P384_SHA512_ASN1, ECDSA_P521_SHA256_ASN1, ECDSA_P521_SHA384_ASN1,
    ECDSA_P521_SHA512_ASN1, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_2048_8192_SHA384,
    RSA_PKCS1_2048_8192_SHA512, UnparsedPublicKey, VerificationAlgorithm,
};
use sha2::digest::consts::U64;
use sha2::digest::{FixedOutput, HashMarker, Output, OutputSizeUser, Update};

use super::{KeyType, PkiError, PublicKey};

/// A hashedrekord `data.hash.algorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    /// The schema's names: `sha256`, `sha384`, `sha512`, matched exactly.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        self.aws_lc().output_len()
    }

    fn aws_lc(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        }
    }
}

/// Verifies a hashedrekord signature over a client-supplied `digest`, then
/// applies the default `--client-signing-algorithms` policy (log.md §2.2),
/// in the reference's order: a bad signature is reported before a refused
/// algorithm.
///
/// ECDSA signatures are ASN.1 DER over the digest, RSA ones PKCS#1 v1.5
/// (PSS fails, as in the reference), Ed25519 ones Ed25519ph, which needs a
/// SHA-512 digest. Permitted: P-256 + SHA-256, P-384 + SHA-384, P-521 +
/// SHA-512, RSA 2048/3072/4096 + SHA-256, Ed25519ph.
///
/// # Errors
/// [`PkiError::Signature`] when the signature does not verify (or `digest`
/// has the wrong length for `hash`); [`PkiError::AlgorithmNotAllowed`] when
/// it verifies under a (key, hash) pair outside the policy.
pub fn verify_prehashed(
    key: &PublicKey,
    hash: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> Result<(), PkiError> {
    let refused = |why: &str| PkiError::Signature(why.to_owned());
    if signature.is_empty() {
        return Err(refused("empty signature"));
    }
    let Ok(imported) = Digest::import_less_safe(digest, hash.aws_lc()) else {
        return Err(refused("digest length does not match its algorithm"));
    };
    let verified = match (key.ed25519_bytes(), digest_algorithm(key.key_type(), hash)) {
        (Some(raw), _) => verify_ed25519ph(&raw, hash, digest, signature),
        (None, Some(algorithm)) => UnparsedPublicKey::new(algorithm, key.verification_input())
            .verify_digest(&imported, signature)
            .is_ok(),
        (None, None) => false,
    };
    if !verified {
        return Err(refused(match key.key_type() {
            KeyType::Ed25519 if hash != HashAlgorithm::Sha512 => {
                "Ed25519ph requires a SHA-512 digest"
            }
            _ => "invalid signature",
        }));
    }
    if is_permitted(key.key_type(), hash) {
        Ok(())
    } else {
        Err(PkiError::AlgorithmNotAllowed {
            key: key.key_type(),
            hash,
        })
    }
}

/// Verifies a signature over `message` as dsse and intoto do
/// (`LoadVerifier(key, SHA256)`, log.md §2.3): SHA-256 for ECDSA on every
/// curve and for PKCS#1 v1.5 RSA, pure Ed25519. No algorithm policy.
///
/// # Errors
/// [`PkiError::Signature`] when it does not verify.
pub fn verify_message(key: &PublicKey, message: &[u8], signature: &[u8]) -> Result<(), PkiError> {
    UnparsedPublicKey::new(key.sha256_algorithm(), key.verification_input())
        .verify(message, signature)
        .map_err(|_| PkiError::Signature("invalid signature".into()))
}

/// The default `--client-signing-algorithms` of log.md §2.2, as sigstore's
/// algorithm registry matches it (RSA by exact byte size, as Go's
/// `rsa.PublicKey.Size() * 8`).
pub fn is_permitted(key: KeyType, hash: HashAlgorithm) -> bool {
    use HashAlgorithm::*;
    match key {
        KeyType::EcdsaP256 => hash == Sha256,
        KeyType::EcdsaP384 => hash == Sha384,
        KeyType::EcdsaP521 => hash == Sha512,
        KeyType::Ed25519 => hash == Sha512,
        KeyType::Rsa { bits } => {
            matches!(bits.div_ceil(8) * 8, 2048 | 3072 | 4096) && hash == Sha256
        }
    }
}

/// aws-lc-rs's ECDSA or PKCS#1 v1.5 algorithm for (key, digest); every
/// ECDSA curve takes every SHA-2 digest, as Go's `ecdsa.VerifyASN1` does, so
/// the policy decides. `None` for Ed25519, which has no prehashed form here.
pub(super) fn digest_algorithm(
    key: KeyType,
    hash: HashAlgorithm,
) -> Option<&'static dyn VerificationAlgorithm> {
    use HashAlgorithm::*;
    Some(match (key, hash) {
        (KeyType::EcdsaP256, Sha256) => &ECDSA_P256_SHA256_ASN1,
        (KeyType::EcdsaP256, Sha384) => &ECDSA_P256_SHA384_ASN1,
        (KeyType::EcdsaP256, Sha512) => &ECDSA_P256_SHA512_ASN1,
        (KeyType::EcdsaP384, Sha256) => &ECDSA_P384_SHA256_ASN1,
        (KeyType::EcdsaP384, Sha384) => &ECDSA_P384_SHA384_ASN1,
        (KeyType::EcdsaP384, Sha512) => &ECDSA_P384_SHA512_ASN1,
        (KeyType::EcdsaP521, Sha256) => &ECDSA_P521_SHA256_ASN1,
        (KeyType::EcdsaP521, Sha384) => &ECDSA_P521_SHA384_ASN1,
        (KeyType::EcdsaP521, Sha512) => &ECDSA_P521_SHA512_ASN1,
        (KeyType::Rsa { .. }, Sha256) => &RSA_PKCS1_2048_8192_SHA256,
        (KeyType::Rsa { .. }, Sha384) => &RSA_PKCS1_2048_8192_SHA384,
        (KeyType::Rsa { .. }, Sha512) => &RSA_PKCS1_2048_8192_SHA512,
        (KeyType::Ed25519, _) => return None,
    })
}

/// RFC 8032 §5.1 Ed25519ph with an empty context over a SHA-512 `digest`.
fn verify_ed25519ph(raw: &[u8; 32], hash: HashAlgorithm, digest: &[u8], signature: &[u8]) -> bool {
    if hash != HashAlgorithm::Sha512 {
        return false;
    }
    let (Ok(key), Ok(signature)) = (
        ed25519_dalek::VerifyingKey::from_bytes(raw),
        ed25519_dalek::Signature::from_slice(signature),
    ) else {
        return false;
    };
    let Ok(digest) = <[u8; 64]>::try_from(digest) else {
        return false;
    };
    key.verify_prehashed(KnownSha512(digest), None, &signature)
        .is_ok()
}

/// A SHA-512 value computed elsewhere (by the client, for hashedrekord),
/// handed to `ed25519-dalek`, whose Ed25519ph API takes a hasher and only
/// ever finalises it. `update` is a no-op: there is no message to absorb.
#[derive(Clone)]
struct KnownSha512([u8; 64]);

impl Default for KnownSha512 {
    fn default() -> Self {
        Self([0; 64])
    }
}

impl HashMarker for KnownSha512 {}

impl OutputSizeUser for KnownSha512 {
    type OutputSize = U64;
}

impl Update for KnownSha512 {
    fn update(&mut self, _data: &[u8]) {}
}

impl FixedOutput for KnownSha512 {
    fn finalize_into(self, out: &mut Output<Self>) {
        out.copy_from_slice(&self.0);
    }
}
