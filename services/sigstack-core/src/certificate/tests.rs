//! The profile of §8, read back with x509-cert (a parser we did not write).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::Extension;

use super::*;

const NOW: i64 = 1_767_225_600;

fn requester_spki() -> Vec<u8> {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
        .expect("key");
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).expect("load");
    pair.public_key().as_der().expect("spki").as_ref().to_vec()
}

fn profile(san: SubjectAltName) -> LeafProfile {
    LeafProfile {
        subject_public_key: requester_spki(),
        san,
        extensions: vec![
            SigstoreExtension {
                arc: 1,
                value: "https://token.actions.githubusercontent.com".into(),
            },
            SigstoreExtension {
                arc: 8,
                value: "https://token.actions.githubusercontent.com".into(),
            },
            SigstoreExtension {
                arc: 9,
                value: "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1"
                    .into(),
            },
            SigstoreExtension {
                arc: 11,
                value: String::new(),
            },
        ],
        serial: [0xff; 20],
        not_before: NOW,
    }
}

fn ca() -> CertificateAuthority {
    let h = new_hierarchy("sigstack test", NOW - 3600, 1).expect("hierarchy");
    CertificateAuthority::from_der(
        &h.intermediate.certificate_der,
        &h.intermediate.key_pkcs8_der,
    )
    .expect("ca")
}

fn extension<'a>(cert: &'a Certificate, oid: &str) -> Option<&'a Extension> {
    cert.tbs_certificate()
        .extensions()
        .and_then(|exts| exts.iter().find(|e| e.extn_id.to_string() == oid))
}

/// EKU holds codeSigning (1.3.6.1.5.5.7.3.3) and nothing else.
fn assert_code_signing_only(cert: &Certificate) {
    let eku = extension(cert, "2.5.29.37").expect("EKU");
    assert_eq!(
        eku.extn_value.as_bytes(),
        &[
            0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03
        ],
        "codeSigning only"
    );
}

fn assert_authority_key_id_is_subject_key_id_of(cert: &Certificate, issuer: &Certificate) {
    let aki = extension(cert, "2.5.29.35").expect("AKI");
    let ski = extension(issuer, "2.5.29.14").expect("issuer SKI");
    // AKI: SEQUENCE { [0] keyIdentifier }; SKI: OCTET STRING keyIdentifier.
    assert!(
        aki.extn_value
            .as_bytes()
            .ends_with(&ski.extn_value.as_bytes()[2..]),
        "AKI = issuer's SKI"
    );
}

#[test]
fn leaf_has_the_section_8_profile() {
    let ca = ca();
    let der = ca
        .certificate(
            &profile(SubjectAltName::Email("alice@example.com".into())),
            &[0, 0],
        )
        .expect("cert");
    let cert = Certificate::from_der(&der).expect("parses");
    let tbs = cert.tbs_certificate();
    assert_eq!(tbs.version(), x509_cert::certificate::Version::V3);
    assert!(tbs.subject().is_empty(), "empty subject");
    let issuer = Certificate::from_der(ca.certificate_der()).expect("ca parses");
    assert_eq!(tbs.issuer(), issuer.tbs_certificate().subject());
    let validity = tbs.validity();
    let nb = validity.not_before.to_unix_duration().as_secs();
    let na = validity.not_after.to_unix_duration().as_secs();
    assert_eq!((nb, na - nb), (NOW as u64, 600));
    assert!(
        tbs.serial_number().as_bytes()[0] & 0x80 == 0,
        "positive serial"
    );

    let san = extension(&cert, "2.5.29.17").expect("SAN");
    assert!(san.critical, "SAN critical with an empty subject");
    assert!(
        san.extn_value
            .as_bytes()
            .windows(17)
            .any(|w| w == b"alice@example.com")
    );
    let ku = extension(&cert, "2.5.29.15").expect("KU");
    assert!(ku.critical);
    assert_eq!(
        ku.extn_value.as_bytes(),
        &[0x03, 0x02, 0x07, 0x80],
        "digitalSignature only"
    );
    assert_code_signing_only(&cert);
    assert_authority_key_id_is_subject_key_id_of(&cert, &issuer);
    assert!(extension(&cert, "2.5.29.14").is_some(), "SKI");

    let raw = extension(&cert, "1.3.6.1.4.1.57264.1.1").expect(".1");
    assert_eq!(
        raw.extn_value.as_bytes(),
        b"https://token.actions.githubusercontent.com",
        ".1 is raw"
    );
    let v2 = extension(&cert, "1.3.6.1.4.1.57264.1.8").expect(".8");
    let mut utf8 = vec![0x0c, 43];
    utf8.extend_from_slice(b"https://token.actions.githubusercontent.com");
    assert_eq!(
        v2.extn_value.as_bytes(),
        utf8.as_slice(),
        ".8 is a UTF8String of the same issuer"
    );
    assert!(
        extension(&cert, "1.3.6.1.4.1.57264.1.11").is_none(),
        "empty values are dropped"
    );
    assert!(extension(&cert, "1.3.6.1.4.1.57264.1.7").is_none());
    assert!(
        extension(&cert, "1.3.6.1.4.1.11129.2.4.3").is_none(),
        "no poison in the final certificate"
    );
    assert!(
        extension(&cert, "1.3.6.1.4.1.11129.2.4.2").is_some(),
        "SCT list"
    );

    // The signature verifies with the intermediate's P-384 key.
    let tbs_der = tbs.to_der().expect("tbs");
    let ca_key = issuer
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes();
    let key = signature::UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_ASN1, ca_key);
    key.verify(&tbs_der, cert.signature().raw_bytes())
        .expect("signed by the CA");
}

#[test]
fn precertificate_and_certificate_share_their_tbs() {
    let ca = ca();
    let leaf = profile(SubjectAltName::Uri(
        "https://github.com/org/repo/.github/workflows/release.yml@refs/tags/v1".into(),
    ));
    let pre = Certificate::from_der(&ca.precertificate(&leaf).expect("pre")).expect("parses");
    let fin = Certificate::from_der(&ca.certificate(&leaf, &[0, 3, 1, 2, 3]).expect("final"))
        .expect("parses");
    let poison = extension(&pre, "1.3.6.1.4.1.11129.2.4.3").expect("poison");
    assert!(poison.critical);
    assert_eq!(poison.extn_value.as_bytes(), &[0x05, 0x00]);
    // The TBS is the DER of its fields: equal fields and equal extension
    // lists once poison and SCT list are removed mean equal TBS bytes.
    let fields = |cert: &Certificate| {
        let t = cert.tbs_certificate();
        (
            t.serial_number().to_der().expect("serial"),
            t.signature().to_der().expect("alg"),
            t.issuer().to_der().expect("issuer"),
            t.validity().to_der().expect("validity"),
            t.subject().to_der().expect("subject"),
            t.subject_public_key_info().to_der().expect("spki"),
        )
    };
    assert_eq!(fields(&pre), fields(&fin));
    let without = |cert: &Certificate, oid: &str| -> Vec<Vec<u8>> {
        cert.tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
            .filter(|e| e.extn_id.to_string() != oid)
            .map(|e| e.to_der().expect("extension"))
            .collect()
    };
    assert_eq!(
        without(&pre, "1.3.6.1.4.1.11129.2.4.3"),
        without(&fin, "1.3.6.1.4.1.11129.2.4.2"),
        "the CT log signs exactly what clients rebuild"
    );
}

#[test]
fn username_is_an_other_name_and_bad_extensions_are_refused() {
    let ca = ca();
    let der = ca
        .certificate(
            &profile(SubjectAltName::Username("alice!example.com".into())),
            &[0, 0],
        )
        .expect("cert");
    let cert = Certificate::from_der(&der).expect("parses");
    let san = extension(&cert, "2.5.29.17").expect("SAN");
    let oid7 = [
        0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x01, 0x07,
    ];
    assert!(
        san.extn_value
            .as_bytes()
            .windows(oid7.len())
            .any(|w| w == oid7),
        "otherName of type .7"
    );
    let mut bad = profile(SubjectAltName::Email("a@b.c".into()));
    bad.extensions.push(SigstoreExtension {
        arc: 7,
        value: "x".into(),
    });
    assert_eq!(
        ca.certificate(&bad, &[]).err(),
        Some(CertificateError::Extension(7))
    );
    let mut bad_key = profile(SubjectAltName::Email("a@b.c".into()));
    bad_key.subject_public_key = vec![1, 2, 3];
    assert!(matches!(
        ca.precertificate(&bad_key),
        Err(CertificateError::PublicKey(_))
    ));
}

#[test]
fn hierarchy_is_a_p384_root_and_intermediate() {
    let h = new_hierarchy("sigstack test", NOW, 10).expect("hierarchy");
    let root = Certificate::from_der(&h.root.certificate_der).expect("root");
    let intermediate =
        Certificate::from_der(&h.intermediate.certificate_der).expect("intermediate");
    assert_eq!(
        intermediate.tbs_certificate().issuer(),
        root.tbs_certificate().subject()
    );
    let bc = extension(&intermediate, "2.5.29.19").expect("basic constraints");
    assert!(bc.critical);
    let ku = extension(&root, "2.5.29.15").expect("KU");
    assert!(ku.critical, "keyCertSign is critical");
}

#[test]
fn a_signer_for_another_key_is_refused() {
    let h = new_hierarchy("sigstack test", NOW, 1).expect("hierarchy");
    let err =
        CertificateAuthority::from_der(&h.intermediate.certificate_der, &h.root.key_pkcs8_der)
            .expect_err("root key with the intermediate certificate");
    assert!(err.to_string().contains("does not match"), "{err}");
    let signer = InMemoryCaSigner::from_pkcs8(&h.intermediate.key_pkcs8_der).expect("key");
    assert_eq!(signer.algorithm(), CaKeyAlgorithm::EcdsaP384Sha384);
    CertificateAuthority::new(&h.intermediate.certificate_der, Box::new(signer))
        .expect("matching signer");
}

fn p384_key() -> (Vec<u8>, Vec<u8>) {
    let alg = &signature::ECDSA_P384_SHA384_ASN1_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).expect("key");
    let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).expect("load");
    let spki = pair.public_key().as_der().expect("spki").as_ref().to_vec();
    (pkcs8.as_ref().to_vec(), spki)
}

#[test]
fn an_intermediate_for_a_key_held_elsewhere_chains_to_the_root() {
    let root = new_root("sigstack test", NOW, 10).expect("root");
    let (pkcs8, spki) = p384_key();
    let der = intermediate_for_key(&root, &spki, "sigstack test", NOW, 5).expect("intermediate");
    let cert = Certificate::from_der(&der).expect("parses");
    let root_cert = Certificate::from_der(&root.certificate_der).expect("root parses");
    let tbs = cert.tbs_certificate();
    assert_eq!(tbs.issuer(), root_cert.tbs_certificate().subject());
    assert_eq!(
        tbs.subject_public_key_info().to_der().expect("spki"),
        spki,
        "certifies exactly the given key"
    );
    assert!(
        tbs.subject()
            .to_string()
            .contains("CN=sigstack test intermediate")
    );
    let bc = extension(&cert, "2.5.29.19").expect("basic constraints");
    assert!(bc.critical);
    // SEQUENCE { BOOLEAN TRUE, INTEGER 0 }: CA with pathlen 0.
    assert_eq!(
        bc.extn_value.as_bytes(),
        &[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00]
    );
    assert_code_signing_only(&cert);
    assert_authority_key_id_is_subject_key_id_of(&cert, &root_cert);
    let validity = tbs.validity();
    let nb = validity.not_before.to_unix_duration().as_secs();
    let na = validity.not_after.to_unix_duration().as_secs();
    assert_eq!((nb, na - nb), (NOW as u64, 5 * 365 * 86_400));

    let root_key = root_cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes();
    signature::UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_ASN1, root_key)
        .verify(&tbs.to_der().expect("tbs"), cert.signature().raw_bytes())
        .expect("signed by the root");

    // The holder of the key can issue under it.
    let ca = CertificateAuthority::from_der(&der, &pkcs8).expect("ca over the key");
    ca.precertificate(&profile(SubjectAltName::Email("a@b.c".into())))
        .expect("issues");
    let (_, other_spki) = p384_key();
    let other = intermediate_for_key(&root, &other_spki, "sigstack test", NOW, 5).expect("other");
    assert!(CertificateAuthority::from_der(&other, &pkcs8).is_err());
}

#[test]
fn an_intermediate_refuses_a_malformed_key() {
    let root = new_root("sigstack test", NOW, 10).expect("root");
    assert!(matches!(
        intermediate_for_key(&root, &[0x30, 0x03, 0x02, 0x01, 0x00], "x", NOW, 1),
        Err(CertificateError::PublicKey(_))
    ));
    let mut not_a_root = root.clone();
    not_a_root.key_pkcs8_der = vec![1, 2, 3];
    let (_, spki) = p384_key();
    assert!(matches!(
        intermediate_for_key(&not_a_root, &spki, "x", NOW, 1),
        Err(CertificateError::Build(_))
    ));
}
