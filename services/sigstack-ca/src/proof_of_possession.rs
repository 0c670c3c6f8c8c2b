//! Proof of possession (`spec/ca.md` §5): the requester shows it holds the
//! private key of the public key it wants certified, either by signing the
//! principal's challenge (`publicKeyRequest`) or by a self-signed CSR. Then
//! the key policy and the algorithm allow-list of §5.3.
//!
//! The CSR is read by slicing its DER, not by decoding every field: only its
//! SubjectPublicKeyInfo, signature algorithm and signature are used, and
//! clients send subjects a strict decoder refuses (sigstore-rs puts an
//! `emailAddress` as UTF8String; old sigstore-python non-ASCII IA5Strings).

use base64::Engine as _;
use der::{Decode, Reader, SliceReader};
use sha2::{Digest, Sha256, Sha384, Sha512};
use sigstack_core::entry::pki::{
    HashAlgorithm, KeyType, PublicKey, verify_message, verify_prehashed,
};
use spki::AlgorithmIdentifierOwned;

/// A requester's key whose possession was proven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenKey {
    /// DER SubjectPublicKeyInfo, as submitted.
    pub spki_der: Vec<u8>,
    pub key_type: KeyType,
}

/// Why possession was not proven; every case is HTTP 400 (ca.md §14).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PossessionError {
    #[error("The public key supplied in the request could not be parsed")]
    KeyUnparsable,
    #[error("The public key supplied in the request is insecure")]
    Insecure,
    #[error("The signature supplied in the request could not be verified")]
    BadSignature,
    #[error("The certificate signing request could not be parsed")]
    CsrUnparsable,
    #[error("unrecognized signature algorithm")]
    UnrecognizedAlgorithm,
    #[error("signing algorithm not permitted: {0}")]
    NotPermitted(String),
}

impl PossessionError {
    pub fn status(&self) -> u16 {
        400
    }

    /// A short label for metrics.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::KeyUnparsable => "key_unparsable",
            Self::Insecure => "key_insecure",
            Self::BadSignature => "proof_of_possession",
            Self::CsrUnparsable => "csr_unparsable",
            Self::UnrecognizedAlgorithm | Self::NotPermitted(_) => "algorithm_not_permitted",
        }
    }
}

/// The `publicKeyRequest` path (§5.1): `content` is PEM `PUBLIC KEY` or raw
/// DER SPKI; `proof` signs the exact UTF-8 bytes of `challenge` with the
/// key's default scheme (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512,
/// RSA PKCS#1 v1.5/SHA-256, pure Ed25519).
///
/// # Errors
/// [`PossessionError`] as §5.1 gives it.
pub fn prove_with_challenge(
    content: &[u8],
    proof: &[u8],
    challenge: &str,
) -> Result<ProvenKey, PossessionError> {
    let spki = public_key_der(content)?;
    let key = PublicKey::from_spki_der(&spki).map_err(|_| refused_key(&spki))?;
    check_key_policy(key.key_type())?;
    let message = challenge.as_bytes();
    let verified = match default_hash(key.key_type()) {
        None => verify_message(&key, message, proof),
        Some(hash) => verify_prehashed(&key, hash, &digest(hash, message), proof),
    };
    verified.map_err(|_| PossessionError::BadSignature)?;
    Ok(ProvenKey {
        spki_der: spki,
        key_type: key.key_type(),
    })
}

/// A key the verifier does not take: a well-formed SubjectPublicKeyInfo of
/// a kind or size the policy refuses (RSA-1024, P-224) is "insecure", as
/// Fulcio answers after parsing it; anything else could not be parsed.
fn refused_key(spki_der: &[u8]) -> PossessionError {
    if spki::SubjectPublicKeyInfoRef::from_der(spki_der).is_ok() {
        PossessionError::Insecure
    } else {
        PossessionError::KeyUnparsable
    }
}

/// The CSR path (§5.2): `pem` is a `CERTIFICATE REQUEST` (or `NEW
/// CERTIFICATE REQUEST`) PEM; its self-signature proves possession.
///
/// # Errors
/// [`PossessionError`] as §5.2 gives it.
pub fn prove_with_csr(pem: &[u8]) -> Result<ProvenKey, PossessionError> {
    let der = csr_der(pem)?;
    let (info, algorithm, signature) = csr_parts(&der).ok_or(PossessionError::CsrUnparsable)?;
    let spki = csr_spki(info).ok_or(PossessionError::CsrUnparsable)?;
    let key = PublicKey::from_spki_der(spki).map_err(|_| PossessionError::CsrUnparsable)?;
    check_key_policy(key.key_type())?;
    let hash = signature_hash(&algorithm)?;
    check_csr_algorithm(key.key_type(), hash)?;
    let verified = match hash {
        None => verify_message(&key, info, &signature),
        Some(hash) => verify_prehashed(&key, hash, &digest(hash, info), &signature),
    };
    verified.map_err(|_| PossessionError::BadSignature)?;
    Ok(ProvenKey {
        spki_der: spki.to_vec(),
        key_type: key.key_type(),
    })
}

/// The allow-list of §5.3 for a CSR: each key type with its one hash (pure
/// Ed25519 with none), so a P-256 key signed with SHA-384 is refused.
fn check_csr_algorithm(key: KeyType, hash: Option<HashAlgorithm>) -> Result<(), PossessionError> {
    match (key, hash) {
        (KeyType::Ed25519, None) => Ok(()),
        (KeyType::Ed25519, Some(_)) | (_, None) => Err(PossessionError::UnrecognizedAlgorithm),
        (key, Some(hash)) if default_hash(key) == Some(hash) => Ok(()),
        (key, Some(hash)) => Err(PossessionError::NotPermitted(format!(
            "{key:?} with {}",
            hash.name()
        ))),
    }
}

/// RSA 2048/3072/4096, ECDSA P-256/384/521 and Ed25519 only (§5.1 step 2).
fn check_key_policy(key: KeyType) -> Result<(), PossessionError> {
    match key {
        KeyType::Rsa { bits } if !matches!(bits, 2048 | 3072 | 4096) => {
            Err(PossessionError::Insecure)
        }
        _ => Ok(()),
    }
}

/// The hash of the key's default scheme; `None` for pure Ed25519.
fn default_hash(key: KeyType) -> Option<HashAlgorithm> {
    match key {
        KeyType::EcdsaP256 | KeyType::Rsa { .. } => Some(HashAlgorithm::Sha256),
        KeyType::EcdsaP384 => Some(HashAlgorithm::Sha384),
        KeyType::EcdsaP521 => Some(HashAlgorithm::Sha512),
        KeyType::Ed25519 => None,
    }
}

fn digest(hash: HashAlgorithm, message: &[u8]) -> Vec<u8> {
    match hash {
        HashAlgorithm::Sha256 => Sha256::digest(message).to_vec(),
        HashAlgorithm::Sha384 => Sha384::digest(message).to_vec(),
        HashAlgorithm::Sha512 => Sha512::digest(message).to_vec(),
    }
}

/// PEM `PUBLIC KEY` first, then raw DER.
fn public_key_der(content: &[u8]) -> Result<Vec<u8>, PossessionError> {
    if content.is_empty() {
        return Err(PossessionError::KeyUnparsable);
    }
    match pem_block(content, &["PUBLIC KEY"]) {
        Some(der) => Ok(der),
        None if content.first() == Some(&0x30) => Ok(content.to_vec()),
        None => Err(PossessionError::KeyUnparsable),
    }
}

fn csr_der(pem: &[u8]) -> Result<Vec<u8>, PossessionError> {
    pem_block(pem, &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"])
        .ok_or(PossessionError::CsrUnparsable)
}

/// The base64 body of the first PEM block with one of `labels`.
fn pem_block(text: &[u8], labels: &[&str]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(text).ok()?;
    for label in labels {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        if let Some(start) = text.find(&begin) {
            let rest = &text[start + begin.len()..];
            let stop = rest.find(&end)?;
            let body: String = rest[..stop]
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            return base64::engine::general_purpose::STANDARD.decode(body).ok();
        }
    }
    None
}

/// (CertificationRequestInfo TLV bytes, signature algorithm, signature bits).
fn csr_parts(der: &[u8]) -> Option<(&[u8], AlgorithmIdentifierOwned, Vec<u8>)> {
    let mut outer = SliceReader::new(der).ok()?;
    let header = der::Header::decode(&mut outer).ok()?;
    if header.tag() != der::Tag::Sequence {
        return None;
    }
    let info = outer.tlv_bytes().ok()?;
    let algorithm = AlgorithmIdentifierOwned::from_der(outer.tlv_bytes().ok()?).ok()?;
    let bits = der::asn1::BitString::from_der(outer.tlv_bytes().ok()?).ok()?;
    Some((info, algorithm, bits.raw_bytes().to_vec()))
}

/// The SubjectPublicKeyInfo TLV of a CertificationRequestInfo:
/// SEQUENCE { version, subject, subjectPKInfo, attributes }.
fn csr_spki(info: &[u8]) -> Option<&[u8]> {
    let mut reader = SliceReader::new(info).ok()?;
    der::Header::decode(&mut reader).ok()?;
    reader.tlv_bytes().ok()?; // version
    reader.tlv_bytes().ok()?; // subject: never decoded
    reader.tlv_bytes().ok()
}

/// The hash of a CSR signature algorithm; `Ok(None)` for pure Ed25519.
fn signature_hash(
    algorithm: &AlgorithmIdentifierOwned,
) -> Result<Option<HashAlgorithm>, PossessionError> {
    Ok(Some(match algorithm.oid.to_string().as_str() {
        "1.2.840.10045.4.3.2" | "1.2.840.113549.1.1.11" => HashAlgorithm::Sha256,
        "1.2.840.10045.4.3.3" | "1.2.840.113549.1.1.12" => HashAlgorithm::Sha384,
        "1.2.840.10045.4.3.4" | "1.2.840.113549.1.1.13" => HashAlgorithm::Sha512,
        "1.3.101.112" => return Ok(None),
        _ => return Err(PossessionError::UnrecognizedAlgorithm),
    }))
}

#[cfg(test)]
mod tests;
