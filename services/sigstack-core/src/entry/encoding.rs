//! Byte encodings as the reference reads them (log.md §2.1).
//!
//! Rekor decodes every `format: byte` field with Go's `base64.StdEncoding`:
//! standard alphabet, padding required, and — unlike the `base64` crate's
//! default engine — CR and LF skipped wherever they occur and non-zero
//! trailing bits accepted. Clients that wrap their base64 (or send a
//! non-canonical last character) therefore still get in, and the canonical
//! body re-encodes the decoded bytes, so both spellings give one leaf.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const GO_CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_allow_trailing_bits(true)
    .with_decode_padding_mode(DecodePaddingMode::RequireCanonical);

/// Go's `base64.StdEncoding` (after the CR/LF skip done by [`decode_std`]).
const GO_STD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, GO_CONFIG);
/// Go's `base64.URLEncoding`, the DSSE library's second try.
const GO_URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, GO_CONFIG);

/// Decodes as Go's `base64.StdEncoding.DecodeString` does.
///
/// # Errors
/// [`base64::DecodeError`] for other alphabets, missing padding or junk.
pub(crate) fn decode_std(text: impl AsRef<[u8]>) -> Result<Vec<u8>, base64::DecodeError> {
    GO_STD.decode(without_line_breaks(text.as_ref()))
}

/// The DSSE library's decoder (go-securesystemslib `b64Decode`): standard
/// base64 first, then URL-safe base64, both padded.
pub(crate) fn decode_dsse(text: impl AsRef<[u8]>) -> Option<Vec<u8>> {
    let bytes = without_line_breaks(text.as_ref());
    GO_STD
        .decode(&bytes)
        .or_else(|_| GO_URL.decode(&bytes))
        .ok()
}

/// Standard padded base64, as Go's `encoding/json` writes `[]byte` values.
pub(crate) fn encode_std(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

fn without_line_breaks(text: &[u8]) -> Vec<u8> {
    text.iter()
        .copied()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_std_rules() {
        assert_eq!(decode_std("aGk=").ok(), Some(b"hi".to_vec()));
        assert_eq!(decode_std("aG\r\nk=").ok(), Some(b"hi".to_vec()));
        // Non-canonical trailing bits: Go's non-strict decoder takes them.
        assert_eq!(decode_std("aGl=").ok(), Some(b"hi".to_vec()));
        assert!(decode_std("aGk").is_err(), "padding is required");
        assert!(decode_std("aG k=").is_err(), "spaces are not skipped");
        assert!(decode_std("_-8=").is_err(), "URL alphabet");
        assert_eq!(decode_std("").ok(), Some(Vec::new()));
    }

    #[test]
    fn dsse_falls_back_to_url_safe() {
        assert_eq!(decode_dsse("_-8=").as_deref(), Some(&[0xff, 0xef][..]));
        assert_eq!(decode_dsse("aGk=").as_deref(), Some(&b"hi"[..]));
        assert!(decode_dsse("_-8").is_none());
    }
}
