//! Validation of a submitted chain (`spec/ca.md` §11.3) and the log entry
//! it becomes (RFC 6962 §3.1). Pure: certificates in, [`SignedEntry`] out.
//!
//! A chain is leaf first. It must end in, or be directly issued by, one of
//! the configured roots (compared by DER; an omitted root is appended by
//! subject). Every link is then checked by `sigstack_core`'s chain
//! verification (names, CA constraints, signatures, validity at the leaf's
//! notBefore; see `sigstack_core::entry::pki`). Not checked: an EKU filter
//! and precertificate-signing certificates (EKU 1.3.6.1.4.1.11129.2.4.4),
//! which sigstack's CA never uses.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};
use sigstack_core::entry::pki::{
    LeafSignature, MAX_CHAIN_LEN, SignatureCache, VerificationMaterial,
};
use x509_cert::der::asn1::AnyRef;
use x509_cert::der::{Decode as _, Encode as _, Length, Tag, TagNumber, Tagged as _};
use x509_cert::spki::ObjectIdentifier;

use crate::leaf::SignedEntry;

/// The CT poison extension (RFC 6962 §3.1), critical, value ASN.1 NULL.
pub const POISON: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");

/// Why a chain was refused; every variant is the client's fault (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("empty chain")]
    Empty,
    #[error("chain of {0} certificates is longer than {MAX_CHAIN_LEN}")]
    TooLong(usize),
    #[error("certificate {index} cannot be parsed: {reason}")]
    Malformed { index: usize, reason: String },
    #[error("chain does not lead to a trusted root")]
    UnknownRoot,
    #[error("chain does not verify: {0}")]
    Verification(String),
    #[error("precertificate lacks the critical poison extension")]
    NotPrecertificate,
    #[error("a precertificate cannot be logged with add-chain")]
    Precertificate,
    #[error("precertificate has no issuer in the chain")]
    NoIssuer,
    #[error("certificate cannot be encoded as a log entry: {0}")]
    Encoding(String),
}

/// The trust anchors a log accepts chains to.
#[derive(Debug, Clone)]
pub struct Roots {
    roots: Vec<(Vec<u8>, x509_cert::Certificate)>,
    /// CA-certificate signatures verified before: the CA's intermediate
    /// under its root is checked once, not once per precertificate.
    signatures: std::sync::Arc<SignatureCache>,
}

impl Roots {
    /// # Errors
    /// [`ChainError::Malformed`] for a root that does not parse.
    pub fn from_der(roots: &[Vec<u8>]) -> Result<Self, ChainError> {
        let roots = roots
            .iter()
            .enumerate()
            .map(|(index, der)| parse(index, der).map(|cert| (der.clone(), cert)))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            roots,
            signatures: std::sync::Arc::default(),
        })
    }

    /// Each root's DER, in configured order (`get-roots`).
    pub fn certificates(&self) -> impl Iterator<Item = &[u8]> {
        self.roots.iter().map(|(der, _)| der.as_slice())
    }

    /// The submitted chain completed with its root, or why not.
    fn complete(&self, chain: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, ChainError> {
        let last = chain.last().ok_or(ChainError::Empty)?;
        if self.roots.iter().any(|(der, _)| der == last) {
            return Ok(chain.to_vec());
        }
        let issuer = issuer_der(chain.len() - 1, &parse(chain.len() - 1, last)?)?;
        let root = self
            .roots
            .iter()
            .find(|(_, root)| {
                root.tbs_certificate()
                    .subject()
                    .to_der()
                    .is_ok_and(|subject| subject == issuer)
            })
            .ok_or(ChainError::UnknownRoot)?;
        let mut full = chain.to_vec();
        full.push(root.0.clone());
        Ok(full)
    }
}

/// Checks `chain` (DER, leaf first) for `add-chain` or `add-pre-chain` and
/// returns the entry to log. `precert` selects which.
///
/// # Errors
/// A [`ChainError`] naming the first problem.
pub fn validate(
    roots: &Roots,
    chain: &[Vec<u8>],
    precert: bool,
    leaf_signature: LeafSignature,
) -> Result<Validated, ChainError> {
    if chain.is_empty() {
        return Err(ChainError::Empty);
    }
    if chain.len() > MAX_CHAIN_LEN {
        return Err(ChainError::TooLong(chain.len()));
    }
    let parsed: Vec<x509_cert::Certificate> = chain
        .iter()
        .enumerate()
        .map(|(i, der)| parse(i, der))
        .collect::<Result<_, _>>()?;
    let full = roots.complete(chain)?;
    if full.len() > MAX_CHAIN_LEN {
        return Err(ChainError::TooLong(full.len()));
    }
    verify_links(&full, &roots.signatures, leaf_signature)?;

    let leaf = &parsed[0];
    let poisoned = has_critical_poison(leaf);
    let entry = match (precert, poisoned) {
        (false, true) => Err(ChainError::Precertificate),
        (true, false) => Err(ChainError::NotPrecertificate),
        (false, false) => Ok(SignedEntry::X509 {
            certificate: chain[0].clone(),
        }),
        (true, true) => {
            let issuer_der = full.get(1).ok_or(ChainError::NoIssuer)?;
            let issuer = parse(1, issuer_der)?;
            let spki = issuer
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .map_err(|e| ChainError::Encoding(e.to_string()))?;
            Ok(SignedEntry::Precert {
                issuer_key_hash: Sha256::digest(&spki).into(),
                tbs_certificate: tbs_without_poison(&chain[0])?,
            })
        }
    }?;
    Ok(Validated { entry, chain: full })
}

/// A chain that passed [`validate`]: the entry to log, and the chain as
/// verified (leaf first, the root included) for the entry's `extra_data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    pub entry: SignedEntry,
    pub chain: Vec<Vec<u8>>,
}

/// Every signature and constraint along `full` (which ends in a root),
/// through `sigstack_core`'s chain check.
fn verify_links(
    full: &[Vec<u8>],
    signatures: &SignatureCache,
    leaf_signature: LeafSignature,
) -> Result<(), ChainError> {
    let pem: String = full
        .iter()
        .map(|der| pem_certificate(der))
        .collect::<Vec<_>>()
        .join("");
    let material = VerificationMaterial::parse_pem(pem.as_bytes())
        .map_err(|e| ChainError::Verification(e.to_string()))?;
    material
        .verify_chain_cached(signatures, leaf_signature)
        .map_err(|e| ChainError::Verification(e.to_string()))
}

fn pem_certificate(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

fn has_critical_poison(cert: &x509_cert::Certificate) -> bool {
    cert.tbs_certificate()
        .extensions()
        .is_some_and(|exts| exts.iter().any(|e| e.extn_id == POISON && e.critical))
}

/// The precertificate's TBSCertificate DER with the poison extension
/// removed and every other byte kept (RFC 6962 §3.2; `spec/ca.md` §9.5:
/// the final certificate differs only there). Re-encoded from the raw
/// elements rather than from a decoded `TbsCertificate`, so nothing the
/// parser normalises can change.
///
/// # Errors
/// [`ChainError::Malformed`] when the DER does not have the X.509 shape.
pub fn tbs_without_poison(certificate: &[u8]) -> Result<Vec<u8>, ChainError> {
    let bad = |e: x509_cert::der::Error| ChainError::Malformed {
        index: 0,
        reason: e.to_string(),
    };
    let outer: Vec<AnyRef<'_>> = Vec::from_der(certificate).map_err(bad)?;
    let tbs = outer.first().ok_or(ChainError::Malformed {
        index: 0,
        reason: "no TBSCertificate".into(),
    })?;
    let tbs_der = tbs.to_der().map_err(bad)?;
    let fields: Vec<AnyRef<'_>> = Vec::from_der(&tbs_der).map_err(bad)?;
    let extensions_tag = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber(3),
    };
    let mut kept_fields = Vec::with_capacity(fields.len());
    for field in &fields {
        if field.tag() != extensions_tag {
            kept_fields.push(field.to_der().map_err(bad)?);
            continue;
        }
        let extensions: Vec<AnyRef<'_>> = Vec::from_der(field.value()).map_err(bad)?;
        let mut kept = Vec::with_capacity(extensions.len());
        for extension in extensions {
            let extension_der = extension.to_der().map_err(bad)?;
            let parts: Vec<AnyRef<'_>> = Vec::from_der(&extension_der).map_err(bad)?;
            let oid = match parts.first() {
                Some(part) => {
                    Some(ObjectIdentifier::from_der(&part.to_der().map_err(bad)?).map_err(bad)?)
                }
                None => None,
            };
            if oid != Some(POISON) {
                kept.push(extension);
            }
        }
        // An empty `extensions` field is not valid DER for X.509 v3: drop it.
        if !kept.is_empty() {
            let sequence = kept.to_der().map_err(bad)?;
            let rewritten = AnyRef::new(extensions_tag, &sequence)
                .and_then(|any| any.to_der())
                .map_err(bad)?;
            kept_fields.push(rewritten);
        }
    }
    let body: Vec<u8> = kept_fields.concat();
    let length = Length::try_from(body.len()).map_err(bad)?;
    let header = x509_cert::der::Header::new(Tag::Sequence, length);
    let mut out = header.to_der().map_err(bad)?;
    out.extend_from_slice(&body);
    Ok(out)
}

fn issuer_der(index: usize, cert: &x509_cert::Certificate) -> Result<Vec<u8>, ChainError> {
    cert.tbs_certificate()
        .issuer()
        .to_der()
        .map_err(|e| ChainError::Malformed {
            index,
            reason: e.to_string(),
        })
}

fn parse(index: usize, der: &[u8]) -> Result<x509_cert::Certificate, ChainError> {
    x509_cert::Certificate::from_der(der).map_err(|e| ChainError::Malformed {
        index,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const POISON_EXT: [u8; 21] = [
        0x30, 0x13, 0x06, 0x0A, 0x2B, 0x06, 0x01, 0x04, 0x01, 0xD6, 0x79, 0x02, 0x04, 0x03, 0x01,
        0x01, 0xFF, 0x04, 0x02, 0x05, 0x00,
    ];
    // basicConstraints, value SEQUENCE {}.
    const BASIC_CONSTRAINTS_EXT: [u8; 11] = [
        0x30, 0x09, 0x06, 0x03, 0x55, 0x1D, 0x13, 0x04, 0x02, 0x30, 0x00,
    ];
    // [0] { INTEGER 2 }, INTEGER 1
    const VERSION_AND_SERIAL: [u8; 8] = [0xA0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x01];

    /// A certificate-shaped SEQUENCE { TBS { version, serial, [3] exts }, NULL }.
    fn certificate(extensions: &[&[u8]]) -> Vec<u8> {
        let exts: Vec<u8> = extensions.concat();
        let mut tagged = vec![0xA3, u8::try_from(exts.len() + 2).expect("short"), 0x30];
        tagged.push(u8::try_from(exts.len()).expect("short"));
        tagged.extend_from_slice(&exts);
        let mut tbs = vec![0x30, u8::try_from(8 + tagged.len()).expect("short")];
        tbs.extend_from_slice(&VERSION_AND_SERIAL);
        tbs.extend_from_slice(&tagged);
        let mut cert = vec![0x30, u8::try_from(tbs.len() + 2).expect("short")];
        cert.extend_from_slice(&tbs);
        cert.extend_from_slice(&[0x05, 0x00]);
        cert
    }

    #[test]
    fn poison_is_removed_and_the_rest_kept() {
        let cert = certificate(&[&POISON_EXT, &BASIC_CONSTRAINTS_EXT]);
        assert_eq!(cert[..4], [0x30, 0x30, 0x30, 0x2C]);
        let mut expected = vec![0x30, 0x17];
        expected.extend_from_slice(&VERSION_AND_SERIAL);
        expected.extend_from_slice(&[0xA3, 0x0D, 0x30, 0x0B]);
        expected.extend_from_slice(&BASIC_CONSTRAINTS_EXT);
        assert_eq!(tbs_without_poison(&cert).expect("shape"), expected);
    }

    #[test]
    fn a_lone_poison_drops_the_extensions_field() {
        let cert = certificate(&[&POISON_EXT]);
        let mut expected = vec![0x30, 0x08];
        expected.extend_from_slice(&VERSION_AND_SERIAL);
        assert_eq!(tbs_without_poison(&cert).expect("shape"), expected);
    }

    #[test]
    fn non_der_is_malformed() {
        assert!(matches!(
            tbs_without_poison(&[0x04, 0x00]),
            Err(ChainError::Malformed { .. })
        ));
    }
}
