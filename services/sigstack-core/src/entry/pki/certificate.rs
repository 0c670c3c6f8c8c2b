//! X.509 certificates of entry verification material (log.md §2.1): the
//! subject key, the SANs Rekor indexes (§2.6), and what the chain check of
//! `chain` needs.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use der::asn1::{BitString, Utf8StringRef};
use der::{Decode as _, Encode as _, Reader as _, SliceReader};
use sha2::{Digest as _, Sha256};
use spki::ObjectIdentifier;
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectAltName};

use super::{PkiError, PublicKey, pem};

/// Fulcio's OtherName SAN (`1.3.6.1.4.1.57264.1.7`), the only OtherName
/// sigstore's `UnmarshalOtherNameSAN` reads.
const FULCIO_OTHER_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");

/// A parsed X.509 certificate, kept with its exact DER.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    tbs_der: Vec<u8>,
    cert: x509_cert::Certificate,
    public_key: PublicKey,
    subject_alternative_names: Vec<String>,
    basic_constraints: Option<BasicConstraints>,
    key_usage: Option<KeyUsage>,
}

impl Certificate {
    /// Parses one DER certificate.
    ///
    /// # Errors
    /// [`PkiError::Certificate`] for malformed DER, trailing bytes, differing
    /// inner and outer signature algorithms, malformed or duplicate SAN,
    /// basic-constraints or key-usage extensions, or an IP SAN that is not 4
    /// or 16 bytes (all refused by Go's `x509.ParseCertificate` too); the
    /// key's [`PkiError::Key`] for a subject key sigstack does not verify.
    pub fn from_der(der: &[u8]) -> Result<Self, PkiError> {
        let bad = |why: String| PkiError::Certificate(why);
        let cert = x509_cert::Certificate::from_der(der)
            .map_err(|e| bad(format!("malformed certificate: {e}")))?;
        let tbs = cert.tbs_certificate();
        if tbs.signature() != cert.signature_algorithm() {
            return Err(bad(
                "inner and outer signature algorithm identifiers don't match".into(),
            ));
        }
        let spki_der = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(|e| bad(format!("cannot re-encode the subject key: {e}")))?;
        let public_key = PublicKey::from_spki_der(&spki_der)?;
        let extension = |e: der::Error| bad(format!("malformed extension: {e}"));
        let subject_alternative_names = match tbs.get_extension::<SubjectAltName>() {
            Ok(Some((_, san))) => san_strings(&san.0)?,
            Ok(None) => Vec::new(),
            Err(e) => return Err(extension(e)),
        };
        let basic_constraints = tbs
            .get_extension::<BasicConstraints>()
            .map_err(extension)?
            .map(|(_, bc)| bc);
        let key_usage = tbs
            .get_extension::<KeyUsage>()
            .map_err(extension)?
            .map(|(_, ku)| ku);
        Ok(Certificate {
            der: der.to_vec(),
            tbs_der: tbs_bytes(der).map_err(|e| bad(format!("malformed certificate: {e}")))?,
            cert,
            public_key,
            subject_alternative_names,
            basic_constraints,
            key_usage,
        })
    }

    /// The DER exactly as received.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The `CERTIFICATE` PEM of the received DER (Go's `pem.Encode` of
    /// `cert.Raw`, log.md §2.1).
    pub fn canonical_pem(&self) -> String {
        pem::encode("CERTIFICATE", &self.der)
    }

    /// The SANs in the order of sigstore's `GetSubjectAlternateNames`: DNS
    /// names, email addresses, IP addresses (Go's `net.IP.String`), URIs,
    /// then the Fulcio OtherName value — only when it is the certificate's
    /// single OtherName, as `UnmarshalOtherNameSAN` requires. URIs are kept as
    /// encoded; Go re-serialises them through `net/url`, which agrees for
    /// every URI Fulcio issues.
    pub fn subject_alternative_names(&self) -> &[String] {
        &self.subject_alternative_names
    }

    pub(crate) fn tbs_der(&self) -> &[u8] {
        &self.tbs_der
    }

    pub(crate) fn signature_algorithm(&self) -> &spki::AlgorithmIdentifierOwned {
        self.cert.signature_algorithm()
    }

    pub(crate) fn signature(&self) -> &BitString {
        self.cert.signature()
    }

    pub(crate) fn issuer_der(&self) -> der::Result<Vec<u8>> {
        self.cert.tbs_certificate().issuer().to_der()
    }

    pub(crate) fn subject_der(&self) -> der::Result<Vec<u8>> {
        self.cert.tbs_certificate().subject().to_der()
    }

    /// Validity as Unix seconds, both ends inclusive.
    pub(crate) fn validity(&self) -> (u64, u64) {
        let validity = self.cert.tbs_certificate().validity();
        (
            validity.not_before.to_unix_duration().as_secs(),
            validity.not_after.to_unix_duration().as_secs(),
        )
    }

    /// Whether this certificate's key may sign certificates, by RFC 5280
    /// §4.2.1.9 as Go's `CheckSignatureFrom` reads it: a v3 certificate needs
    /// basic constraints with cA set, and a key-usage extension, if present,
    /// must include keyCertSign.
    pub(crate) fn may_sign_certificates(&self) -> bool {
        let is_v3 = self.cert.tbs_certificate().version() == Version::V3;
        let ca_ok = match &self.basic_constraints {
            Some(bc) => bc.ca,
            None => !is_v3,
        };
        let usage_ok = self
            .key_usage
            .as_ref()
            .is_none_or(|ku| ku.0.contains(KeyUsages::KeyCertSign));
        ca_ok && usage_ok
    }

    /// The basic-constraints path length limit, if any.
    pub(crate) fn max_path_len(&self) -> Option<u8> {
        self.basic_constraints
            .as_ref()
            .and_then(|bc| bc.path_len_constraint)
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("sha256", &hex::encode(Sha256::digest(&self.der)))
            .field("public_key", &self.public_key)
            .field("subject_alternative_names", &self.subject_alternative_names)
            .finish()
    }
}

/// The TBSCertificate's exact bytes (the signed part), read from the DER
/// rather than re-encoded so a signature check never depends on our encoder.
fn tbs_bytes(der: &[u8]) -> der::Result<Vec<u8>> {
    let mut reader = SliceReader::new(der)?;
    let tbs = reader.sequence(|r| {
        let tbs = r.tlv_bytes()?.to_vec();
        // The signature algorithm and value follow; x509-cert checked them.
        r.tlv_bytes()?;
        r.tlv_bytes()?;
        Ok::<_, der::Error>(tbs)
    })?;
    reader.finish()?;
    Ok(tbs)
}

fn san_strings(names: &[GeneralName]) -> Result<Vec<String>, PkiError> {
    let mut dns = Vec::new();
    let mut email = Vec::new();
    let mut ip = Vec::new();
    let mut uri = Vec::new();
    let mut other_names = Some(Vec::new());
    for name in names {
        match name {
            GeneralName::DnsName(s) => dns.push(s.to_string()),
            GeneralName::Rfc822Name(s) => email.push(s.to_string()),
            GeneralName::UniformResourceIdentifier(s) => uri.push(s.to_string()),
            GeneralName::IpAddress(octets) => ip.push(ip_string(octets.as_bytes())?),
            GeneralName::OtherName(other) => {
                // Any foreign or undecodable OtherName makes sigstore's
                // reader fail, and then no OtherName is indexed at all.
                let value = (other.type_id == FULCIO_OTHER_NAME)
                    .then(|| other.value.decode_as::<Utf8StringRef<'_>>().ok())
                    .flatten();
                other_names = match (other_names, value) {
                    (Some(mut found), Some(v)) => {
                        found.push(v.as_str().to_owned());
                        Some(found)
                    }
                    _ => None,
                };
            }
            _ => {}
        }
    }
    let mut out = dns;
    out.append(&mut email);
    out.append(&mut ip);
    out.append(&mut uri);
    if let Some([single]) = other_names.as_deref() {
        out.push(single.clone());
    }
    Ok(out)
}

/// Go's `net.IP.String`: dotted quad for IPv4 and IPv4-mapped IPv6, RFC 5952
/// for the rest.
fn ip_string(octets: &[u8]) -> Result<String, PkiError> {
    if let Ok(v4) = <[u8; 4]>::try_from(octets) {
        return Ok(Ipv4Addr::from(v4).to_string());
    }
    let v6 = <[u8; 16]>::try_from(octets).map_err(|_| {
        PkiError::Certificate(format!(
            "cannot parse IP address of length {}",
            octets.len()
        ))
    })?;
    let v6 = Ipv6Addr::from(v6);
    Ok(match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4).to_string(),
        None => v6.to_string(),
    })
}
