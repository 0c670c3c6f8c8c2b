//! PEM (RFC 7468) as Rekor reads and writes it (log.md §2.1).
//!
//! Reading is lenient the way Go's `encoding/pem` is: any line length,
//! CRLF or LF, spaces and tabs inside the base64 ignored, Go's non-strict
//! base64. Writing is Go's `pem.Encode`: 64-column lines, every line ending
//! in `\n` — the form sigstore-python rebuilds and compares (log.md §9 #6).
//!
//! Narrower than Go on purpose: text before, between or after blocks and
//! RFC 1421 headers (`Proc-Type:`) are refused. Go skips stray text and a
//! malformed block in search of the next good one; no client sends either.

use super::PkiError;
use crate::entry::encoding::{decode_std, encode_std};

/// One decoded PEM block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PemBlock {
    pub(crate) label: String,
    pub(crate) der: Vec<u8>,
}

const BEGIN: &str = "-----BEGIN ";
const DASHES: &str = "-----";

/// Every block of `input`, in order, after trimming surrounding whitespace.
///
/// # Errors
/// [`PkiError::Pem`] when `input` is empty, not PEM, or has a block that
/// does not parse.
pub(crate) fn decode_all(input: &[u8]) -> Result<Vec<PemBlock>, PkiError> {
    let text = std::str::from_utf8(input).map_err(|_| PkiError::Pem(NOT_PEM.into()))?;
    let mut rest = text.trim();
    let mut blocks = Vec::new();
    while !rest.is_empty() {
        let Some(after_begin) = rest.strip_prefix(BEGIN) else {
            return Err(PkiError::Pem(if blocks.is_empty() {
                NOT_PEM.into()
            } else {
                "unexpected data after PEM block".into()
            }));
        };
        let (block, after) = decode_block(after_begin)?;
        blocks.push(block);
        rest = after.trim_start();
    }
    if blocks.is_empty() {
        return Err(PkiError::Pem(NOT_PEM.into()));
    }
    Ok(blocks)
}

/// Go's `pem.Encode` of one block.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let body = encode_std(der);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 32);
    out.push_str(BEGIN);
    out.push_str(label);
    out.push_str("-----\n");
    let mut line = body.as_str();
    while !line.is_empty() {
        let (head, tail) = line.split_at(line.len().min(64));
        out.push_str(head);
        out.push('\n');
        line = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Rekor's message for input that is not PEM at all.
const NOT_PEM: &str = "invalid public key: failure decoding PEM";

/// Decodes one block whose `-----BEGIN ` has been consumed; returns it and
/// the text after its END line.
fn decode_block(after_begin: &str) -> Result<(PemBlock, &str), PkiError> {
    let bad = |why: &str| PkiError::Pem(format!("malformed PEM block: {why}"));
    let (type_line, mut rest) = split_line(after_begin);
    let label = type_line
        .trim_end_matches([' ', '\t', '\r'])
        .strip_suffix(DASHES)
        .ok_or_else(|| bad("BEGIN line does not end in -----"))?;
    let end_line = format!("-----END {label}-----");
    let mut base64 = String::new();
    loop {
        if rest.is_empty() {
            return Err(bad("no END line"));
        }
        let (line, after) = split_line(rest);
        rest = after;
        let line = line.trim_end_matches([' ', '\t', '\r']);
        if line == end_line {
            break;
        }
        if line.starts_with(DASHES) {
            return Err(bad("END line does not match BEGIN"));
        }
        if line.contains(':') {
            return Err(bad("headers are not supported"));
        }
        base64.extend(line.chars().filter(|c| !matches!(c, ' ' | '\t')));
    }
    let der = decode_std(&base64).map_err(|_| bad("body is not base64"))?;
    Ok((
        PemBlock {
            label: label.to_owned(),
            der,
        },
        rest,
    ))
}

/// The line up to (not including) `\n`, and the text after it.
fn split_line(text: &str) -> (&str, &str) {
    text.split_once('\n').unwrap_or((text, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_is_go_pem_encode() {
        let der: Vec<u8> = (0..100u8).collect();
        let pem = encode("PUBLIC KEY", &der);
        let lines: Vec<&str> = pem.split_inclusive('\n').collect();
        assert_eq!(lines[0], "-----BEGIN PUBLIC KEY-----\n");
        assert_eq!(lines[1].len(), 65);
        assert_eq!(lines[2].len(), 65);
        assert_eq!(lines[3].len(), 136 - 128 + 1);
        assert_eq!(lines[4], "-----END PUBLIC KEY-----\n");
        assert_eq!(lines.len(), 5);
        assert_eq!(encode("X", &[]), "-----BEGIN X-----\n-----END X-----\n");
    }

    #[test]
    fn decode_is_lenient_about_layout() {
        let der: Vec<u8> = (0..100u8).collect();
        let canonical = encode("CERTIFICATE", &der);
        let body = encode_std(&der);
        let crlf_wrapped_at_40 = format!(
            "  \r\n-----BEGIN CERTIFICATE-----\r\n{}\r\n{}\r\n-----END CERTIFICATE-----  \r\n\n",
            &body[..40],
            &body[40..]
        );
        let one_line = format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----");
        for text in [canonical.as_str(), &crlf_wrapped_at_40, &one_line] {
            let blocks = decode_all(text.as_bytes()).expect(text);
            assert_eq!(blocks.len(), 1);
            assert_eq!(blocks[0].label, "CERTIFICATE");
            assert_eq!(blocks[0].der, der);
        }
        let two = format!("{canonical}\n{canonical}");
        assert_eq!(decode_all(two.as_bytes()).expect("two").len(), 2);
    }

    #[test]
    fn decode_rejections() {
        let good = encode("PUBLIC KEY", b"key");
        for bad in [
            String::new(),
            "   \n".to_owned(),
            "not pem".to_owned(),
            format!("junk\n{good}"),
            format!("{good}junk"),
            good.replace("-----END PUBLIC KEY-----", "-----END CERTIFICATE-----"),
            good.replace("-----END PUBLIC KEY-----\n", ""),
            good.replace("-----BEGIN PUBLIC KEY-----", "-----BEGIN PUBLIC KEY"),
            good.replace("a2V5", "a2V5!"),
            good.replace("a2V5", "Proc-Type: 4,ENCRYPTED\n\na2V5"),
        ] {
            assert!(decode_all(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(decode_all(&[0xff, 0xfe]).is_err());
    }
}
