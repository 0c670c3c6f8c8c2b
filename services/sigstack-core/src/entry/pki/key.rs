//! Public keys of entry verification material: the SubjectPublicKeyInfo
//! types Rekor verifies (log.md §2.2), parsed as strictly as Go's
//! `x509.ParsePKIXPublicKey` and re-encoded as `x509.MarshalPKIXPublicKey`
//! does, so the canonical PEM matches Rekor's byte for byte.
//!
//! aws-lc-rs checks each key (EC point on its curve, RSA modulus and
//! exponent) once at parse time; signatures are verified in `verify`.

use std::fmt;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA256_ASN1, ECDSA_P521_SHA256_ASN1, ED25519,
    ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, VerificationAlgorithm,
};
use der::asn1::UintRef;
use der::{Decode as _, Encode as _, Reader as _, SliceReader};
use sha2::{Digest as _, Sha256};
use spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};
use x509_cert::der::oid::db::{rfc5912, rfc8410};

use super::{PkiError, pem};

/// What a key is, for signature verification and the algorithm policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    EcdsaP256,
    EcdsaP384,
    EcdsaP521,
    Ed25519,
    /// RSA with a modulus of `bits` bits (at least 2048, at most 8192).
    Rsa {
        bits: u32,
    },
}

/// A parsed, validated public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key_type: KeyType,
    spki_der: Vec<u8>,
    /// The raw key inside the SPKI: the 32-byte Ed25519 key, the SEC1 point,
    /// or the PKCS#1 `RSAPublicKey`.
    raw: Vec<u8>,
}

/// The smallest RSA modulus accepted: sigstore's algorithm registry knows
/// nothing smaller (log.md §2.2), and aws-lc-rs verifies 2048–8192 bits.
const RSA_MIN_BITS: u32 = 2048;
const RSA_MAX_BITS: u32 = 8192;

impl PublicKey {
    /// Parses a DER SubjectPublicKeyInfo.
    ///
    /// # Errors
    /// [`PkiError::Key`] for malformed DER, parameters Go refuses (an RSA key
    /// without NULL parameters, an Ed25519 key with any), compressed EC
    /// points, invalid keys, and key types or curves sigstack does not verify
    /// (DSA, P-224, X25519, RSA under 2048 bits).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, PkiError> {
        let bad = |why: String| PkiError::Key(why);
        let spki = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| bad(format!("malformed SubjectPublicKeyInfo: {e}")))?;
        let raw = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| bad("public key bit string has unused bits".into()))?;
        let oid = spki.algorithm.oid;
        let params = spki.algorithm.parameters;
        let key_type = if oid == rfc5912::ID_EC_PUBLIC_KEY {
            let curve: ObjectIdentifier = params
                .ok_or_else(|| bad("EC key without a named curve".into()))?
                .decode_as()
                .map_err(|_| bad("EC key parameters are not a named curve".into()))?;
            let (key_type, point_len) = match curve {
                rfc5912::SECP_256_R_1 => (KeyType::EcdsaP256, 65),
                rfc5912::SECP_384_R_1 => (KeyType::EcdsaP384, 97),
                rfc5912::SECP_521_R_1 => (KeyType::EcdsaP521, 133),
                other => return Err(bad(format!("unsupported elliptic curve {other}"))),
            };
            // Go's parser takes uncompressed points only.
            if raw.len() != point_len || raw.first() != Some(&0x04) {
                return Err(bad("EC point is not an uncompressed point".into()));
            }
            key_type
        } else if oid == rfc8410::ID_ED_25519 {
            if params.is_some() {
                return Err(bad("Ed25519 key with parameters".into()));
            }
            if raw.len() != 32 {
                return Err(bad(format!("Ed25519 key of {} bytes", raw.len())));
            }
            KeyType::Ed25519
        } else if oid == rfc5912::RSA_ENCRYPTION {
            if !params.is_some_and(|p| p.is_null()) {
                return Err(bad("RSA key missing NULL parameters".into()));
            }
            let bits = rsa_modulus_bits(raw).map_err(bad)?;
            if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
                return Err(bad(format!("unsupported RSA key size {bits}")));
            }
            KeyType::Rsa { bits }
        } else {
            return Err(bad(format!("unsupported public key algorithm {oid}")));
        };
        let spki_der = spki
            .to_der()
            .map_err(|e| bad(format!("cannot re-encode key: {e}")))?;
        let key = PublicKey {
            key_type,
            raw: raw.to_vec(),
            spki_der,
        };
        ParsedPublicKey::new(key.sha256_algorithm(), key.verification_input())
            .map_err(|e| bad(format!("invalid {key_type:?} key: {e}")))?;
        Ok(key)
    }

    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// DER SubjectPublicKeyInfo, as Go's `x509.MarshalPKIXPublicKey` writes it.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The `PUBLIC KEY` PEM Rekor stores for this key (log.md §2.1).
    pub fn canonical_pem(&self) -> String {
        pem::encode("PUBLIC KEY", &self.spki_der)
    }

    /// The raw Ed25519 key, for the Ed25519ph path that aws-lc-rs lacks.
    pub(crate) fn ed25519_bytes(&self) -> Option<[u8; 32]> {
        match self.key_type {
            KeyType::Ed25519 => self.raw.as_slice().try_into().ok(),
            _ => None,
        }
    }

    /// The bytes aws-lc-rs verifies with: the SPKI for EC and RSA, the raw
    /// key for Ed25519.
    pub(crate) fn verification_input(&self) -> &[u8] {
        match self.key_type {
            KeyType::Ed25519 => &self.raw,
            _ => &self.spki_der,
        }
    }

    /// The algorithm for signatures over SHA-256 of a message (and pure
    /// Ed25519), which dsse and intoto use for every key (log.md §2.3).
    pub(crate) fn sha256_algorithm(&self) -> &'static dyn VerificationAlgorithm {
        match self.key_type {
            KeyType::EcdsaP256 => &ECDSA_P256_SHA256_ASN1,
            KeyType::EcdsaP384 => &ECDSA_P384_SHA256_ASN1,
            KeyType::EcdsaP521 => &ECDSA_P521_SHA256_ASN1,
            KeyType::Ed25519 => &ED25519,
            KeyType::Rsa { .. } => &RSA_PKCS1_2048_8192_SHA256,
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("key_type", &self.key_type)
            .field("spki_sha256", &hex::encode(Sha256::digest(&self.spki_der)))
            .finish()
    }
}

/// Bit length of the modulus of a PKCS#1 `RSAPublicKey`, checking the
/// positive integers Go requires.
fn rsa_modulus_bits(pkcs1: &[u8]) -> Result<u32, String> {
    let parse = || -> der::Result<(Vec<u8>, Vec<u8>)> {
        let mut reader = SliceReader::new(pkcs1)?;
        let pair = reader.sequence(|r| {
            let n = UintRef::decode(r)?;
            let e = UintRef::decode(r)?;
            Ok::<_, der::Error>((n.as_bytes().to_vec(), e.as_bytes().to_vec()))
        })?;
        reader.finish()?;
        Ok(pair)
    };
    let (n, e) = parse().map_err(|e| format!("malformed RSA public key: {e}"))?;
    let Some(&first) = n.first().filter(|&&b| b != 0) else {
        return Err("RSA modulus is not a positive number".into());
    };
    if e.iter().all(|&b| b == 0) {
        return Err("RSA public exponent is not a positive number".into());
    }
    let bits = (n.len() - 1)
        .checked_mul(8)
        .and_then(|b| u32::try_from(b).ok())
        .and_then(|b| b.checked_add(8 - first.leading_zeros()))
        .ok_or_else(|| "RSA modulus too large".to_owned())?;
    Ok(bits)
}
