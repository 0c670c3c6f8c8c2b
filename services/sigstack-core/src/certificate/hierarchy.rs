//! The CA hierarchy of `spec/ca.md` §12.1: an offline root and the online
//! intermediate it signs, both ECDSA P-384.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

use super::{CertificateError, build};

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
    let start = OffsetDateTime::from_unix_timestamp(not_before)
        .map_err(|_| CertificateError::Time(not_before))?;
    let ca_params = |cn: String, path_len: Option<u8>| {
        let mut p = CertificateParams::default();
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name
            .push(DnType::OrganizationName, common_name);
        p.distinguished_name.push(DnType::CommonName, cn);
        p.not_before = start;
        p.not_after = start + Duration::days(365 * years);
        p.is_ca = IsCa::Ca(path_len.map_or(
            BasicConstraints::Unconstrained,
            BasicConstraints::Constrained,
        ));
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p
    };
    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(build)?;
    let root_params = ca_params(format!("{common_name} root"), Some(1));
    let root = root_params.self_signed(&root_key).map_err(build)?;
    let mut intermediate_params = ca_params(format!("{common_name} intermediate"), Some(0));
    // Fulcio's intermediate is restricted to code signing.
    intermediate_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    intermediate_params.use_authority_key_identifier_extension = true;
    let intermediate_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(build)?;
    let root_issuer = Issuer::from_params(&root_params, &root_key);
    let intermediate = intermediate_params
        .signed_by(&intermediate_key, &root_issuer)
        .map_err(build)?;
    Ok(Hierarchy {
        root: CaMaterial {
            certificate_der: root.der().to_vec(),
            key_pkcs8_der: root_key.serialize_der(),
        },
        intermediate: CaMaterial {
            certificate_der: intermediate.der().to_vec(),
            key_pkcs8_der: intermediate_key.serialize_der(),
        },
    })
}
