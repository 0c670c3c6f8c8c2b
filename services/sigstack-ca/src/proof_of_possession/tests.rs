use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair as _,
};
use base64::Engine as _;

use super::*;

fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
    .into_bytes()
}

fn ecdsa(alg: &'static aws_lc_rs::signature::EcdsaSigningAlgorithm) -> EcdsaKeyPair {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).expect("key");
    EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).expect("load")
}

#[test]
fn challenge_signed_with_the_default_scheme_proves_possession() {
    for alg in [
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        &ECDSA_P384_SHA384_ASN1_SIGNING,
    ] {
        let key = ecdsa(alg);
        let spki = key.public_key().as_der().expect("spki").as_ref().to_vec();
        let proof = key
            .sign(&SystemRandom::new(), b"alice@example.com")
            .expect("sign");
        let proven = prove_with_challenge(
            &pem("PUBLIC KEY", &spki),
            proof.as_ref(),
            "alice@example.com",
        )
        .expect("pem");
        assert_eq!(proven.spki_der, spki);
        prove_with_challenge(&spki, proof.as_ref(), "alice@example.com").expect("raw DER too");
        assert_eq!(
            prove_with_challenge(&spki, proof.as_ref(), "mallory@example.com"),
            Err(PossessionError::BadSignature)
        );
    }
    let ed = Ed25519KeyPair::from_pkcs8(
        Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .expect("key")
            .as_ref(),
    )
    .expect("load");
    let spki = ed.public_key().as_der().expect("spki").as_ref().to_vec();
    let proof = ed.sign(b"repo:org/app");
    prove_with_challenge(&spki, proof.as_ref(), "repo:org/app").expect("pure Ed25519");
}

#[test]
fn unparsable_keys_are_refused() {
    assert_eq!(
        prove_with_challenge(b"", b"sig", "x"),
        Err(PossessionError::KeyUnparsable)
    );
    assert_eq!(
        prove_with_challenge(b"not a key", b"sig", "x"),
        Err(PossessionError::KeyUnparsable)
    );
    assert_eq!(
        prove_with_challenge(&pem("PUBLIC KEY", b"\x30\x00"), b"sig", "x"),
        Err(PossessionError::KeyUnparsable)
    );
}

#[test]
fn csr_self_signature_proves_possession() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params.serialize_request(&key).expect("csr");
    let proven = prove_with_csr(csr.pem().expect("pem").as_bytes()).expect("proven");
    assert_eq!(
        proven.spki_der,
        rcgen::PublicKeyData::subject_public_key_info(&key)
    );
    assert_eq!(proven.key_type, KeyType::EcdsaP256);

    // A flipped bit in the signed part breaks the self-signature.
    let mut der = csr.der().to_vec();
    let at = der.len() / 3;
    der[at] ^= 0x01;
    let tampered = prove_with_csr(&pem("CERTIFICATE REQUEST", &der));
    assert!(
        matches!(
            tampered,
            Err(PossessionError::BadSignature | PossessionError::CsrUnparsable)
        ),
        "{tampered:?}"
    );
    assert_eq!(
        prove_with_csr(
            b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"
        ),
        Err(PossessionError::CsrUnparsable)
    );
    assert_eq!(
        prove_with_csr(csr.der()),
        Err(PossessionError::CsrUnparsable),
        "DER is not accepted"
    );
}

#[test]
fn csr_algorithms_follow_the_allow_list() {
    assert!(matches!(
        check_csr_algorithm(KeyType::EcdsaP256, Some(HashAlgorithm::Sha384)),
        Err(PossessionError::NotPermitted(_))
    ));
    assert_eq!(
        check_csr_algorithm(KeyType::Rsa { bits: 2048 }, Some(HashAlgorithm::Sha256)),
        Ok(())
    );
    assert_eq!(check_csr_algorithm(KeyType::Ed25519, None), Ok(()));
    assert_eq!(
        check_csr_algorithm(KeyType::EcdsaP256, None),
        Err(PossessionError::UnrecognizedAlgorithm),
        "pure-Ed25519 OID with an ECDSA key"
    );
    assert_eq!(
        check_key_policy(KeyType::Rsa { bits: 1024 }),
        Err(PossessionError::Insecure)
    );
    // A real P-384 CSR, signed with ECDSA-SHA384, is permitted.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params.serialize_request(&key).expect("csr");
    prove_with_csr(csr.pem().expect("pem").as_bytes()).expect("P-384 with SHA-384 is permitted");
}
