//! The issued certificate profile (`spec/ca.md` §8) and the CA hierarchy it
//! chains to (§12). Pure: the caller supplies the time, the serial and the
//! keys; nothing here reads a clock or a file.
//!
//! A precertificate and its final certificate are built from the same
//! parameters and differ in one extension only, the last one: the CT poison
//! (1.3.6.1.4.1.11129.2.4.3, critical) in the precertificate, the SCT list
//! (1.3.6.1.4.1.11129.2.4.2) in the final certificate. So the final
//! certificate's TBS without the SCT list is byte for byte the
//! precertificate's TBS without the poison, which is what the CT log signs
//! (RFC 6962 §3.2) and what clients rebuild to check the embedded SCT.
//!
//! rcgen builds and signs (through aws-lc-rs); it writes the Sigstore OIDs as
//! custom extensions with the encodings of §8.3 done here.

use rcgen::{
    CertificateParams, CustomExtension, DistinguishedName, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, OtherNameValue, PublicKeyData, SanType, SerialNumber, SigningKey,
    SubjectPublicKeyInfo,
};
use time::{Duration, OffsetDateTime};

mod hierarchy;
pub use hierarchy::{CaMaterial, Hierarchy, intermediate_for_key, new_hierarchy, new_root};

/// How long an issued certificate is valid (§8.1).
pub const VALIDITY_SECONDS: i64 = 600;

const SIGSTORE_ARC: [u64; 9] = [1, 3, 6, 1, 4, 1, 57264, 1, 0];
const CT_POISON: [u64; 10] = [1, 3, 6, 1, 4, 1, 11129, 2, 4, 3];
const CT_SCT_LIST: [u64; 10] = [1, 3, 6, 1, 4, 1, 11129, 2, 4, 2];

/// The single subjectAltName of a leaf (§7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectAltName {
    Email(String),
    Uri(String),
    /// The `username` type: `<sub>!<domain>` as an otherName of type
    /// 1.3.6.1.4.1.57264.1.7.
    Username(String),
}

/// One extension of the Sigstore arc 1.3.6.1.4.1.57264.1.`arc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigstoreExtension {
    pub arc: u64,
    pub value: String,
}

/// What one leaf certifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafProfile {
    /// The requester's key, DER SubjectPublicKeyInfo, as submitted.
    pub subject_public_key: Vec<u8>,
    pub san: SubjectAltName,
    /// In emission order (.1, .2–.6, .8, .9–.24); empty values are dropped.
    pub extensions: Vec<SigstoreExtension>,
    /// Positive, at most 20 octets (the top bit of the first is cleared).
    pub serial: [u8; 20],
    /// Unix seconds of issuance: notBefore; notAfter is 10 minutes later.
    pub not_before: i64,
}

/// Why a certificate could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("unsupported or malformed public key: {0}")]
    PublicKey(String),
    #[error("extension 1.3.6.1.4.1.57264.1.{0} is not one a certificate carries")]
    Extension(u64),
    #[error("invalid time {0}")]
    Time(i64),
    #[error("building the certificate failed: {0}")]
    Build(String),
}

/// The signature algorithm of a CA key (§8.1: the leaf's algorithm follows the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaKeyAlgorithm {
    /// ECDSA P-256, certificates signed ecdsa-with-SHA256.
    EcdsaP256Sha256,
    /// ECDSA P-384, certificates signed ecdsa-with-SHA384 (the default, §12.1).
    EcdsaP384Sha384,
}

impl CaKeyAlgorithm {
    fn rcgen(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            Self::EcdsaP256Sha256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Self::EcdsaP384Sha384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        }
    }
}

/// A CA signing key, wherever it lives: in memory (an encrypted PKCS#8 file
/// decrypted at start), or in an HSM behind PKCS#11. Implementations with
/// I/O live outside this crate; certificate building only calls `sign`.
pub trait CaSigner: Send + Sync {
    fn algorithm(&self) -> CaKeyAlgorithm;

    /// The public key as the SubjectPublicKeyInfo's `subjectPublicKey` bits:
    /// the uncompressed EC point `04‖X‖Y`.
    fn public_key(&self) -> &[u8];

    /// An ASN.1 DER ECDSA signature over `message`, hashed with the
    /// algorithm's hash.
    ///
    /// # Errors
    /// The backend's failure, as text for the log line (no key material).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String>;

    /// Whether `sign` may block its thread on I/O (an HSM round trip); the
    /// caller then signs on a thread made for blocking.
    fn blocking(&self) -> bool {
        false
    }
}

/// An in-memory CA key: PKCS#8 DER, signed through aws-lc-rs (by rcgen).
pub struct InMemoryCaSigner {
    key: KeyPair,
    algorithm: CaKeyAlgorithm,
}

impl InMemoryCaSigner {
    /// # Errors
    /// [`CertificateError::Build`] when the key is not ECDSA P-384 or P-256 PKCS#8.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, CertificateError> {
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.to_vec());
        for algorithm in [
            CaKeyAlgorithm::EcdsaP384Sha384,
            CaKeyAlgorithm::EcdsaP256Sha256,
        ] {
            if let Ok(key) = KeyPair::from_pkcs8_der_and_sign_algo(&der, algorithm.rcgen()) {
                return Ok(Self { key, algorithm });
            }
        }
        Err(CertificateError::Build(
            "CA key is not an ECDSA P-384 or P-256 PKCS#8 key".into(),
        ))
    }
}

impl std::fmt::Debug for InMemoryCaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryCaSigner")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl CaSigner for InMemoryCaSigner {
    fn algorithm(&self) -> CaKeyAlgorithm {
        self.algorithm
    }

    fn public_key(&self) -> &[u8] {
        self.key.der_bytes()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        self.key.sign(message).map_err(|e| e.to_string())
    }
}

/// rcgen's view of a [`CaSigner`].
struct RcgenKey(Box<dyn CaSigner>);

impl PublicKeyData for RcgenKey {
    fn der_bytes(&self) -> &[u8] {
        self.0.public_key()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.0.algorithm().rcgen()
    }
}

impl SigningKey for RcgenKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        // The backend logs its own failure; rcgen's error carries no text.
        self.0.sign(msg).map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

/// The issuing CA: its certificate and signing key.
pub struct CertificateAuthority {
    issuer: Issuer<'static, RcgenKey>,
    certificate_der: Vec<u8>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("key", &"<private>")
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// A CA from its DER certificate and its PKCS#8 private key (ECDSA P-384
    /// or P-256; the signature algorithm follows the key).
    ///
    /// # Errors
    /// [`CertificateError::Build`] when the key or the certificate cannot be read.
    pub fn from_der(
        certificate_der: &[u8],
        key_pkcs8_der: &[u8],
    ) -> Result<Self, CertificateError> {
        Self::new(
            certificate_der,
            Box::new(InMemoryCaSigner::from_pkcs8(key_pkcs8_der)?),
        )
    }

    /// A CA from its DER certificate and a signer for the certificate's key.
    ///
    /// # Errors
    /// [`CertificateError::Build`] when the certificate cannot be read or
    /// its public key is not the signer's.
    pub fn new(
        certificate_der: &[u8],
        signer: Box<dyn CaSigner>,
    ) -> Result<Self, CertificateError> {
        use x509_cert::der::Decode as _;
        let parsed = x509_cert::Certificate::from_der(certificate_der).map_err(build)?;
        let key_bits = parsed
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes();
        if key_bits != signer.public_key() {
            return Err(CertificateError::Build(
                "the CA key does not match the CA certificate".into(),
            ));
        }
        let cert = rustls_pki_types_der(certificate_der);
        let issuer = Issuer::from_ca_cert_der(&cert, RcgenKey(signer)).map_err(build)?;
        Ok(Self {
            issuer,
            certificate_der: certificate_der.to_vec(),
        })
    }

    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// Whether signing may block on I/O ([`CaSigner::blocking`]).
    #[must_use]
    pub fn signing_blocks(&self) -> bool {
        self.issuer.key().0.blocking()
    }

    /// Signs a fixed message with the CA key and checks nothing else: that
    /// the key (perhaps in a token) still signs, for readiness probes.
    ///
    /// # Errors
    /// The signer's failure, as text.
    pub fn probe_key(&self) -> Result<(), String> {
        self.issuer
            .key()
            .0
            .sign(b"sigstack readiness probe")
            .map(|_| ())
    }

    /// The precertificate of `leaf`, poisoned for the CT log (§9.2).
    ///
    /// # Errors
    /// [`CertificateError`] for an unusable key, extension or time.
    pub fn precertificate(&self, leaf: &LeafProfile) -> Result<Vec<u8>, CertificateError> {
        // The poison's value is ASN.1 NULL.
        let mut poison = CustomExtension::from_oid_content(&CT_POISON, vec![0x05, 0x00]);
        poison.set_criticality(true);
        self.sign(leaf, poison)
    }

    /// The final certificate of `leaf` carrying `sct_list`, the TLS-encoded
    /// SignedCertificateTimestampList (RFC 6962 §3.3), as the value of an
    /// OCTET STRING.
    ///
    /// # Errors
    /// As [`CertificateAuthority::precertificate`].
    pub fn certificate(
        &self,
        leaf: &LeafProfile,
        sct_list: &[u8],
    ) -> Result<Vec<u8>, CertificateError> {
        self.sign(
            leaf,
            CustomExtension::from_oid_content(&CT_SCT_LIST, der_octet_string(sct_list)?),
        )
    }

    fn sign(&self, leaf: &LeafProfile, last: CustomExtension) -> Result<Vec<u8>, CertificateError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        let mut serial = leaf.serial;
        serial[0] &= 0x7f;
        if serial.iter().all(|b| *b == 0) {
            serial[19] = 1;
        }
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        let not_before = OffsetDateTime::from_unix_timestamp(leaf.not_before)
            .map_err(|_| CertificateError::Time(leaf.not_before))?;
        params.not_before = not_before;
        params.not_after = not_before + Duration::seconds(VALIDITY_SECONDS);
        // ExplicitNoCa gives the subject key identifier (and a permitted
        // BasicConstraints CA:FALSE, §8.2).
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        params.use_authority_key_identifier_extension = true;
        params.subject_alt_names = vec![match &leaf.san {
            SubjectAltName::Email(e) => SanType::Rfc822Name(e.as_str().try_into().map_err(build)?),
            SubjectAltName::Uri(u) => SanType::URI(u.as_str().try_into().map_err(build)?),
            SubjectAltName::Username(n) => {
                SanType::OtherName((oid(7), OtherNameValue::Utf8String(n.clone())))
            }
        }];
        for ext in &leaf.extensions {
            if let Some(e) = sigstore_extension(ext)? {
                params.custom_extensions.push(e);
            }
        }
        params.custom_extensions.push(last);
        let subject = SubjectPublicKeyInfo::from_der(&leaf.subject_public_key)
            .map_err(|e| CertificateError::PublicKey(e.to_string()))?;
        let cert = params.signed_by(&subject, &self.issuer).map_err(build)?;
        Ok(cert.der().to_vec())
    }
}

/// The encoding of §8.3: .1–.6 raw bytes, .8–.24 a DER UTF8String; .7 is
/// never an extension; empty values are dropped, except the issuer pair.
fn sigstore_extension(
    ext: &SigstoreExtension,
) -> Result<Option<CustomExtension>, CertificateError> {
    let issuer = ext.arc == 1 || ext.arc == 8;
    if ext.value.is_empty() && !issuer {
        return Ok(None);
    }
    let content = match ext.arc {
        1..=6 => ext.value.as_bytes().to_vec(),
        8..=24 => der_utf8_string(&ext.value)?,
        other => return Err(CertificateError::Extension(other)),
    };
    Ok(Some(CustomExtension::from_oid_content(
        &oid(ext.arc),
        content,
    )))
}

fn oid(arc: u64) -> Vec<u64> {
    let mut oid = SIGSTORE_ARC.to_vec();
    if let Some(last) = oid.last_mut() {
        *last = arc;
    }
    oid
}

/// `text` as a DER UTF8String (tag, length, bytes).
fn der_utf8_string(text: &str) -> Result<Vec<u8>, CertificateError> {
    use der::Encode as _;
    der::asn1::Utf8StringRef::new(text)
        .and_then(|s| s.to_der())
        .map_err(build)
}

/// `bytes` as a DER OCTET STRING.
fn der_octet_string(bytes: &[u8]) -> Result<Vec<u8>, CertificateError> {
    use der::Encode as _;
    der::asn1::OctetStringRef::new(bytes)
        .and_then(|s| s.to_der())
        .map_err(build)
}

fn rustls_pki_types_der(der: &[u8]) -> rustls_pki_types::CertificateDer<'static> {
    rustls_pki_types::CertificateDer::from(der.to_vec())
}

fn build(e: impl std::fmt::Display) -> CertificateError {
    CertificateError::Build(e.to_string())
}

#[cfg(test)]
mod tests;
