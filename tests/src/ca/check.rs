//! Checks of what the CA answers, shared by its REST and gRPC suites: the
//! shape of a v2 chain, the §8 basics of a leaf, its SAN, and the counters
//! that show a refusal left nothing behind.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::{Decode as _, Encode as _};
use serde_json::Value;
use sigstack_engine::EngineStore;
use sigstack_store::issuance::IssuanceStore;
use x509_cert::Certificate;

use super::{CaStack, unix_now};

/// The DER inside one PEM block.
pub fn pem_to_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).expect("PEM body")
}

/// The chain of a REST v2 answer, DER, asserting its shape (ca.md §2.3,
/// §15 item 2): status 200, JSON, one oneof member, three PEM strings.
pub async fn v2_chain(response: reqwest::Response) -> Vec<Vec<u8>> {
    chain_of_pems(&v2_pems(response).await)
}

/// The PEM strings of a REST v2 answer, as sent.
pub async fn v2_pems(response: reqwest::Response) -> Vec<String> {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let body: Value = response.json().await.expect("JSON answer");
    assert_eq!(status, 200, "{body}");
    assert_eq!(content_type.as_deref(), Some("application/json"));
    let object = body.as_object().expect("object");
    assert_eq!(object.len(), 1, "exactly one oneof member: {body}");
    body["signedCertificateEmbeddedSct"]["chain"]["certificates"]
        .as_array()
        .expect("certificates")
        .iter()
        .map(|c| c.as_str().expect("PEM string").to_owned())
        .collect()
}

/// The DER of an issued chain's PEM strings, REST's or gRPC's, asserting
/// leaf, intermediate and root, each a PEM block without a trailing newline
/// (ca.md §2.5).
pub fn chain_of_pems<T: AsRef<str>>(certificates: &[T]) -> Vec<Vec<u8>> {
    assert_eq!(certificates.len(), 3, "leaf, intermediate, root");
    certificates
        .iter()
        .map(|c| {
            let pem = c.as_ref();
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
            assert!(
                pem.ends_with("-----END CERTIFICATE-----"),
                "no trailing newline"
            );
            pem_to_der(pem)
        })
        .collect()
}

/// The value of `cert`'s extension `oid`, if present.
pub fn extension_value(cert: &Certificate, oid: &str) -> Option<Vec<u8>> {
    cert.tbs_certificate()
        .extensions()?
        .iter()
        .find(|e| e.extn_id.to_string() == oid)
        .map(|e| e.extn_value.as_bytes().to_vec())
}

/// Asserts the §8 basics of `leaf` and returns it parsed.
pub fn check_leaf(leaf_der: &[u8], issuer_der: &[u8]) -> Certificate {
    let leaf = Certificate::from_der(leaf_der).expect("leaf parses");
    let issuer = Certificate::from_der(issuer_der).expect("issuer parses");
    let tbs = leaf.tbs_certificate();
    assert_eq!(tbs.issuer(), issuer.tbs_certificate().subject());
    assert!(tbs.subject().is_empty(), "empty subject");
    let validity = tbs.validity();
    let lifetime = validity.not_after.to_unix_duration() - validity.not_before.to_unix_duration();
    assert_eq!(lifetime.as_secs(), 600);
    let start = i64::try_from(validity.not_before.to_unix_duration().as_secs()).expect("time");
    assert!((unix_now() - start).abs() <= 60, "notBefore is now");
    // Exactly one SCT in the list (ca.md §9.5): u16 list_len, u16 sct_len, SCT.
    let octets = extension_value(&leaf, "1.3.6.1.4.1.11129.2.4.2").expect("SCT list");
    let list = der::asn1::OctetString::from_der(&octets).expect("OCTET STRING");
    let list = list.as_bytes();
    let list_len = usize::from(u16::from_be_bytes([list[0], list[1]]));
    let sct_len = usize::from(u16::from_be_bytes([list[2], list[3]]));
    assert_eq!(list_len, list.len() - 2);
    assert_eq!(sct_len + 2, list_len, "one SCT");
    assert!(
        extension_value(&leaf, "1.3.6.1.4.1.11129.2.4.3").is_none(),
        "no poison"
    );
    leaf
}

/// The leaf's single SAN as `email:…`, `uri:…` or `othername:<oid>:…`.
pub fn san_of(cert: &Certificate) -> String {
    let (_, san) = cert
        .tbs_certificate()
        .get_extension::<x509_cert::ext::pkix::SubjectAltName>()
        .expect("SAN decodes")
        .expect("SAN present");
    match &san.0[..] {
        [x509_cert::ext::pkix::name::GeneralName::Rfc822Name(v)] => format!("email:{v}"),
        [x509_cert::ext::pkix::name::GeneralName::UniformResourceIdentifier(v)] => {
            format!("uri:{v}")
        }
        [x509_cert::ext::pkix::name::GeneralName::OtherName(o)] => {
            // x509-cert unwraps the [0] EXPLICIT: the value is the UTF8String.
            let inner = o.value.to_der().expect("DER");
            let text = der::asn1::Utf8StringRef::from_der(&inner)
                .expect("otherName value is a UTF8String")
                .as_str()
                .to_owned();
            format!("othername:{}:{text}", o.type_id)
        }
        other => panic!("unexpected SAN {other:?}"),
    }
}

/// The CT tree size and the number of certificates issued, to show a refusal
/// changed neither.
pub async fn counts<S: EngineStore + IssuanceStore>(stack: &CaStack<S>) -> (u64, u64) {
    let size = stack
        .ct
        .engine()
        .head(stack.ct.tree())
        .await
        .expect("CT head")
        .size
        .get();
    let issued = stack
        .service
        .store()
        .issued_count()
        .await
        .expect("issued count");
    (size, issued)
}
