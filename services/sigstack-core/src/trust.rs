//! Trust documents as clients read them (`spec/trust.md` §2): the
//! TrustedRoot (`trusted_root.json`), the SigningConfig v0.2 and the
//! ClientTrustConfig that holds both (sigstore-python's `--trust-config`).
//!
//! The JSON is proto3 JSON of `sigstore/protobuf-specs`' `sigstore_trustroot`
//! messages: lowerCamelCase names, bytes as standard base64, RFC 3339 UTC
//! times, enums by name. Only the fields every client in `spec/clients.md`
//! knows are written: no `checkpointKeyId` and no `operator` on log
//! instances (sigstore-go rejects fields its compiled protobuf-specs lacks,
//! trust.md §2.1 hazards).
//!
//! [`TrustDocuments::build`] derives every value from its inputs: log IDs are
//! SHA-256 of the DER SubjectPublicKeyInfo the log signs with, and the CA
//! chain must end in a self-signed root (clients.md §8 item 8). It reads no
//! clock: times come in as Unix seconds.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::entry::pki::{KeyType, PublicKey};

/// The only TrustedRoot media type sigstore-go and sigstore-python accept.
pub const TRUSTED_ROOT_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
/// SigningConfig v0.2 (the only value sigstore-go and sigstore-python accept).
pub const SIGNING_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";
/// sigstore-python's bundle of both documents.
pub const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

/// Why the documents could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("{what}: {reason}")]
    Input { what: &'static str, reason: String },
    #[error("time {0} is out of range")]
    Time(i64),
}

fn input(what: &'static str, reason: impl std::fmt::Display) -> TrustError {
    TrustError::Input {
        what,
        reason: reason.to_string(),
    }
}

/// `dev.sigstore.trustroot.v1.TrustedRoot`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustedRoot {
    pub media_type: String,
    pub tlogs: Vec<TransparencyLogInstance>,
    pub certificate_authorities: Vec<CertificateAuthority>,
    pub ctlogs: Vec<TransparencyLogInstance>,
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

/// `TransparencyLogInstance`, for transparency logs and CT logs alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransparencyLogInstance {
    pub base_url: String,
    pub hash_algorithm: String,
    pub public_key: PublicKeyDocument,
    pub log_id: LogIdDocument,
}

/// `dev.sigstore.common.v1.PublicKey`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublicKeyDocument {
    /// DER SubjectPublicKeyInfo, standard base64.
    pub raw_bytes: String,
    pub key_details: String,
    pub valid_for: TimeRange,
}

/// `dev.sigstore.common.v1.LogId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogIdDocument {
    /// Standard base64 of SHA-256(DER SPKI).
    pub key_id: String,
}

/// `dev.sigstore.common.v1.TimeRange`: `start` is always set (sigstore-go
/// rejects a log without it, sigstore-python compares it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    pub start: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// `CertificateAuthority`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificateAuthority {
    pub subject: DistinguishedName,
    pub uri: String,
    pub cert_chain: CertificateChain,
    pub valid_for: TimeRange,
}

/// `dev.sigstore.common.v1.DistinguishedName` (informative).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DistinguishedName {
    pub organization: String,
    pub common_name: String,
}

/// `X509CertificateChain`: intermediates first, the self-signed root last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateChain {
    pub certificates: Vec<RawCertificate>,
}

/// `X509Certificate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RawCertificate {
    /// DER, standard base64.
    pub raw_bytes: String,
}

/// `SigningConfig` v0.2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SigningConfig {
    pub media_type: String,
    pub ca_urls: Vec<Service>,
    pub oidc_urls: Vec<Service>,
    pub rekor_tlog_urls: Vec<Service>,
    pub tsa_urls: Vec<Service>,
    pub rekor_tlog_config: ServiceConfiguration,
    pub tsa_config: ServiceConfiguration,
}

/// `Service`: all four fields are required (trust.md §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    pub url: String,
    pub major_api_version: u32,
    pub valid_for: TimeRange,
    pub operator: String,
}

/// `ServiceConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfiguration {
    pub selector: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl ServiceConfiguration {
    /// `ANY`: the one selector sigstore-js supports for Rekor and TSA, and
    /// sigstore-go rejects a missing one (trust.md §2.2).
    #[must_use]
    pub fn any() -> Self {
        Self {
            selector: "ANY".into(),
            count: None,
        }
    }
}

/// `ClientTrustConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientTrustConfig {
    pub media_type: String,
    pub trusted_root: TrustedRoot,
    pub signing_config: SigningConfig,
}

/// A log as the documents publish it.
#[derive(Debug, Clone)]
pub struct LogInput {
    /// The base URL clients append the API paths to (no trailing slash).
    pub base_url: String,
    /// DER SubjectPublicKeyInfo of the key the log signs with.
    pub spki_der: Vec<u8>,
    /// Unix seconds at or before the key's first use.
    pub valid_from: i64,
}

/// Everything the documents are made from.
#[derive(Debug, Clone)]
pub struct TrustInputs {
    /// The CA's base URL (clients append `/api/v2/signingCert`).
    pub ca_url: String,
    /// DER, the signing CA first, the self-signed root last.
    pub ca_chain_der: Vec<Vec<u8>>,
    /// The OIDC issuer signers get tokens from.
    pub oidc_url: String,
    /// The transparency log (Rekor v1 API).
    pub tlog: LogInput,
    pub ctlog: LogInput,
    /// Scheme-less name of who runs the services (signing config `operator`).
    pub operator: String,
    /// Unix seconds from which the signing config's services are valid.
    pub services_valid_from: i64,
}

/// The three documents, consistent with each other.
#[derive(Debug, Clone)]
pub struct TrustDocuments {
    pub trusted_root: TrustedRoot,
    pub signing_config: SigningConfig,
}

impl TrustDocuments {
    /// Builds the documents for one CA, one transparency log and one CT log.
    /// The CA's `validFor.start` is the signing CA certificate's notBefore.
    ///
    /// # Errors
    /// [`TrustError::Input`] for an empty chain, a chain whose last
    /// certificate is not self-signed, an unparsable certificate or key, or
    /// a log key type clients do not accept for logs.
    pub fn build(inputs: &TrustInputs) -> Result<Self, TrustError> {
        let chain = parse_chain(&inputs.ca_chain_der)?;
        let signing_ca = chain.first().ok_or_else(|| input("CA chain", "is empty"))?;
        let root = chain.last().ok_or_else(|| input("CA chain", "is empty"))?;
        let root_tbs = root.tbs_certificate();
        if root_tbs.issuer() != root_tbs.subject() {
            return Err(input(
                "CA chain",
                "its last certificate is not self-signed (the root must come last)",
            ));
        }
        let ca_start = signing_ca
            .tbs_certificate()
            .validity()
            .not_before
            .to_unix_duration()
            .as_secs();
        let ca_start = i64::try_from(ca_start).map_err(|_| input("CA chain", "notBefore"))?;
        let subject = root_tbs.subject();
        let text = |value: der::Result<Option<x509_cert::ext::pkix::name::DirectoryString>>| {
            value
                .ok()
                .flatten()
                .map(directory_string)
                .unwrap_or_default()
        };
        let ca = CertificateAuthority {
            subject: DistinguishedName {
                organization: text(subject.organization()),
                common_name: text(subject.common_name()),
            },
            uri: inputs.ca_url.clone(),
            cert_chain: CertificateChain {
                certificates: inputs
                    .ca_chain_der
                    .iter()
                    .map(|der| RawCertificate {
                        raw_bytes: STANDARD.encode(der),
                    })
                    .collect(),
            },
            valid_for: TimeRange {
                start: rfc3339(ca_start)?,
                end: None,
            },
        };
        let trusted_root = TrustedRoot {
            media_type: TRUSTED_ROOT_MEDIA_TYPE.into(),
            tlogs: vec![log_instance("transparency log key", &inputs.tlog)?],
            certificate_authorities: vec![ca],
            ctlogs: vec![log_instance("CT log key", &inputs.ctlog)?],
            timestamp_authorities: Vec::new(),
        };
        let service = |url: &str| -> Result<Service, TrustError> {
            Ok(Service {
                url: url.to_owned(),
                // Fulcio v2 REST, OIDC and Rekor v1 are all major version 1.
                major_api_version: 1,
                valid_for: TimeRange {
                    start: rfc3339(inputs.services_valid_from)?,
                    end: None,
                },
                operator: inputs.operator.clone(),
            })
        };
        let signing_config = SigningConfig {
            media_type: SIGNING_CONFIG_MEDIA_TYPE.into(),
            ca_urls: vec![service(&inputs.ca_url)?],
            oidc_urls: vec![service(&inputs.oidc_url)?],
            rekor_tlog_urls: vec![service(&inputs.tlog.base_url)?],
            tsa_urls: Vec::new(),
            rekor_tlog_config: ServiceConfiguration::any(),
            tsa_config: ServiceConfiguration::any(),
        };
        Ok(Self {
            trusted_root,
            signing_config,
        })
    }

    /// Both documents in one, for sigstore-python's `--trust-config`.
    #[must_use]
    pub fn client_trust_config(&self) -> ClientTrustConfig {
        ClientTrustConfig {
            media_type: CLIENT_TRUST_CONFIG_MEDIA_TYPE.into(),
            trusted_root: self.trusted_root.clone(),
            signing_config: self.signing_config.clone(),
        }
    }
}

/// The log ID clients compute for an ECDSA or RSA log: SHA-256(DER SPKI).
#[must_use]
pub fn log_id_of(spki_der: &[u8]) -> [u8; 32] {
    Sha256::digest(spki_der).into()
}

fn log_instance(what: &'static str, log: &LogInput) -> Result<TransparencyLogInstance, TrustError> {
    let key = PublicKey::from_spki_der(&log.spki_der).map_err(|e| input(what, e))?;
    let key_details = match key.key_type() {
        KeyType::EcdsaP256 => "PKIX_ECDSA_P256_SHA_256",
        KeyType::EcdsaP384 => "PKIX_ECDSA_P384_SHA_384",
        KeyType::EcdsaP521 => "PKIX_ECDSA_P521_SHA_512",
        KeyType::Ed25519 => "PKIX_ED25519",
        other => return Err(input(what, format!("{other:?} is not a log key type"))),
    };
    Ok(TransparencyLogInstance {
        base_url: log.base_url.clone(),
        hash_algorithm: "SHA2_256".into(),
        public_key: PublicKeyDocument {
            raw_bytes: STANDARD.encode(&log.spki_der),
            key_details: key_details.into(),
            valid_for: TimeRange {
                start: rfc3339(log.valid_from)?,
                end: None,
            },
        },
        log_id: LogIdDocument {
            key_id: STANDARD.encode(log_id_of(&log.spki_der)),
        },
    })
}

fn parse_chain(chain: &[Vec<u8>]) -> Result<Vec<x509_cert::Certificate>, TrustError> {
    use der::Decode as _;
    chain
        .iter()
        .map(|der| x509_cert::Certificate::from_der(der).map_err(|e| input("CA chain", e)))
        .collect()
}

fn directory_string(value: x509_cert::ext::pkix::name::DirectoryString) -> String {
    use x509_cert::ext::pkix::name::DirectoryString;
    match value {
        DirectoryString::Utf8String(s) => s,
        DirectoryString::PrintableString(s) => s.to_string(),
        _ => String::new(),
    }
}

/// RFC 3339 UTC with a `Z` and whole seconds, as proto3 JSON writes a Timestamp.
///
/// # Errors
/// [`TrustError::Time`] outside years 0–9999.
pub fn rfc3339(unix_seconds: i64) -> Result<String, TrustError> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .map_err(|_| TrustError::Time(unix_seconds))?;
    let (year, month, day) = (t.year(), u8::from(t.month()), t.day());
    if !(0..=9999).contains(&year) {
        return Err(TrustError::Time(unix_seconds));
    }
    Ok(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        t.hour(),
        t.minute(),
        t.second()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificate::new_hierarchy;
    use crate::note::EcdsaP256NoteSigner;

    const NOW: i64 = 1_780_000_000;

    fn inputs() -> TrustInputs {
        let h = new_hierarchy("acme", NOW, 1).expect("hierarchy");
        let tlog = EcdsaP256NoteSigner::generate("log").expect("key");
        let ct = EcdsaP256NoteSigner::generate("ct").expect("key");
        TrustInputs {
            ca_url: "http://127.0.0.1:3000".into(),
            ca_chain_der: vec![h.intermediate.certificate_der, h.root.certificate_der],
            oidc_url: "http://127.0.0.1:3000/oidc".into(),
            tlog: LogInput {
                base_url: "http://127.0.0.1:3000".into(),
                spki_der: tlog.public_key_spki_der().to_vec(),
                valid_from: NOW - 5,
            },
            ctlog: LogInput {
                base_url: "http://127.0.0.1:3000".into(),
                spki_der: ct.public_key_spki_der().to_vec(),
                valid_from: NOW - 7,
            },
            operator: "127.0.0.1".into(),
            services_valid_from: NOW - 9,
        }
    }

    #[test]
    fn rfc3339_formats_utc_whole_seconds() {
        assert_eq!(rfc3339(0).expect("time"), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(1_780_000_000).expect("time"),
            "2026-05-28T20:26:40Z"
        );
    }

    #[test]
    fn documents_carry_the_inputs_and_derived_log_ids() {
        let inputs = inputs();
        let docs = TrustDocuments::build(&inputs).expect("build");
        let root = &docs.trusted_root;
        assert_eq!(root.media_type, TRUSTED_ROOT_MEDIA_TYPE);
        let tlog = &root.tlogs[0];
        assert_eq!(
            STANDARD.decode(&tlog.log_id.key_id).expect("b64"),
            Sha256::digest(&inputs.tlog.spki_der).to_vec()
        );
        assert_eq!(tlog.public_key.key_details, "PKIX_ECDSA_P256_SHA_256");
        assert_eq!(
            tlog.public_key.valid_for.start,
            rfc3339(NOW - 5).expect("t")
        );
        assert_eq!(
            root.ctlogs[0].public_key.valid_for.start,
            rfc3339(NOW - 7).expect("t")
        );
        let ca = &root.certificate_authorities[0];
        assert_eq!(ca.valid_for.start, rfc3339(NOW).expect("t"));
        assert_eq!(ca.subject.organization, "acme");
        assert_eq!(ca.cert_chain.certificates.len(), 2);
        assert_eq!(
            docs.signing_config.rekor_tlog_urls[0].valid_for.start,
            rfc3339(NOW - 9).expect("t")
        );
        let json = serde_json::to_value(docs.client_trust_config()).expect("json");
        assert_eq!(json["mediaType"], CLIENT_TRUST_CONFIG_MEDIA_TYPE);
        assert_eq!(json["signingConfig"]["rekorTlogConfig"]["selector"], "ANY");
        assert!(
            json["trustedRoot"]["tlogs"][0]
                .get("checkpointKeyId")
                .is_none()
        );
        let back: ClientTrustConfig = serde_json::from_value(json).expect("round trip");
        assert_eq!(back.trusted_root, docs.trusted_root);
    }

    #[test]
    fn a_chain_without_its_root_last_is_refused() {
        let mut inputs = inputs();
        inputs.ca_chain_der.reverse();
        let err = TrustDocuments::build(&inputs).expect_err("root first");
        assert!(err.to_string().contains("root must come last"), "{err}");
        inputs.ca_chain_der.clear();
        assert!(TrustDocuments::build(&inputs).is_err());
    }
}
