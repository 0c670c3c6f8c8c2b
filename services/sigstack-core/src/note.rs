//! C2SP signed notes (`c2sp.org/signed-note`): a text ending in `\n`, a blank
//! line, then one or more lines `— <key name> <base64(key ID[4] ‖ signature)>`.
//!
//! Checkpoints (log.md §4, [`crate::checkpoint`]) are signed notes; Rekor v1
//! and C2SP logs differ only in the key name and key ID (log.md §4.1, §4.2).
//! This module owns the format and the trust rule of signed-note §Signatures;
//! the key types live in [`crate::note_keys`] and are re-exported here.
//!
//! Parsing keeps the text and the signature bytes exactly as received and the
//! base64 decoder accepts only canonical encodings, so a parsed note prints
//! back byte for byte (sigstore-rs re-marshals before it verifies, log.md §4.3).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

pub use crate::note_keys::{
    EcdsaP256NoteSigner, EcdsaP256NoteVerifier, Ed25519NoteSigner, Ed25519NoteVerifier,
};

/// U+2014, which opens every signature line (signed-note §Format).
pub const EM_DASH: char = '\u{2014}';

/// Most signature lines [`SignedNote::parse`] accepts. signed-note §Format
/// requires at least 16; a log's own checkpoint carries one, and a note with
/// a few witness cosignatures stays far below this.
pub const MAX_SIGNATURES: usize = 64;

/// Signs note texts with one key. Implemented over aws-lc-rs in
/// [`crate::note_keys`]; other backends (PKCS#11) implement it outside core.
pub trait NoteSigner: Send + Sync + fmt::Debug {
    /// Key name printed in the signature line.
    fn name(&self) -> &str;
    /// Key ID printed before the signature bytes.
    fn key_id(&self) -> [u8; 4];
    /// Signature over `message`, the note text including its final `\n`.
    ///
    /// # Errors
    /// [`SignError`] when the key or its backend fails.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
}

/// Checks signatures by one known key.
pub trait NoteVerifier: Send + Sync + fmt::Debug {
    /// Key name the signature line must carry.
    fn name(&self) -> &str;
    /// Key ID the signature must start with.
    fn key_id(&self) -> [u8; 4];
    /// Whether `signature` is valid over `message` for this key.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool;
}

/// Raised when a key cannot be loaded or cannot sign.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("invalid key name {0:?}: must be non-empty, without spaces or '+'")]
    InvalidKeyName(String),
    #[error("private key rejected: {0}")]
    KeyRejected(String),
    #[error("signing backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

/// Raised when a note is malformed, does not verify, or cannot be signed.
#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    #[error("note text must end with a newline")]
    MissingFinalNewline,
    #[error("note contains a control character other than newline")]
    ControlCharacter,
    #[error("note has no blank line before its signatures")]
    MissingBlankLine,
    #[error("note has no signature lines")]
    NoSignatures,
    #[error("note has {0} signatures, more than the {MAX_SIGNATURES} accepted")]
    TooManySignatures(usize),
    #[error("signature line does not start with an em dash and a space")]
    SignatureLineWithoutEmDash,
    #[error("invalid key name {0:?}: must be non-empty, without spaces or '+'")]
    InvalidKeyName(String),
    #[error("signature by {0:?} is not canonical standard base64")]
    InvalidSignatureEncoding(String),
    #[error("signature by {name:?} has {len} bytes, fewer than a key ID and one byte")]
    SignatureTooShort { name: String, len: usize },
    #[error(
        "signature by known key {name:?} ({}) does not verify",
        hex::encode(key_id)
    )]
    InvalidSignature { name: String, key_id: [u8; 4] },
    #[error("no signature by a known key")]
    NoKnownSignature,
    #[error("invalid public key: {0}")]
    InvalidPublicKey(String),
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// One signature line: key name, key ID and the signature bytes after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: [u8; 4],
    pub signature: Vec<u8>,
}

/// A note text with its signatures. Exists only once parsed or signed, so its
/// text ends in `\n` and its signature lines are well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNote {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// Whether `name` may be a key name: non-empty, without Unicode spaces, `+`
/// (the vkey separator) or control characters (signed-note §Format).
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

/// Signs `text` with one key.
///
/// # Errors
/// [`NoteError::MissingFinalNewline`] or [`NoteError::ControlCharacter`] for a
/// text that no verifier would accept, [`NoteError::InvalidKeyName`] for a
/// signer whose name cannot appear in a signature line, and
/// [`NoteError::Sign`] when the signer fails.
pub fn sign_note(text: &str, signer: &dyn NoteSigner) -> Result<SignedNote, NoteError> {
    check_text(text)?;
    if !is_valid_key_name(signer.name()) {
        return Err(NoteError::InvalidKeyName(signer.name().to_owned()));
    }
    let signature = signer.sign(text.as_bytes())?;
    Ok(SignedNote {
        text: text.to_owned(),
        signatures: vec![NoteSignature {
            name: signer.name().to_owned(),
            key_id: signer.key_id(),
            signature,
        }],
    })
}

/// Parses `note` and checks it against the known keys, by signed-note
/// §Signatures: signatures whose (name, key ID) matches no verifier are
/// ignored, every matching one must verify, and at least one must.
///
/// The returned note carries only the signatures that verified, so nothing
/// unverified can be mistaken for trusted; identical lines are kept once.
///
/// # Errors
/// Any [`SignedNote::parse`] error; [`NoteError::InvalidSignature`] when a
/// known key's signature fails; [`NoteError::NoKnownSignature`] when no
/// signature comes from a known key.
pub fn open_note(note: &str, verifiers: &[&dyn NoteVerifier]) -> Result<SignedNote, NoteError> {
    let parsed = SignedNote::parse(note)?;
    let mut verified: Vec<NoteSignature> = Vec::new();
    for sig in parsed.signatures {
        let mut known = verifiers
            .iter()
            .filter(|v| v.name() == sig.name && v.key_id() == sig.key_id)
            .peekable();
        if known.peek().is_none() {
            continue;
        }
        // Two verifiers may share a (name, key ID) by accident (signed-note
        // §Signatures); the signature is good if either key accepts it.
        if !known.any(|v| v.verify(parsed.text.as_bytes(), &sig.signature)) {
            return Err(NoteError::InvalidSignature {
                name: sig.name,
                key_id: sig.key_id,
            });
        }
        if !verified.contains(&sig) {
            verified.push(sig);
        }
    }
    if verified.is_empty() {
        return Err(NoteError::NoKnownSignature);
    }
    Ok(SignedNote {
        text: parsed.text,
        signatures: verified,
    })
}

impl SignedNote {
    /// Parses a signed note without checking any signature.
    ///
    /// # Errors
    /// [`NoteError`] for a note that is not exactly text, blank line and
    /// signature lines as signed-note §Format describes.
    pub fn parse(note: &str) -> Result<SignedNote, NoteError> {
        check_text(note)?;
        // The text may contain empty lines; signature lines never are, so the
        // last "\n\n" is the separator (signed-note §Format).
        let split = note.rfind("\n\n").ok_or(NoteError::MissingBlankLine)?;
        let (text, rest) = note.split_at(split + 1);
        let block = &rest[1..];
        if block.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        // check_text ensured the note ends in '\n', so every line is terminated.
        let lines: Vec<&str> = block.split_terminator('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures(lines.len()));
        }
        let signatures = lines
            .into_iter()
            .map(parse_signature_line)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SignedNote {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, including its final `\n`.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// The note as it goes on the wire; equals the input of [`Self::parse`].
    pub fn to_note_string(&self) -> String {
        self.to_string()
    }
}

impl std::str::FromStr for SignedNote {
    type Err = NoteError;
    fn from_str(note: &str) -> Result<Self, Self::Err> {
        Self::parse(note)
    }
}

impl fmt::Display for SignedNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for sig in &self.signatures {
            let mut blob = Vec::with_capacity(4 + sig.signature.len());
            blob.extend_from_slice(&sig.key_id);
            blob.extend_from_slice(&sig.signature);
            writeln!(f, "{EM_DASH} {} {}", sig.name, STANDARD.encode(blob))?;
        }
        Ok(())
    }
}

/// Rules shared by a note and its text: newline-terminated, and no control
/// character but newline (signed-note §Format).
fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::MissingFinalNewline);
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteError::ControlCharacter);
    }
    Ok(())
}

fn parse_signature_line(line: &str) -> Result<NoteSignature, NoteError> {
    let rest = line
        .strip_prefix(EM_DASH)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or(NoteError::SignatureLineWithoutEmDash)?;
    // A name has no spaces, so the first space ends it; a space inside the
    // base64 makes the decoder fail below.
    let (name, encoded) = rest.split_once(' ').unwrap_or((rest, ""));
    if !is_valid_key_name(name) {
        return Err(NoteError::InvalidKeyName(name.to_owned()));
    }
    // STANDARD demands canonical padding and zero trailing bits, so the bytes
    // encode back to exactly `encoded`.
    let blob = STANDARD
        .decode(encoded)
        .map_err(|_| NoteError::InvalidSignatureEncoding(name.to_owned()))?;
    match blob.split_first_chunk::<4>() {
        Some((key_id, signature)) if !signature.is_empty() => Ok(NoteSignature {
            name: name.to_owned(),
            key_id: *key_id,
            signature: signature.to_vec(),
        }),
        _ => Err(NoteError::SignatureTooShort {
            name: name.to_owned(),
            len: blob.len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Published vector: c2sp.org/signed-note, §Verifier keys, "Example".
    const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    fn spec_verifier() -> Ed25519NoteVerifier {
        Ed25519NoteVerifier::from_vkey(SPEC_VKEY).expect("published vkey parses")
    }

    #[test]
    fn published_vector_opens() {
        let v = spec_verifier();
        let note = open_note(SPEC_NOTE, &[&v]).expect("published note verifies");
        assert_eq!(note.text(), "This is an example message.\n");
        assert_eq!(note.signatures().len(), 1);
        assert_eq!(note.signatures()[0].name, "example.com/foo");
        assert_eq!(hex::encode(note.signatures()[0].key_id), "530d903a");
    }

    #[test]
    fn tampered_published_vector_fails() {
        let v = spec_verifier();
        let tampered = SPEC_NOTE.replace("example message", "example massage");
        assert!(matches!(
            open_note(&tampered, &[&v]),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn parse_prints_back_byte_for_byte() {
        let parsed = SignedNote::parse(SPEC_NOTE).expect("parses");
        assert_eq!(parsed.to_note_string(), SPEC_NOTE);
        // Empty lines inside the text and several signatures survive too.
        let multi = "a\n\nb\n\n\u{2014} k1 AAAAAAE=\n\u{2014} k2 AQIDBAUG\n";
        let parsed = SignedNote::parse(multi).expect("parses");
        assert_eq!(parsed.text(), "a\n\nb\n");
        assert_eq!(parsed.signatures().len(), 2);
        assert_eq!(parsed.signatures()[1].key_id, [1, 2, 3, 4]);
        assert_eq!(parsed.to_string(), multi);
    }

    #[test]
    fn sign_then_open_both_key_types() {
        let ed = Ed25519NoteSigner::generate("example.com/ed").expect("generates");
        let ec = EcdsaP256NoteSigner::generate("example.com/ec").expect("generates");
        for signer in [&ed as &dyn NoteSigner, &ec] {
            let note = sign_note("hello\nworld\n", signer).expect("signs");
            let wire = note.to_note_string();
            assert_eq!(SignedNote::parse(&wire).expect("parses"), note);
            let (edv, ecv) = (ed.verifier(), ec.verifier());
            let opened = open_note(&wire, &[&edv, &ecv]).expect("opens");
            assert_eq!(opened, note);
        }
    }

    #[test]
    fn sign_rejects_bad_text() {
        let ed = Ed25519NoteSigner::generate("k").expect("generates");
        assert!(matches!(
            sign_note("no newline", &ed),
            Err(NoteError::MissingFinalNewline)
        ));
        assert!(matches!(
            sign_note("tab\there\n", &ed),
            Err(NoteError::ControlCharacter)
        ));
    }

    #[test]
    fn unknown_signers_are_ignored_but_one_known_is_required() {
        let a = Ed25519NoteSigner::generate("a.example").expect("generates");
        let b = Ed25519NoteSigner::generate("b.example").expect("generates");
        let mut note = sign_note("text\n", &a).expect("signs");
        let by_b = sign_note("text\n", &b).expect("signs");
        note.signatures.extend(by_b.signatures().iter().cloned());
        let wire = note.to_note_string();

        let av = a.verifier();
        let opened = open_note(&wire, &[&av]).expect("a's signature verifies");
        assert_eq!(opened.signatures().len(), 1);
        assert_eq!(opened.signatures()[0].name, "a.example");

        let stranger = Ed25519NoteSigner::generate("c.example").expect("generates");
        let cv = stranger.verifier();
        assert!(matches!(
            open_note(&wire, &[&cv]),
            Err(NoteError::NoKnownSignature)
        ));
    }

    #[test]
    fn same_name_other_key_is_unknown_not_invalid() {
        // Same name, different key ID: signed-note says ignore, not reject.
        let signer = Ed25519NoteSigner::generate("log.example").expect("generates");
        let other = Ed25519NoteSigner::generate("log.example").expect("generates");
        let wire = sign_note("x\n", &signer).expect("signs").to_note_string();
        let ov = other.verifier();
        assert!(matches!(
            open_note(&wire, &[&ov]),
            Err(NoteError::NoKnownSignature)
        ));
    }

    #[test]
    fn known_key_with_bad_signature_rejects_the_note() {
        let v = spec_verifier();
        // Same name and key ID as the vector, signature bytes flipped.
        let mut note = SignedNote::parse(SPEC_NOTE).expect("parses");
        note.signatures[0].signature[0] ^= 1;
        assert!(matches!(
            open_note(&note.to_note_string(), &[&v]),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn parse_rejections() {
        type Expected = fn(&NoteError) -> bool;
        let cases: &[(&str, Expected)] = &[
            ("text\n\u{2014} k AAAAAAE=\n", |e| {
                matches!(e, NoteError::MissingBlankLine)
            }),
            ("text\n\n", |e| matches!(e, NoteError::NoSignatures)),
            ("text\n\n\u{2014} k AAAAAAE=", |e| {
                matches!(e, NoteError::MissingFinalNewline)
            }),
            ("text\n\n- k AAAAAAE=\n", |e| {
                matches!(e, NoteError::SignatureLineWithoutEmDash)
            }),
            ("text\n\n\u{2014}k AAAAAAE=\n", |e| {
                matches!(e, NoteError::SignatureLineWithoutEmDash)
            }),
            ("text\n\n\u{2014} k !!!\n", |e| {
                matches!(e, NoteError::InvalidSignatureEncoding(_))
            }),
            // Missing padding and non-zero trailing bits are not canonical.
            ("text\n\n\u{2014} k AAAAAAE\n", |e| {
                matches!(e, NoteError::InvalidSignatureEncoding(_))
            }),
            ("text\n\n\u{2014} k AAAAAAF=\n", |e| {
                matches!(e, NoteError::InvalidSignatureEncoding(_))
            }),
            ("text\n\n\u{2014} k AAAA AAE=\n", |e| {
                matches!(e, NoteError::InvalidSignatureEncoding(_))
            }),
            ("text\n\n\u{2014} k AAAAAA==\n", |e| {
                matches!(e, NoteError::SignatureTooShort { len: 4, .. })
            }),
            ("text\n\n\u{2014} a+b AAAAAAE=\n", |e| {
                matches!(e, NoteError::InvalidKeyName(_))
            }),
            ("text\n\n\u{2014}  AAAAAAE=\n", |e| {
                matches!(e, NoteError::InvalidKeyName(_))
            }),
            ("te\rxt\n\n\u{2014} k AAAAAAE=\n", |e| {
                matches!(e, NoteError::ControlCharacter)
            }),
        ];
        for (note, expected) in cases {
            let err = SignedNote::parse(note).expect_err(note);
            assert!(expected(&err), "{note:?} gave {err:?}");
        }
    }

    #[test]
    fn signature_count_is_bounded() {
        let line = "\u{2014} k AAAAAAE=\n";
        let ok = format!("t\n\n{}", line.repeat(MAX_SIGNATURES));
        assert!(SignedNote::parse(&ok).is_ok());
        let too_many = format!("t\n\n{}", line.repeat(MAX_SIGNATURES + 1));
        assert!(matches!(
            SignedNote::parse(&too_many),
            Err(NoteError::TooManySignatures(_))
        ));
    }

    #[test]
    fn key_names() {
        assert!(is_valid_key_name("example.com/foo"));
        assert!(is_valid_key_name("rekor.example.com"));
        for bad in ["", "a b", "a+b", "a\u{00a0}b", "a\u{3000}b", "a\tb"] {
            assert!(!is_valid_key_name(bad), "{bad:?}");
        }
    }
}
