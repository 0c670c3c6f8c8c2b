//! The encodings between a PKCS#11 EC key and X.509: curve OIDs in
//! `CKA_EC_PARAMS`, the point in `CKA_EC_POINT`, `CKM_ECDSA`'s raw `r‖s`
//! output (PKCS#11 v2.40 §2.3.1) against the DER `ECDSA-Sig-Value` X.509
//! carries (RFC 5480 §2.2, RFC 5758 §3.2).

use der::asn1::{OctetStringRef, UintRef};
use der::{Decode as _, Encode as _, Header, Tag};
use sha2::Digest as _;
use sigstack_core::certificate::CaKeyAlgorithm;

/// DER of the OID secp256r1, 1.2.840.10045.3.1.7 (RFC 5480 §2.1.1.1).
pub(crate) const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// DER of the OID secp384r1, 1.3.132.0.34.
pub(crate) const P384_PARAMS: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

/// The curve named by `CKA_EC_PARAMS` (a DER `namedCurve` OID).
pub(crate) fn algorithm_of(ec_params: &[u8]) -> Option<CaKeyAlgorithm> {
    match ec_params {
        P256_PARAMS => Some(CaKeyAlgorithm::EcdsaP256Sha256),
        P384_PARAMS => Some(CaKeyAlgorithm::EcdsaP384Sha384),
        _ => None,
    }
}

/// Octets of one field element (and of `r` and of `s`).
pub(crate) fn field_len(algorithm: CaKeyAlgorithm) -> usize {
    match algorithm {
        CaKeyAlgorithm::EcdsaP256Sha256 => 32,
        CaKeyAlgorithm::EcdsaP384Sha384 => 48,
    }
}

/// The digest `CKM_ECDSA` signs: the message hashed with the algorithm's
/// hash. Hashing here rather than asking for `CKM_ECDSA_SHA384` works on
/// every token that signs EC keys at all.
pub(crate) fn digest(algorithm: CaKeyAlgorithm, message: &[u8]) -> Vec<u8> {
    match algorithm {
        CaKeyAlgorithm::EcdsaP256Sha256 => sha2::Sha256::digest(message).to_vec(),
        CaKeyAlgorithm::EcdsaP384Sha384 => sha2::Sha384::digest(message).to_vec(),
    }
}

/// The uncompressed point `04‖X‖Y` from `CKA_EC_POINT`. The attribute is
/// the DER OCTET STRING wrapping the point (PKCS#11 v2.40 §2.3.3); a few
/// tokens return the bare point, which is taken as well since it cannot
/// be mistaken for the wrapped one (their lengths differ).
pub(crate) fn point_from_attribute(
    algorithm: CaKeyAlgorithm,
    ec_point: &[u8],
) -> Result<Vec<u8>, String> {
    let want = 1 + 2 * field_len(algorithm);
    let point = if ec_point.len() == want {
        ec_point
    } else {
        <&OctetStringRef>::from_der(ec_point)
            .map_err(|e| format!("CKA_EC_POINT is not a DER OCTET STRING: {e}"))?
            .as_bytes()
    };
    if point.len() != want || point[0] != 0x04 {
        return Err(format!(
            "CKA_EC_POINT is not an uncompressed point of {want} octets"
        ));
    }
    Ok(point.to_vec())
}

/// DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` from the
/// fixed-width `r‖s` of `CKM_ECDSA`.
pub(crate) fn der_signature(algorithm: CaKeyAlgorithm, raw: &[u8]) -> Result<Vec<u8>, String> {
    let n = field_len(algorithm);
    if raw.len() != 2 * n {
        return Err(format!(
            "CKM_ECDSA returned {} octets, not r and s of {n} each",
            raw.len()
        ));
    }
    let (r, s) = raw.split_at(n);
    let encode = || -> der::Result<Vec<u8>> {
        let r = UintRef::new(r)?;
        let s = UintRef::new(s)?;
        let header = Header::new(Tag::Sequence, (r.encoded_len()? + s.encoded_len()?)?);
        let mut out = Vec::with_capacity(2 * n + 9);
        header.encode_to_vec(&mut out)?;
        r.encode_to_vec(&mut out)?;
        s.encode_to_vec(&mut out)?;
        Ok(out)
    };
    encode().map_err(|e| format!("encoding the signature: {e}"))
}

/// DER SubjectPublicKeyInfo of an EC point (RFC 5480 §2): the algorithm
/// identifier id-ecPublicKey with the named curve, then the point.
pub(crate) fn subject_public_key_info(algorithm: CaKeyAlgorithm, point: &[u8]) -> Vec<u8> {
    // SEQUENCE { SEQUENCE { OID 1.2.840.10045.2.1, <curve OID> }, BIT STRING 00‖point }
    const EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    let curve = match algorithm {
        CaKeyAlgorithm::EcdsaP256Sha256 => P256_PARAMS,
        CaKeyAlgorithm::EcdsaP384Sha384 => P384_PARAMS,
    };
    let mut algorithm_id = EC_PUBLIC_KEY.to_vec();
    algorithm_id.extend_from_slice(curve);
    let mut bits = vec![0x00];
    bits.extend_from_slice(point);
    let mut body = tagged(0x30, &algorithm_id);
    body.extend(tagged(0x03, &bits));
    tagged(0x30, &body)
}

/// A short-form DER TLV; every value above is under 128 octets.
fn tagged(tag: u8, content: &[u8]) -> Vec<u8> {
    debug_assert!(content.len() < 0x80);
    let mut out = vec![tag, content.len() as u8];
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};

    use super::*;

    const P256: CaKeyAlgorithm = CaKeyAlgorithm::EcdsaP256Sha256;
    const P384: CaKeyAlgorithm = CaKeyAlgorithm::EcdsaP384Sha384;

    fn key(alg: &'static signature::EcdsaSigningAlgorithm) -> EcdsaKeyPair {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).expect("key");
        EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).expect("load")
    }

    /// aws-lc-rs's fixed `r‖s` signatures, converted here, verify as DER
    /// with aws-lc-rs.
    #[test]
    fn raw_signatures_become_der_that_verifies() {
        for (algorithm, fixed, asn1) in [
            (
                P256,
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &signature::ECDSA_P256_SHA256_ASN1,
            ),
            (
                P384,
                &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                &signature::ECDSA_P384_SHA384_ASN1,
            ),
        ] {
            let pair = key(fixed);
            let public = signature::UnparsedPublicKey::new(asn1, pair.public_key().as_ref());
            let rng = SystemRandom::new();
            for i in 0..300u32 {
                let message = i.to_be_bytes();
                let raw = pair.sign(&rng, &message).expect("sign");
                let der = der_signature(algorithm, raw.as_ref()).expect("der");
                public.verify(&message, &der).expect("DER verifies");
            }
            assert!(der_signature(algorithm, &[1; 10]).is_err());
        }
    }

    /// Leading zero octets are dropped and a set high bit gets a 0x00 pad,
    /// so each INTEGER is minimal and positive (X.690 §8.3.2).
    #[test]
    fn integers_are_minimal_and_positive() {
        let mut raw = [0u8; 64];
        raw[31] = 0x01; // r = 1
        raw[32] = 0x80; // s = 0x80 followed by 31 zero octets
        let der = der_signature(P256, &raw).expect("der");
        let mut want = vec![0x30, 3 + 35, 0x02, 0x01, 0x01, 0x02, 0x21, 0x00, 0x80];
        want.extend_from_slice(&[0; 31]);
        assert_eq!(der, want);
    }

    #[test]
    fn spki_matches_aws_lc_rs_and_points_unwrap() {
        for (algorithm, alg) in [
            (P256, &signature::ECDSA_P256_SHA256_ASN1_SIGNING),
            (P384, &signature::ECDSA_P384_SHA384_ASN1_SIGNING),
        ] {
            let pair = key(alg);
            let point = pair.public_key().as_ref();
            let spki = pair.public_key().as_der().expect("spki");
            assert_eq!(subject_public_key_info(algorithm, point), spki.as_ref());

            let mut wrapped = vec![0x04, point.len() as u8];
            wrapped.extend_from_slice(point);
            assert_eq!(
                point_from_attribute(algorithm, &wrapped).expect("wrapped"),
                point
            );
            assert_eq!(point_from_attribute(algorithm, point).expect("bare"), point);
            let mut compressed = point[..1 + field_len(algorithm)].to_vec();
            compressed[0] = 0x02;
            assert!(point_from_attribute(algorithm, &compressed).is_err());
            let other = if algorithm == P256 { P384 } else { P256 };
            assert!(point_from_attribute(other, &wrapped).is_err());
        }
        assert_eq!(algorithm_of(P256_PARAMS), Some(P256));
        assert_eq!(algorithm_of(P384_PARAMS), Some(P384));
        // secp521r1, 1.3.132.0.35
        assert_eq!(
            algorithm_of(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]),
            None
        );
    }
}
