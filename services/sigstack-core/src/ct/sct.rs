//! RFC 6962 §3.2 signed certificate timestamps and §3.5 tree head
//! signatures: the bytes the CT key signs (`spec/ca.md` §10.1), the TLS
//! `DigitallySigned` wrapper (§4.7 of RFC 5246), the SCT v1 structure and
//! the `SignedCertificateTimestampList` of RFC 6962 §3.3. Pure encoding.

use crate::ct::leaf::{EncodingError, SignedEntry, put_u16_opaque};

/// `HashAlgorithm.sha256` (RFC 5246 §7.4.1.4.1).
pub const HASH_SHA256: u8 = 4;
/// `SignatureAlgorithm.ecdsa`.
pub const SIGNATURE_ECDSA: u8 = 3;

/// `SignatureType.certificate_timestamp`.
const CERTIFICATE_TIMESTAMP: u8 = 0;
/// `SignatureType.tree_hash`.
const TREE_HASH: u8 = 1;
/// `Version.v1`.
const V1: u8 = 0;

/// What the log signs for an SCT (RFC 6962 §3.2, `spec/ca.md` §10.1):
/// `u8 sct_version | u8 signature_type | u64 timestamp | u16 entry_type |
/// signed_entry | u16 ext_len | extensions`.
///
/// # Errors
/// [`EncodingError`] when a field does not fit its length prefix.
pub fn certificate_timestamp_input(
    timestamp: u64,
    entry: &SignedEntry,
    extensions: &[u8],
) -> Result<Vec<u8>, EncodingError> {
    let mut out = vec![V1, CERTIFICATE_TIMESTAMP];
    out.extend_from_slice(&timestamp.to_be_bytes());
    entry.encode_typed(&mut out)?;
    put_u16_opaque(&mut out, extensions, "extensions")?;
    Ok(out)
}

/// What the log signs for an STH (RFC 6962 §3.5, `TreeHeadSignature`):
/// `u8 version | u8 signature_type(tree_hash) | u64 timestamp | u64
/// tree_size | 32B sha256_root_hash`.
pub fn tree_head_signature_input(timestamp: u64, tree_size: u64, root: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(50);
    out.extend_from_slice(&[V1, TREE_HASH]);
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(&tree_size.to_be_bytes());
    out.extend_from_slice(root);
    out
}

/// A TLS `DigitallySigned` with SHA-256 and ECDSA: `u8 hash | u8 sig |
/// u16 len | DER signature` (`spec/ca.md` §9.4).
///
/// # Errors
/// [`EncodingError`] for a signature above 65535 bytes.
pub fn digitally_signed_ecdsa_sha256(signature: &[u8]) -> Result<Vec<u8>, EncodingError> {
    let mut out = vec![HASH_SHA256, SIGNATURE_ECDSA];
    put_u16_opaque(&mut out, signature, "signature")?;
    Ok(out)
}

/// An SCT v1 as the log returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCertificateTimestamp {
    /// SHA-256 of the log key's DER SubjectPublicKeyInfo.
    pub log_id: [u8; 32],
    /// Milliseconds since the epoch.
    pub timestamp: u64,
    pub extensions: Vec<u8>,
    /// The TLS `DigitallySigned` encoding.
    pub signature: Vec<u8>,
}

impl SignedCertificateTimestamp {
    /// The TLS encoding of RFC 6962 §3.2: `u8 version | 32B log_id | u64
    /// timestamp | u16 ext_len | ext | DigitallySigned`.
    ///
    /// # Errors
    /// [`EncodingError`] for extensions above 65535 bytes.
    pub fn to_tls(&self) -> Result<Vec<u8>, EncodingError> {
        let mut out = vec![V1];
        out.extend_from_slice(&self.log_id);
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        put_u16_opaque(&mut out, &self.extensions, "extensions")?;
        out.extend_from_slice(&self.signature);
        Ok(out)
    }
}

/// The TLS `SignedCertificateTimestampList` (RFC 6962 §3.3): `u16 list_len`
/// then each SCT as `u16 len | SCT`; the CA wraps it in an OCTET STRING for
/// the extension `1.3.6.1.4.1.11129.2.4.2`.
///
/// # Errors
/// [`EncodingError`] when an SCT or the list exceeds 65535 bytes.
pub fn signed_certificate_timestamp_list(
    scts: &[SignedCertificateTimestamp],
) -> Result<Vec<u8>, EncodingError> {
    let mut list = Vec::new();
    for sct in scts {
        put_u16_opaque(&mut list, &sct.to_tls()?, "SerializedSCT")?;
    }
    let mut out = Vec::with_capacity(list.len() + 2);
    put_u16_opaque(&mut out, &list, "SignedCertificateTimestampList")?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precert_signature_input_bytes() {
        let entry = SignedEntry::Precert {
            issuer_key_hash: [0x22; 32],
            tbs_certificate: vec![0x30, 0x01, 0x00],
        };
        let input = certificate_timestamp_input(0x0000_018F_0000_0001, &entry, &[]).expect("fits");
        let mut expected = vec![0x00, 0x00, 0x00, 0x00, 0x01, 0x8F, 0x00, 0x00, 0x00, 0x01];
        expected.extend_from_slice(&[0x00, 0x01]);
        expected.extend_from_slice(&[0x22; 32]);
        expected.extend_from_slice(&[0x00, 0x00, 0x03, 0x30, 0x01, 0x00, 0x00, 0x00]);
        assert_eq!(input, expected);
    }

    #[test]
    fn x509_signature_input_bytes() {
        let entry = SignedEntry::X509 {
            certificate: vec![0xAB],
        };
        let input = certificate_timestamp_input(2, &entry, &[0x01, 0x02]).expect("fits");
        assert_eq!(
            input,
            [
                0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0xAB, 0, 2, 1, 2
            ]
        );
    }

    #[test]
    fn tree_head_input_bytes() {
        let input = tree_head_signature_input(3, 0x0102, &[0x33; 32]);
        let mut expected = vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 1, 2];
        expected.extend_from_slice(&[0x33; 32]);
        assert_eq!(input, expected);
    }

    #[test]
    fn sct_and_list_bytes() {
        let sct = SignedCertificateTimestamp {
            log_id: [0x44; 32],
            timestamp: 5,
            extensions: Vec::new(),
            signature: digitally_signed_ecdsa_sha256(&[0x30, 0x00]).expect("fits"),
        };
        let tls = sct.to_tls().expect("fits");
        let mut expected = vec![0x00];
        expected.extend_from_slice(&[0x44; 32]);
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 5, 0, 0]);
        expected.extend_from_slice(&[0x04, 0x03, 0x00, 0x02, 0x30, 0x00]);
        assert_eq!(tls, expected);
        assert_eq!(tls.len(), 1 + 32 + 8 + 2 + 6);

        let list = signed_certificate_timestamp_list(&[sct]).expect("fits");
        // u16 list_len = 2 + 49, u16 sct_len = 49 (ca.md §9.5 prefix shape).
        assert_eq!(&list[..4], &[0x00, 0x33, 0x00, 0x31]);
        assert_eq!(&list[4..], &tls[..]);
    }
}
