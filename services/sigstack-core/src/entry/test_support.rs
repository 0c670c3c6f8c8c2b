//! Keys, signatures and certificates generated at test time (style.md
//! practice 8), and PEM/JSON builders written independently of the code
//! under test.

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, ECDSA_P521_SHA256_ASN1_SIGNING,
    ECDSA_P521_SHA384_ASN1_SIGNING, ECDSA_P521_SHA512_ASN1_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256, RSA_PKCS1_SHA384,
    RSA_PKCS1_SHA512, RSA_PSS_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::pkcs8::DecodePrivateKey as _;

use super::pki::HashAlgorithm;
use super::{CanonicalEntry, EntryError, canonicalize_proposed};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    P256,
    P384,
    P521,
    Ed25519,
    Rsa,
}

/// A private key generated for one test, kept as PKCS#8.
#[derive(Debug, Clone)]
pub(crate) struct TestKey {
    pub(crate) alg: Alg,
    pub(crate) pkcs8: Vec<u8>,
}

impl TestKey {
    pub(crate) fn generate(alg: Alg) -> Self {
        let pkcs8 = match alg {
            Alg::P256 => ec_generate(&ECDSA_P256_SHA256_ASN1_SIGNING),
            Alg::P384 => ec_generate(&ECDSA_P384_SHA384_ASN1_SIGNING),
            Alg::P521 => ec_generate(&ECDSA_P521_SHA512_ASN1_SIGNING),
            Alg::Ed25519 => Ed25519KeyPair::generate()
                .and_then(|k| k.to_pkcs8v1())
                .expect("ed25519")
                .as_ref()
                .to_vec(),
            Alg::Rsa => RsaKeyPair::generate(KeySize::Rsa2048)
                .and_then(|k| k.as_der())
                .expect("rsa")
                .as_ref()
                .to_vec(),
        };
        TestKey { alg, pkcs8 }
    }

    pub(crate) fn spki_der(&self) -> Vec<u8> {
        match self.alg {
            Alg::P256 | Alg::P384 | Alg::P521 => {
                let key = self.ec(self.ec_alg(HashAlgorithm::Sha256));
                key.public_key().as_der().expect("spki").as_ref().to_vec()
            }
            Alg::Ed25519 => {
                let key = Ed25519KeyPair::from_pkcs8(&self.pkcs8).expect("ed25519");
                key.public_key().as_der().expect("spki").as_ref().to_vec()
            }
            Alg::Rsa => {
                let key = RsaKeyPair::from_pkcs8(&self.pkcs8).expect("rsa");
                key.public_key().as_der().expect("spki").as_ref().to_vec()
            }
        }
    }

    /// The key as Go's `pem.Encode` writes it.
    pub(crate) fn pem(&self) -> String {
        go_pem("PUBLIC KEY", &self.spki_der())
    }

    /// A signature over `hash(message)`, as a hashedrekord client makes it:
    /// ECDSA or PKCS#1 v1.5 over the digest, Ed25519ph.
    pub(crate) fn sign_prehashed(&self, hash: HashAlgorithm, message: &[u8]) -> Vec<u8> {
        let d = digest::digest(aws_digest(hash), message);
        match self.alg {
            // aws-lc-rs signs P-256 with SHA-256 only; RustCrypto takes any digest.
            Alg::P256 if hash != HashAlgorithm::Sha256 => {
                use p256::ecdsa::signature::hazmat::PrehashSigner as _;
                let key = p256::ecdsa::SigningKey::from_pkcs8_der(&self.pkcs8).expect("p256");
                let sig: p256::ecdsa::Signature = key.sign_prehash(d.as_ref()).expect("sign");
                sig.to_der().as_bytes().to_vec()
            }
            Alg::P256 | Alg::P384 | Alg::P521 => self
                .ec(self.ec_alg(hash))
                .sign_digest(&d)
                .expect("ecdsa")
                .as_ref()
                .to_vec(),
            Alg::Ed25519 => {
                use sha2::Digest as _;
                let key =
                    ed25519_dalek::SigningKey::try_from(&self.pkcs8[16..48]).expect("ed25519 seed");
                key.sign_prehashed(sha2::Sha512::new().chain_update(message), None)
                    .expect("ed25519ph")
                    .to_bytes()
                    .to_vec()
            }
            Alg::Rsa => {
                let encoding = match hash {
                    HashAlgorithm::Sha256 => &RSA_PKCS1_SHA256,
                    HashAlgorithm::Sha384 => &RSA_PKCS1_SHA384,
                    HashAlgorithm::Sha512 => &RSA_PKCS1_SHA512,
                };
                self.rsa_sign_digest(encoding, &d)
            }
        }
    }

    /// An RSA-PSS signature over SHA-256(`message`).
    pub(crate) fn sign_pss(&self, message: &[u8]) -> Vec<u8> {
        assert_eq!(self.alg, Alg::Rsa);
        self.rsa_sign_digest(&RSA_PSS_SHA256, &digest::digest(&digest::SHA256, message))
    }

    /// A signature over `message` as dsse verifies it: SHA-256 for ECDSA and
    /// RSA, pure Ed25519.
    pub(crate) fn sign_message(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self.alg {
            Alg::P256 | Alg::P521 => self
                .ec(self.ec_alg(HashAlgorithm::Sha256))
                .sign(&rng, message)
                .expect("ecdsa")
                .as_ref()
                .to_vec(),
            Alg::P384 => panic!("aws-lc-rs cannot sign P-384 over SHA-256"),
            Alg::Ed25519 => Ed25519KeyPair::from_pkcs8(&self.pkcs8)
                .expect("ed25519")
                .sign(message)
                .as_ref()
                .to_vec(),
            Alg::Rsa => {
                let key = RsaKeyPair::from_pkcs8(&self.pkcs8).expect("rsa");
                let mut sig = vec![0; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .expect("rsa");
                sig
            }
        }
    }

    /// The same key for rcgen, to issue certificates for it or with it.
    pub(crate) fn rcgen(&self) -> rcgen::KeyPair {
        let alg = match self.alg {
            Alg::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Alg::P384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            Alg::Ed25519 => &rcgen::PKCS_ED25519,
            Alg::Rsa => &rcgen::PKCS_RSA_SHA256,
            Alg::P521 => panic!("rcgen loads no P-521 PKCS#8"),
        };
        rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&self.pkcs8.as_slice().into(), alg)
            .expect("rcgen key")
    }

    fn ec_alg(&self, hash: HashAlgorithm) -> &'static EcdsaSigningAlgorithm {
        match (self.alg, hash) {
            (Alg::P256, HashAlgorithm::Sha256) => &ECDSA_P256_SHA256_ASN1_SIGNING,
            (Alg::P384, HashAlgorithm::Sha384) => &ECDSA_P384_SHA384_ASN1_SIGNING,
            (Alg::P384, _) => &ECDSA_P384_SHA384_ASN1_SIGNING,
            (Alg::P521, HashAlgorithm::Sha256) => &ECDSA_P521_SHA256_ASN1_SIGNING,
            (Alg::P521, HashAlgorithm::Sha384) => &ECDSA_P521_SHA384_ASN1_SIGNING,
            (Alg::P521, HashAlgorithm::Sha512) => &ECDSA_P521_SHA512_ASN1_SIGNING,
            other => panic!("no aws-lc-rs ECDSA signer for {other:?}"),
        }
    }

    fn ec(&self, alg: &'static EcdsaSigningAlgorithm) -> EcdsaKeyPair {
        EcdsaKeyPair::from_pkcs8(alg, &self.pkcs8).expect("ecdsa pkcs8")
    }

    fn rsa_sign_digest(
        &self,
        encoding: &'static dyn aws_lc_rs::signature::RsaEncoding,
        d: &digest::Digest,
    ) -> Vec<u8> {
        let key = RsaKeyPair::from_pkcs8(&self.pkcs8).expect("rsa");
        let mut sig = vec![0; key.public_modulus_len()];
        key.sign_digest(encoding, d, &mut sig).expect("rsa");
        sig
    }
}

fn ec_generate(alg: &'static EcdsaSigningAlgorithm) -> Vec<u8> {
    EcdsaKeyPair::generate(alg)
        .and_then(|k| k.to_pkcs8v1())
        .expect("ecdsa")
        .as_ref()
        .to_vec()
}

pub(crate) fn aws_digest(hash: HashAlgorithm) -> &'static digest::Algorithm {
    match hash {
        HashAlgorithm::Sha256 => &digest::SHA256,
        HashAlgorithm::Sha384 => &digest::SHA384,
        HashAlgorithm::Sha512 => &digest::SHA512,
    }
}

/// Go's `pem.Encode`, written out here without the code under test.
pub(crate) fn go_pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The same PEM laid out the way some tools write it: CRLF, 76 columns.
pub(crate) fn crlf76(pem: &str) -> String {
    let mut out = String::new();
    for block in pem.split_inclusive("-----\n").collect::<Vec<_>>().chunks(2) {
        let begin = block[0];
        let body_and_end = block.get(1).copied().unwrap_or("");
        let (body, end) = body_and_end.rsplit_once("-----END").expect("END line");
        let b64: String = body.split_whitespace().collect();
        out.push_str(&begin.replace('\n', "\r\n"));
        for chunk in b64.as_bytes().chunks(76) {
            out.push_str(std::str::from_utf8(chunk).expect("ascii"));
            out.push_str("\r\n");
        }
        out.push_str("-----END");
        out.push_str(&end.replace('\n', "\r\n"));
    }
    out
}

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

pub(crate) fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes.as_ref()))
}

/// A CA and a leaf it issued for `leaf_key`, with the given SANs; returns
/// (leaf DER, CA DER).
pub(crate) fn issue_leaf(
    ca_key: &TestKey,
    leaf_key: &TestKey,
    sans: Vec<rcgen::SanType>,
) -> (Vec<u8>, Vec<u8>) {
    let ca_key = ca_key.rcgen();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "sigstack test CA");
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let mut leaf_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    leaf_params.subject_alt_names = sans;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf = leaf_params
        .signed_by(&leaf_key.rcgen(), &issuer)
        .expect("leaf");
    (leaf.der().to_vec(), ca.der().to_vec())
}

/// Canonicalises `proposed` and expects a 400 `Invalid` whose message
/// contains `fragment`.
pub(crate) fn assert_invalid(proposed: &[u8], fragment: &str) {
    let err = canonicalize_proposed(proposed).expect_err(fragment);
    assert!(matches!(err, EntryError::Invalid(_)), "{err:?}");
    assert_eq!(err.status_code(), 400);
    assert!(
        err.client_message().starts_with("error processing entry: "),
        "{err}"
    );
    assert!(
        err.to_string().contains(fragment),
        "{err} lacks {fragment:?}"
    );
}

/// Expects `entry`'s body to be exactly `expected` and its leaf hash to be
/// `SHA-256(0x00 ‖ expected)`.
pub(crate) fn assert_body(entry: &CanonicalEntry, expected: &str) {
    assert_eq!(
        String::from_utf8(entry.body.clone()).expect("utf-8"),
        expected
    );
    let mut prefixed = vec![0u8];
    prefixed.extend_from_slice(expected.as_bytes());
    assert_eq!(entry.leaf_hash().to_hex(), sha256_hex(prefixed));
}
