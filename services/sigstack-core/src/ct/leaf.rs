//! RFC 6962 §3.4 `MerkleTreeLeaf` and §3.2/§3.4 `TimestampedEntry`: the bytes
//! the CT log appends to its Merkle tree (leaf hash = `SHA-256(0x00‖leaf)`)
//! and serves as `leaf_input` from `get-entries`. Pure encoding, no I/O.
//!
//! ```text
//! MerkleTreeLeaf  = u8 version(v1 = 0) | u8 leaf_type(timestamped_entry = 0) | TimestampedEntry
//! TimestampedEntry = u64 timestamp | u16 entry_type | signed_entry | u16 ext_len | extensions
//! signed_entry    = x509_entry:    u24 len | ASN.1Cert
//!                 | precert_entry: 32B issuer_key_hash | u24 len | TBSCertificate
//! ```

/// The largest `opaque <1..2^24-1>` a TLS `u24` length prefix can carry.
pub const MAX_U24: usize = (1 << 24) - 1;

/// RFC 6962 §3.1 `LogEntryType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedEntry {
    /// `x509_entry` (0): the DER certificate, from `add-chain`.
    X509 { certificate: Vec<u8> },
    /// `precert_entry` (1): SHA-256 of the issuer's DER SubjectPublicKeyInfo
    /// and the precertificate's TBSCertificate with the poison removed.
    Precert {
        issuer_key_hash: [u8; 32],
        tbs_certificate: Vec<u8>,
    },
}

/// A length did not fit its TLS prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} of {len} bytes does not fit its length prefix")]
pub struct EncodingError {
    pub what: &'static str,
    pub len: usize,
}

impl SignedEntry {
    /// The `LogEntryType` code.
    pub fn entry_type(&self) -> u16 {
        match self {
            SignedEntry::X509 { .. } => 0,
            SignedEntry::Precert { .. } => 1,
        }
    }

    /// `u16 entry_type | signed_entry`, as both the leaf and the SCT
    /// signature input (§3.2) carry it.
    ///
    /// # Errors
    /// [`EncodingError`] for a certificate or TBS above 2^24-1 bytes.
    pub fn encode_typed(&self, out: &mut Vec<u8>) -> Result<(), EncodingError> {
        out.extend_from_slice(&self.entry_type().to_be_bytes());
        match self {
            SignedEntry::X509 { certificate } => put_u24_opaque(out, certificate, "certificate"),
            SignedEntry::Precert {
                issuer_key_hash,
                tbs_certificate,
            } => {
                out.extend_from_slice(issuer_key_hash);
                put_u24_opaque(out, tbs_certificate, "TBSCertificate")
            }
        }
    }
}

/// The `MerkleTreeLeaf` of `entry` logged at `timestamp` (ms since the
/// epoch) with SCT `extensions`.
///
/// # Errors
/// [`EncodingError`] when a field does not fit its length prefix.
pub fn merkle_tree_leaf(
    timestamp: u64,
    entry: &SignedEntry,
    extensions: &[u8],
) -> Result<Vec<u8>, EncodingError> {
    let mut out = vec![0u8, 0u8];
    out.extend_from_slice(&timestamp.to_be_bytes());
    entry.encode_typed(&mut out)?;
    put_u16_opaque(&mut out, extensions, "extensions")?;
    Ok(out)
}

/// The `extra_data` of a `get-entries` answer (RFC 6962 §4.6): for an
/// x509 entry, `X509ChainEntry { ASN.1Cert certificate_chain<0..2^24-1> }`;
/// for a precert entry, `PrecertChainEntry { ASN.1Cert pre_certificate;
/// ASN.1Cert precertificate_chain<0..2^24-1> }`. `submitted` is the chain
/// the log verified, leaf first, ending in its root.
///
/// # Errors
/// [`EncodingError`] when a certificate or the chain exceeds 2^24-1 bytes.
pub fn extra_data(entry: &SignedEntry, submitted: &[Vec<u8>]) -> Result<Vec<u8>, EncodingError> {
    let (leaf, issuers) = match submitted.split_first() {
        Some((leaf, issuers)) => (leaf.as_slice(), issuers),
        None => (&[][..], &[][..]),
    };
    let mut chain = Vec::new();
    for certificate in issuers {
        put_u24_opaque(&mut chain, certificate, "ASN.1Cert")?;
    }
    let mut out = Vec::new();
    if let SignedEntry::Precert { .. } = entry {
        put_u24_opaque(&mut out, leaf, "pre_certificate")?;
    }
    put_u24_opaque(&mut out, &chain, "certificate chain")?;
    Ok(out)
}

pub(crate) fn put_u24_opaque(
    out: &mut Vec<u8>,
    bytes: &[u8],
    what: &'static str,
) -> Result<(), EncodingError> {
    if bytes.len() > MAX_U24 {
        return Err(EncodingError {
            what,
            len: bytes.len(),
        });
    }
    let len = u32::try_from(bytes.len()).map_err(|_| EncodingError {
        what,
        len: bytes.len(),
    })?;
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(bytes);
    Ok(())
}

pub(crate) fn put_u16_opaque(
    out: &mut Vec<u8>,
    bytes: &[u8],
    what: &'static str,
) -> Result<(), EncodingError> {
    let len = u16::try_from(bytes.len()).map_err(|_| EncodingError {
        what,
        len: bytes.len(),
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x509_leaf_bytes() {
        let entry = SignedEntry::X509 {
            certificate: vec![0xAA, 0xBB, 0xCC],
        };
        let leaf = merkle_tree_leaf(0x0102_0304_0506_0708, &entry, &[]).expect("fits");
        assert_eq!(
            leaf,
            [
                0x00, 0x00, // v1, timestamped_entry
                0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // timestamp
                0x00, 0x00, // x509_entry
                0x00, 0x00, 0x03, 0xAA, 0xBB, 0xCC, // u24 certificate
                0x00, 0x00, // no extensions
            ]
        );
    }

    #[test]
    fn precert_leaf_bytes() {
        let entry = SignedEntry::Precert {
            issuer_key_hash: [0x11; 32],
            tbs_certificate: vec![0x30, 0x00],
        };
        let leaf = merkle_tree_leaf(1, &entry, &[0xEE]).expect("fits");
        let mut expected = vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0x01];
        expected.extend_from_slice(&[0x11; 32]);
        expected.extend_from_slice(&[0x00, 0x00, 0x02, 0x30, 0x00, 0x00, 0x01, 0xEE]);
        assert_eq!(leaf, expected);
    }

    #[test]
    fn extra_data_bytes() {
        let chain = vec![vec![0xA1], vec![0xB2, 0xB3], vec![0xC4]];
        let precert = SignedEntry::Precert {
            issuer_key_hash: [0; 32],
            tbs_certificate: vec![0x30, 0x00],
        };
        assert_eq!(
            extra_data(&precert, &chain).expect("fits"),
            [
                0x00, 0x00, 0x01, 0xA1, // pre_certificate
                0x00, 0x00, 0x09, // precertificate_chain, 9 bytes
                0x00, 0x00, 0x02, 0xB2, 0xB3, 0x00, 0x00, 0x01, 0xC4,
            ]
        );
        let x509 = SignedEntry::X509 {
            certificate: vec![0xA1],
        };
        assert_eq!(
            extra_data(&x509, &chain).expect("fits"),
            [
                0x00, 0x00, 0x09, 0x00, 0x00, 0x02, 0xB2, 0xB3, 0x00, 0x00, 0x01, 0xC4
            ]
        );
    }

    #[test]
    fn oversize_is_refused() {
        let entry = SignedEntry::X509 {
            certificate: vec![0; MAX_U24 + 1],
        };
        assert!(merkle_tree_leaf(0, &entry, &[]).is_err());
        let ok = SignedEntry::X509 {
            certificate: vec![0; 3],
        };
        assert!(merkle_tree_leaf(0, &ok, &vec![0; 65_536]).is_err());
    }
}
