//! Proposed entries of every kind, built the way the clients named in
//! `spec/log.md` §1.12 build them, from keys and certificates generated here;
//! each with the canonical body §2 says the log must store, spelled out by
//! hand (not by the code under test), and the digests §2.6 indexes it under.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use sha2::{Digest as _, Sha256};

pub const IN_TOTO: &str = "application/vnd.in-toto+json";

/// An ECDSA P-256 client key, kept as PKCS#8 so rcgen can certify it.
pub struct Signer {
    pkcs8: Vec<u8>,
    pair: EcdsaKeyPair,
    /// The SubjectPublicKeyInfo as Go's `pem.Encode` writes it.
    pub pem: String,
}

impl Signer {
    pub fn generate() -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .expect("generate a P-256 key")
                .as_ref()
                .to_vec();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8)
            .expect("load the key");
        let spki = pair.public_key().as_der().expect("SPKI DER");
        let pem = go_pem("PUBLIC KEY", spki.as_ref());
        Self { pkcs8, pair, pem }
    }

    /// ECDSA over SHA-256 of `message`, ASN.1 DER: what hashedrekord
    /// verifies over the artifact digest and DSSE over the PAE.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair
            .sign(&SystemRandom::new(), message)
            .expect("sign")
            .as_ref()
            .to_vec()
    }

    fn rcgen(&self) -> rcgen::KeyPair {
        rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
            &self.pkcs8.as_slice().into(),
            &rcgen::PKCS_ECDSA_P256_SHA256,
        )
        .expect("rcgen reads the key")
    }
}

/// A leaf certificate for `subject` with one email SAN, issued by a
/// throwaway CA, as canonical PEM (what cosign sends for a Fulcio leaf).
pub fn email_certificate(subject: &Signer, email: &str) -> String {
    let ca_key = Signer::generate().rcgen();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "sigstack e2e CA");
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let mut leaf = rcgen::CertificateParams::new(Vec::<String>::new()).expect("leaf params");
    leaf.subject_alt_names = vec![rcgen::SanType::Rfc822Name(
        email.try_into().expect("an IA5 email"),
    )];
    let cert = leaf
        .signed_by(&subject.rcgen(), &issuer)
        .expect("issue the leaf");
    go_pem("CERTIFICATE", cert.der())
}

/// One proposal and what the log must make of it.
pub struct Case {
    pub label: &'static str,
    pub kind: &'static str,
    pub api_version: &'static str,
    /// The request body of `POST /api/v1/log/entries`.
    pub proposal: Vec<u8>,
    /// The canonical leaf of §2, exactly.
    pub body: String,
    /// `sha256:<hex>` digests that find this entry and no other (§2.6).
    pub digests: Vec<String>,
}

/// hashedrekord 0.0.1 over `artifact` (cosign, sigstore-python): the
/// signature over the digest, `pem` sent canonical, so it is kept as is.
pub fn hashedrekord(label: &'static str, signer: &Signer, pem: &str, artifact: &[u8]) -> Case {
    let digest = sha256_hex(artifact);
    let sig = b64(signer.sign(artifact));
    let proposal = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": digest}},
            "signature": {"content": sig, "publicKey": {"content": b64(pem)}},
        },
    });
    let body = format!(
        concat!(
            r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"data":{{"hash":{{"algorithm":"sha256","value":"{}"}}}},"#,
            r#""signature":{{"content":"{}","publicKey":{{"content":"{}"}}}}}}}}"#
        ),
        digest,
        sig,
        b64(pem)
    );
    Case {
        label,
        kind: "hashedrekord",
        api_version: "0.0.1",
        proposal: serde_json::to_vec(&proposal).expect("JSON"),
        body,
        digests: vec![format!("sha256:{digest}")],
    }
}

/// dsse 0.0.1 as cosign `attest` sends it: the envelope (Go field order,
/// empty keyid) as a JSON string, one verifier per signer; signed by every
/// (signer, verification PEM) pair.
pub fn dsse(statement: &str, signers: &[(&Signer, &str)]) -> Case {
    let payload = b64(statement);
    let message = pae(IN_TOTO, statement.as_bytes());
    let sigs: Vec<String> = signers.iter().map(|(s, _)| b64(s.sign(&message))).collect();
    let envelope = envelope_string(&payload, &sigs);
    let proposal = json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {"proposedContent": {
            "envelope": envelope,
            "verifiers": signers.iter().map(|(_, pem)| b64(pem)).collect::<Vec<_>>(),
        }},
    });
    let mut pairs: Vec<(&String, &str)> =
        sigs.iter().zip(signers.iter().map(|(_, p)| *p)).collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let signatures: Vec<String> = pairs
        .iter()
        .map(|(sig, pem)| format!(r#"{{"signature":"{sig}","verifier":"{}"}}"#, b64(pem)))
        .collect();
    let envelope_hash = sha256_hex(&envelope);
    let payload_hash = sha256_hex(statement);
    let body = format!(
        concat!(
            r#"{{"apiVersion":"0.0.1","kind":"dsse","spec":{{"envelopeHash":{{"algorithm":"sha256","value":"{}"}},"#,
            r#""payloadHash":{{"algorithm":"sha256","value":"{}"}},"signatures":[{}]}}}}"#
        ),
        envelope_hash,
        payload_hash,
        signatures.join(",")
    );
    Case {
        label: "dsse 0.0.1",
        kind: "dsse",
        api_version: "0.0.1",
        proposal: serde_json::to_vec(&proposal).expect("JSON"),
        body,
        digests: vec![
            format!("sha256:{payload_hash}"),
            format!("sha256:{envelope_hash}"),
            subject_digest(statement),
        ],
    }
}

/// intoto 0.0.2 as sigstore-js sends it: payload and sig base64-encoded a
/// second time, no keyid, `hash` = SHA-256 of the RFC 8785 envelope with
/// single-base64 values and the key as PEM text.
pub fn intoto_v002(statement: &str, signer: &Signer) -> Case {
    let payload = b64(statement);
    let sig = b64(signer.sign(&pae(IN_TOTO, statement.as_bytes())));
    let pem_json = serde_json::to_string(&signer.pem).expect("JSON string");
    let client_hash = sha256_hex(format!(
        r#"{{"payload":"{payload}","payloadType":"{IN_TOTO}","signatures":[{{"publicKey":{pem_json},"sig":"{sig}"}}]}}"#
    ));
    let payload_hash = sha256_hex(statement);
    let proposal = json!({
        "apiVersion": "0.0.2",
        "kind": "intoto",
        "spec": {"content": {
            "envelope": {
                "payloadType": IN_TOTO,
                "payload": b64(&payload),
                "signatures": [{"sig": b64(&sig), "publicKey": b64(&signer.pem)}],
            },
            "hash": {"algorithm": "sha256", "value": client_hash},
            "payloadHash": {"algorithm": "sha256", "value": payload_hash},
        }},
    });
    let body = format!(
        concat!(
            r#"{{"apiVersion":"0.0.2","kind":"intoto","spec":{{"content":{{"envelope":{{"payloadType":"{}","#,
            r#""signatures":[{{"publicKey":"{}","sig":"{}"}}]}},"hash":{{"algorithm":"sha256","value":"{}"}},"#,
            r#""payloadHash":{{"algorithm":"sha256","value":"{}"}}}}}}}}"#
        ),
        IN_TOTO,
        b64(&signer.pem),
        b64(&sig),
        client_hash,
        payload_hash
    );
    Case {
        label: "intoto 0.0.2",
        kind: "intoto",
        api_version: "0.0.2",
        proposal: serde_json::to_vec(&proposal).expect("JSON"),
        body,
        digests: vec![format!("sha256:{payload_hash}"), subject_digest(statement)],
    }
}

/// intoto 0.0.1 as cosign `attest --rekor-entry-type=intoto` sends it: the
/// envelope as a string, the verification material (`pem`) base64-encoded.
pub fn intoto_v001(statement: &str, signer: &Signer, pem: &str) -> Case {
    let payload = b64(statement);
    let sig = b64(signer.sign(&pae(IN_TOTO, statement.as_bytes())));
    let envelope = envelope_string(&payload, &[sig]);
    let proposal = json!({
        "apiVersion": "0.0.1",
        "kind": "intoto",
        "spec": {"content": {"envelope": envelope}, "publicKey": b64(pem)},
    });
    let envelope_hash = sha256_hex(&envelope);
    let payload_hash = sha256_hex(statement);
    let body = format!(
        concat!(
            r#"{{"apiVersion":"0.0.1","kind":"intoto","spec":{{"content":{{"hash":{{"algorithm":"sha256","value":"{}"}},"#,
            r#""payloadHash":{{"algorithm":"sha256","value":"{}"}}}},"publicKey":"{}"}}}}"#
        ),
        envelope_hash,
        payload_hash,
        b64(pem)
    );
    Case {
        label: "intoto 0.0.1",
        kind: "intoto",
        api_version: "0.0.1",
        proposal: serde_json::to_vec(&proposal).expect("JSON"),
        body,
        digests: vec![
            format!("sha256:{envelope_hash}"),
            format!("sha256:{payload_hash}"),
            subject_digest(statement),
        ],
    }
}

/// An in-toto v1 statement about one subject named `name`, whose SHA-256
/// is derived from the name so that each statement is found alone.
pub fn statement(name: &str) -> String {
    format!(
        r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"{name}","digest":{{"sha256":"{}"}}}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{{}}}}"#,
        sha256_hex(name)
    )
}

/// The index key of a [`statement`]'s subject.
fn subject_digest(statement: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(statement).expect("statement JSON");
    let hex = value["subject"][0]["digest"]["sha256"]
        .as_str()
        .expect("subject digest");
    format!("sha256:{hex}")
}

/// A DSSE envelope as Go's `json.Marshal` of cosign's struct writes it.
fn envelope_string(payload: &str, sigs: &[String]) -> String {
    let sigs: Vec<String> = sigs
        .iter()
        .map(|s| format!(r#"{{"keyid":"","sig":"{s}"}}"#))
        .collect();
    format!(
        r#"{{"payloadType":"{IN_TOTO}","payload":"{payload}","signatures":[{}]}}"#,
        sigs.join(",")
    )
}

/// DSSE's pre-authentication encoding (DSSE protocol, "Signature definition").
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Go's `pem.Encode`: 64-column base64, every line ending in `\n`.
pub fn go_pem(label: &str, der: &[u8]) -> String {
    let encoded = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(bytes.as_ref()))
}
