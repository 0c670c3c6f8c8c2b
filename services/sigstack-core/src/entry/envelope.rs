//! DSSE envelopes (secure-systems-lab/dsse `envelope.md`, `protocol.md`) as
//! the reference's DSSE library reads and verifies them, for dsse and
//! intoto entries (log.md §2.3–§2.5).
//!
//! Verification follows go-securesystemslib's `EnvelopeVerifier` with one
//! key and threshold 1, which Rekor builds once per key: the payload is
//! decoded (standard, then URL-safe base64), every signature is decoded, and
//! the key is tried against the signatures in order; it accounts for the
//! first one it verifies and no other (the library removes a provider once
//! it has matched). So one key never covers two signatures in one pass.

use serde::Deserialize;

use super::encoding::decode_dsse;
use super::pki::{PublicKey, verify_message};

/// A parsed envelope. Absent and `null` members read as empty, as Go's
/// `encoding/json` leaves them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub(crate) payload_type: String,
    /// The payload's base64 text as in the envelope.
    pub(crate) payload: String,
    pub(crate) signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvelopeSignature {
    pub(crate) keyid: String,
    /// The signature's base64 text as in the envelope.
    pub(crate) sig: String,
}

/// An envelope decoded for verification.
pub(crate) struct Prepared {
    /// The decoded payload.
    pub(crate) payload: Vec<u8>,
    pae: Vec<u8>,
    signatures: Vec<Vec<u8>>,
}

/// The error the DSSE library gives when a key verifies no signature.
pub(crate) const NO_SIGNATURE_VERIFIED: &str =
    "could not verify envelope: accepted signatures do not match threshold, Found: 0, Expected 1";

#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "payloadType")]
    payload_type: Option<String>,
    payload: Option<String>,
    signatures: Option<Vec<Option<WireSignature>>>,
}

#[derive(Deserialize)]
struct WireSignature {
    keyid: Option<String>,
    sig: Option<String>,
}

impl Envelope {
    /// Parses the envelope JSON (dsse and intoto 0.0.1 carry it as a string).
    ///
    /// # Errors
    /// The JSON decoder's message.
    pub(crate) fn parse(json: &str) -> Result<Self, String> {
        let wire: Wire = serde_json::from_str(json).map_err(|e| format!("envelope: {e}"))?;
        Ok(Envelope {
            payload_type: wire.payload_type.unwrap_or_default(),
            payload: wire.payload.unwrap_or_default(),
            signatures: wire
                .signatures
                .unwrap_or_default()
                .into_iter()
                .map(|s| {
                    let s = s.unwrap_or(WireSignature {
                        keyid: None,
                        sig: None,
                    });
                    EnvelopeSignature {
                        keyid: s.keyid.unwrap_or_default(),
                        sig: s.sig.unwrap_or_default(),
                    }
                })
                .collect(),
        })
    }

    /// Decodes payload and signatures and builds the PAE.
    ///
    /// # Errors
    /// The library's message when the payload or a signature is not base64.
    pub(crate) fn prepare(&self) -> Result<Prepared, String> {
        const NOT_BASE64: &str = "could not verify envelope: unable to base64 decode payload (is payload in the right format?)";
        let payload = decode_dsse(&self.payload).ok_or(NOT_BASE64)?;
        let signatures = self
            .signatures
            .iter()
            .map(|s| decode_dsse(&s.sig).ok_or(NOT_BASE64))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Prepared {
            pae: pae(&self.payload_type, &payload),
            payload,
            signatures,
        })
    }
}

impl Prepared {
    /// One verification pass with `key` as the only provider: the index of
    /// the first signature it verifies, if any.
    pub(crate) fn first_verified(&self, key: &PublicKey) -> Option<usize> {
        self.signatures
            .iter()
            .position(|sig| verify_message(key, &self.pae, sig).is_ok())
    }
}

/// DSSE v1 pre-authentication encoding:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in decimal.
pub(crate) fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_spec_example() {
        // secure-systems-lab/dsse protocol.md test vector.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn parse_reads_nulls_as_empty() {
        let env = Envelope::parse(
            r#"{"payloadType":null,"payload":"aGk=","signatures":[{"sig":"c2ln"},null],"x":1}"#,
        )
        .expect("parses");
        assert_eq!(env.payload_type, "");
        assert_eq!(env.signatures.len(), 2);
        assert_eq!(env.signatures[0].sig, "c2ln");
        assert_eq!(env.signatures[1].keyid, "");
        assert!(Envelope::parse("[]").is_err());
        assert!(Envelope::parse(r#"{"payload":5}"#).is_err());
    }

    #[test]
    fn prepare_rejects_bad_base64() {
        let mut env =
            Envelope::parse(r#"{"payload":"aGk=","signatures":[{"sig":"!"}]}"#).expect("parses");
        assert!(env.prepare().is_err());
        env.signatures.clear();
        env.payload = "!".into();
        assert!(env.prepare().is_err());
    }
}
