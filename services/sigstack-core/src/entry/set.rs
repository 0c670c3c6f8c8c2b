//! The signed entry timestamp ("inclusion promise", log.md §3).
//!
//! The payload is RFC 8785 of exactly `{body, integratedTime, logID,
//! logIndex}` — key order therefore always that — and the signature is the
//! v1 log key's ECDSA P-256 over SHA-256 of it, ASN.1 DER, the only form
//! sigstore-go, sigstore-js, sigstore-python and cosign all accept.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use serde_json::json;

use super::canonical::to_canonical_json_of_own;
use crate::ids::LogId;
use crate::note::{NoteSigner as _, SignError};
use crate::note_keys::EcdsaP256NoteSigner;

/// The SET payload for one entry.
///
/// `body_b64` is the response's `body` string exactly (standard base64 of
/// the leaf), `integrated_time` Unix seconds, `log_index` the **virtual**
/// index (log.md §1.2). Integers follow RFC 8785's ES6 number form, exact
/// up to 2^53 as in the reference (which round-trips them through float64).
pub fn set_payload(
    body_b64: &str,
    integrated_time: i64,
    log_id: &LogId,
    log_index: u64,
) -> Vec<u8> {
    to_canonical_json_of_own(&json!({
        "body": body_b64,
        "integratedTime": integrated_time,
        "logID": log_id.to_hex(),
        "logIndex": log_index,
    }))
}

/// Signs the SET of one entry with the v1 log key; the logID is the key's.
///
/// # Errors
/// [`SignError`] when the key's backend fails.
pub fn sign_set(
    signer: &EcdsaP256NoteSigner,
    body_b64: &str,
    integrated_time: i64,
    log_index: u64,
) -> Result<Vec<u8>, SignError> {
    let payload = set_payload(body_b64, integrated_time, &signer.log_id(), log_index);
    signer.sign(&payload)
}

/// Whether `signature` is a valid SET for these fields under the P-256 key
/// `spki_der`, as clients check it (log.md §3).
pub fn verify_set(
    spki_der: &[u8],
    body_b64: &str,
    integrated_time: i64,
    log_id: &LogId,
    log_index: u64,
    signature: &[u8],
) -> bool {
    let payload = set_payload(body_b64, integrated_time, log_id, log_index);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, spki_der)
        .verify(&payload, signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_bytes_and_key_order() {
        let log_id = LogId([0xab; 32]);
        let payload = set_payload("eyJhIjoxfQ==", 1_767_225_600, &log_id, 1234);
        let expected = format!(
            "{{\"body\":\"eyJhIjoxfQ==\",\"integratedTime\":1767225600,\"logID\":\"{}\",\"logIndex\":1234}}",
            "ab".repeat(32)
        );
        assert_eq!(String::from_utf8(payload).expect("utf-8"), expected);
        let zero = set_payload("", 0, &log_id, 0);
        assert!(
            String::from_utf8(zero)
                .expect("utf-8")
                .ends_with("\"logIndex\":0}")
        );
    }

    #[test]
    fn sign_and_verify() {
        let signer = EcdsaP256NoteSigner::generate("rekor.example.com").expect("key");
        let spki = signer.public_key_spki_der();
        let id = signer.log_id();
        let sig = sign_set(&signer, "Ym9keQ==", 1_700_000_000, 7).expect("signs");
        assert!(verify_set(spki, "Ym9keQ==", 1_700_000_000, &id, 7, &sig));
        assert!(!verify_set(spki, "Ym9keQ==", 1_700_000_000, &id, 8, &sig));
        assert!(!verify_set(spki, "Ym9keQ==", 1_700_000_001, &id, 7, &sig));
        assert!(!verify_set(spki, "Ym9kZQ==", 1_700_000_000, &id, 7, &sig));
        assert!(!verify_set(
            spki,
            "Ym9keQ==",
            1_700_000_000,
            &LogId([0; 32]),
            7,
            &sig
        ));

        // Independently: RustCrypto over SHA-256 of the payload bytes.
        use p256::ecdsa::signature::Verifier as _;
        use p256::pkcs8::DecodePublicKey as _;
        let key = p256::ecdsa::VerifyingKey::from_public_key_der(spki).expect("spki");
        let der = p256::ecdsa::DerSignature::try_from(sig.as_slice()).expect("DER");
        let payload = set_payload("Ym9keQ==", 1_700_000_000, &id, 7);
        assert!(key.verify(&payload, &der).is_ok());
    }
}
