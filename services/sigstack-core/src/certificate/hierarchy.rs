//! The CA hierarchy of `spec/ca.md` §12.1: an offline root and the online
//! intermediate it signs, both ECDSA P-384.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData as _, SubjectPublicKeyInfo,
};
use time::{Duration, OffsetDateTime};

use super::{CertificateError, InMemoryCaSigner, RcgenKey, build};

/// A CA certificate and its private key.
#[derive(Clone)]
pub struct CaMaterial {
    pub certificate_der: Vec<u8>,
    /// PKCS#8 DER: encrypt it before it touches a disk (`key_file`).
    pub key_pkcs8_der: Vec<u8>,
}

impl std::fmt::Debug for CaMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaMaterial")
            .field("key", &"<private>")
            .finish_non_exhaustive()
    }
}

/// An offline root and the online intermediate it signs.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    pub root: CaMaterial,
    pub intermediate: CaMaterial,
}

/// A new CA hierarchy (§12.1): a self-signed root and an intermediate it
/// signs, both ECDSA P-384. `common_name` names them; validity runs from
/// `not_before` for `years`.
///
/// # Errors
/// [`CertificateError`] when generating or signing fails.
pub fn new_hierarchy(
    common_name: &str,
    not_before: i64,
    years: i64,
) -> Result<Hierarchy, CertificateError> {
    let root = new_root(common_name, not_before, years)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(build)?;
    let certificate_der = intermediate_for_key(
        &root,
        &key.subject_public_key_info(),
        common_name,
        not_before,
        years,
    )?;
    Ok(Hierarchy {
        root,
        intermediate: CaMaterial {
            certificate_der,
            key_pkcs8_der: key.serialize_der(),
        },
    })
}

/// A new self-signed ECDSA P-384 root, `O=<common_name>, CN=<common_name>
/// root`, pathlen 1, valid from `not_before` for `years`.
///
/// # Errors
/// [`CertificateError`] when generating or signing fails.
pub fn new_root(
    common_name: &str,
    not_before: i64,
    years: i64,
) -> Result<CaMaterial, CertificateError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(build)?;
    let params = ca_params(common_name, "root", Some(1), not_before, years)?;
    let root = params.self_signed(&key).map_err(build)?;
    Ok(CaMaterial {
        certificate_der: root.der().to_vec(),
        key_pkcs8_der: key.serialize_der(),
    })
}

/// The intermediate certificate (§12.1) of a key held elsewhere (an HSM):
/// `O=<common_name>, CN=<common_name> intermediate`, pathlen 0, EKU
/// codeSigning, AKI the root's SKI, over `subject_public_key_info` (DER),
/// signed by `root`.
///
/// # Errors
/// [`CertificateError::PublicKey`] when the key cannot be read,
/// [`CertificateError::Build`] when the root cannot sign.
pub fn intermediate_for_key(
    root: &CaMaterial,
    subject_public_key_info: &[u8],
    common_name: &str,
    not_before: i64,
    years: i64,
) -> Result<Vec<u8>, CertificateError> {
    let mut params = ca_params(common_name, "intermediate", Some(0), not_before, years)?;
    // Fulcio's intermediate is restricted to code signing.
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    params.use_authority_key_identifier_extension = true;
    let subject = SubjectPublicKeyInfo::from_der(subject_public_key_info)
        .map_err(|e| CertificateError::PublicKey(e.to_string()))?;
    let root_key = RcgenKey(Box::new(InMemoryCaSigner::from_pkcs8(&root.key_pkcs8_der)?));
    let root_der = rustls_pki_types::CertificateDer::from(root.certificate_der.as_slice());
    let issuer = Issuer::from_ca_cert_der(&root_der, root_key).map_err(build)?;
    let cert = params.signed_by(&subject, &issuer).map_err(build)?;
    Ok(cert.der().to_vec())
}

fn ca_params(
    common_name: &str,
    role: &str,
    path_len: Option<u8>,
    not_before: i64,
    years: i64,
) -> Result<CertificateParams, CertificateError> {
    let start = OffsetDateTime::from_unix_timestamp(not_before)
        .map_err(|_| CertificateError::Time(not_before))?;
    let mut p = CertificateParams::default();
    p.distinguished_name = DistinguishedName::new();
    p.distinguished_name
        .push(DnType::OrganizationName, common_name);
    p.distinguished_name
        .push(DnType::CommonName, format!("{common_name} {role}"));
    p.not_before = start;
    p.not_after = start + Duration::days(365 * years);
    p.is_ca = IsCa::Ca(path_len.map_or(
        BasicConstraints::Unconstrained,
        BasicConstraints::Constrained,
    ));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(p)
}
