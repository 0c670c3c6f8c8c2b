//! Checkpoints: the signed tree head as a C2SP signed note
//! (`c2sp.org/tlog-checkpoint`, log.md §4.2) and in Rekor v1's shape
//! (log.md §4.1: origin `<hostname> - <treeID>`, key name = hostname).
//!
//! The text is strict and canonical (log.md §4.3, consequence 1): size in
//! decimal without leading zeros, root in padded standard base64 of exactly
//! 32 bytes, `\n` endings, no empty line. Anything else is refused, so the
//! text re-marshals byte for byte, which sigstore-rs relies on when it
//! verifies over its own re-marshalled note.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::hash::Hash;
use crate::ids::{TreeId, TreeSize};
use crate::note::{self, NoteError, NoteSigner, NoteVerifier};

/// A tree head: origin, size, root, and opaque extension lines (NOT
/// RECOMMENDED by tlog-checkpoint §Note text; Rekor v1 emits none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: TreeSize,
    pub root: Hash,
    pub extensions: Vec<String>,
}

/// Raised when a checkpoint text is malformed or its note does not verify.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint text must end with a newline")]
    MissingFinalNewline,
    #[error("checkpoint text contains a control character other than newline")]
    ControlCharacter,
    #[error("checkpoint text has {0} lines, fewer than origin, size and root")]
    TooFewLines(usize),
    #[error("checkpoint line {0} is empty")]
    EmptyLine(usize),
    #[error("tree size {0:?} is not canonical decimal")]
    InvalidSize(String),
    #[error("root hash is not canonical standard base64")]
    InvalidRootEncoding,
    #[error("root hash has {0} bytes, not 32")]
    InvalidRootLength(usize),
    #[error("checkpoint fields do not form a canonical text")]
    NotCanonical,
    #[error("invalid log hostname {0:?}: must be non-empty, without spaces or '+'")]
    InvalidHostname(String),
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// The Rekor v1 origin line, `<hostname> - <treeID decimal>` (log.md §4.1).
/// sigstore-go recognises a v1 checkpoint by exactly this shape. The key
/// name for Rekor v1 is the hostname alone, not this origin.
///
/// # Errors
/// [`CheckpointError::InvalidHostname`] when `hostname` could not also be
/// the key name (empty, spaces, `+`).
pub fn rekor_v1_origin(hostname: &str, tree: TreeId) -> Result<String, CheckpointError> {
    if !note::is_valid_key_name(hostname) {
        return Err(CheckpointError::InvalidHostname(hostname.to_owned()));
    }
    Ok(format!("{hostname} - {tree}"))
}

/// Signs `cp` as a note with exactly one signature line (log.md §4.3,
/// consequence 2).
///
/// # Errors
/// [`CheckpointError::NotCanonical`] (or the parse error) when the fields
/// would not print a text that parses back to them, e.g. an origin with a
/// newline; [`CheckpointError::Note`] when signing fails.
pub fn sign_checkpoint(
    cp: &Checkpoint,
    signer: &dyn NoteSigner,
) -> Result<String, CheckpointError> {
    let text = cp.to_note_text();
    // The fields are public, so check here that what we sign is what any
    // verifier will parse back; the log never signs a text it would refuse.
    if Checkpoint::parse_note_text(&text)? != *cp {
        return Err(CheckpointError::NotCanonical);
    }
    Ok(note::sign_note(&text, signer)?.to_note_string())
}

/// Verifies `note` with the log's key and parses its text. Signatures by
/// other keys (witnesses, a rotated key) are ignored, per signed-note. The
/// key name is not compared with the origin: in Rekor v1 they differ.
///
/// # Errors
/// [`CheckpointError::Note`] when the note is malformed or not signed by
/// `verifier`; the other variants when its text is not a canonical checkpoint.
pub fn open_checkpoint(
    note: &str,
    verifier: &dyn NoteVerifier,
) -> Result<Checkpoint, CheckpointError> {
    let opened = note::open_note(note, &[verifier])?;
    Checkpoint::parse_note_text(opened.text())
}

impl Checkpoint {
    /// The note text: origin, size, base64 root, extension lines, each
    /// ending in `\n`.
    pub fn to_note_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Parses a note text strictly (tlog-checkpoint §Note text, log.md §4.3).
    ///
    /// # Errors
    /// [`CheckpointError`] for anything but a canonical checkpoint text.
    pub fn parse_note_text(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        if body.chars().any(|c| c.is_control() && c != '\n') {
            return Err(CheckpointError::ControlCharacter);
        }
        let lines: Vec<&str> = body.split('\n').collect();
        if let Some(i) = lines.iter().position(|l| l.is_empty()) {
            return Err(CheckpointError::EmptyLine(i + 1));
        }
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::TooFewLines(lines.len()));
        };
        Ok(Checkpoint {
            origin: (*origin).to_owned(),
            size: parse_size(size)?,
            root: parse_root(root)?,
            extensions: extensions.iter().map(|l| (*l).to_owned()).collect(),
        })
    }
}

/// ASCII digits only (`u64::from_str` would take a `+`), no leading zero but
/// for the empty tree's `0`.
fn parse_size(line: &str) -> Result<TreeSize, CheckpointError> {
    let invalid = || CheckpointError::InvalidSize(line.to_owned());
    let canonical =
        line.bytes().all(|b| b.is_ascii_digit()) && (line == "0" || !line.starts_with('0'));
    if !canonical {
        return Err(invalid());
    }
    line.parse::<u64>()
        .map(TreeSize::new)
        .map_err(|_| invalid())
}

fn parse_root(line: &str) -> Result<Hash, CheckpointError> {
    // STANDARD requires canonical padding and zero trailing bits.
    let bytes = STANDARD
        .decode(line)
        .map_err(|_| CheckpointError::InvalidRootEncoding)?;
    Hash::from_slice(&bytes).map_err(|e| CheckpointError::InvalidRootLength(e.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::EMPTY_ROOT;
    use crate::note::{EM_DASH, EcdsaP256NoteSigner, EcdsaP256NoteVerifier, Ed25519NoteSigner};

    fn example() -> Checkpoint {
        Checkpoint {
            origin: "example.com/log".to_owned(),
            size: TreeSize::new(1235),
            root: Hash([7u8; 32]),
            extensions: vec![],
        }
    }

    #[test]
    fn text_round_trips() {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::parse_note_text(text).expect("parses");
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, TreeSize::new(20852163));
        assert_eq!(cp.to_note_text(), text);
        let with_ext = format!("{text}ext one\next two\n");
        let cp = Checkpoint::parse_note_text(&with_ext).expect("parses");
        assert_eq!(cp.extensions, ["ext one", "ext two"]);
        assert_eq!(cp.to_note_text(), with_ext);
        let empty = format!("o\n0\n{}\n", EMPTY_ROOT.to_base64());
        assert_eq!(
            Checkpoint::parse_note_text(&empty).expect("parses").size,
            TreeSize::ZERO
        );
    }

    #[test]
    fn text_rejections() {
        let root = Hash([1u8; 32]).to_base64();
        let short_root = STANDARD.encode([1u8; 31]);
        let unpadded = root.trim_end_matches('=').to_owned();
        // 0xfb bytes encode to "+/v7…" in standard base64, "-_v7…" in URL-safe.
        let url_safe = base64::engine::general_purpose::URL_SAFE.encode([0xfb; 32]);
        type Expected = fn(&CheckpointError) -> bool;
        let cases: Vec<(String, Expected)> = vec![
            (format!("o\n007\n{root}\n"), |e| {
                matches!(e, CheckpointError::InvalidSize(_))
            }),
            (format!("o\n+7\n{root}\n"), |e| {
                matches!(e, CheckpointError::InvalidSize(_))
            }),
            (format!("o\n-1\n{root}\n"), |e| {
                matches!(e, CheckpointError::InvalidSize(_))
            }),
            (format!("o\n 7\n{root}\n"), |e| {
                matches!(e, CheckpointError::InvalidSize(_))
            }),
            (format!("o\n18446744073709551616\n{root}\n"), |e| {
                matches!(e, CheckpointError::InvalidSize(_))
            }),
            (format!("o\n7\n{short_root}\n"), |e| {
                matches!(e, CheckpointError::InvalidRootLength(31))
            }),
            (format!("o\n7\n{unpadded}\n"), |e| {
                matches!(e, CheckpointError::InvalidRootEncoding)
            }),
            (format!("o\n7\n{}\n", url_safe), |e| {
                matches!(e, CheckpointError::InvalidRootEncoding)
            }),
            (format!("o\n7\n{root}"), |e| {
                matches!(e, CheckpointError::MissingFinalNewline)
            }),
            (format!("o\r\n7\n{root}\n"), |e| {
                matches!(e, CheckpointError::ControlCharacter)
            }),
            (format!("\n7\n{root}\n"), |e| {
                matches!(e, CheckpointError::EmptyLine(1))
            }),
            (format!("o\n7\n{root}\n\next\n"), |e| {
                matches!(e, CheckpointError::EmptyLine(4))
            }),
            ("o\n7\n".to_owned(), |e| {
                matches!(e, CheckpointError::TooFewLines(2))
            }),
        ];
        for (text, expected) in &cases {
            let err = Checkpoint::parse_note_text(text).expect_err(text);
            assert!(expected(&err), "{text:?} gave {err:?}");
        }
    }

    #[test]
    fn sign_then_open_both_key_types() {
        let cp = example();
        let ed = Ed25519NoteSigner::generate("example.com/log").expect("generates");
        let ec = EcdsaP256NoteSigner::generate("example.com/log").expect("generates");
        let note = sign_checkpoint(&cp, &ed).expect("signs");
        assert_eq!(open_checkpoint(&note, &ed.verifier()).expect("opens"), cp);
        let note = sign_checkpoint(&cp, &ec).expect("signs");
        assert_eq!(open_checkpoint(&note, &ec.verifier()).expect("opens"), cp);
        // The other key is unknown, so nothing verifies.
        assert!(matches!(
            open_checkpoint(&note, &ed.verifier()),
            Err(CheckpointError::Note(NoteError::NoKnownSignature))
        ));
    }

    #[test]
    fn sign_refuses_non_canonical_fields() {
        let ed = Ed25519NoteSigner::generate("k").expect("generates");
        for cp in [
            Checkpoint {
                origin: "a\nb".to_owned(),
                ..example()
            },
            Checkpoint {
                origin: String::new(),
                ..example()
            },
            Checkpoint {
                extensions: vec![String::new()],
                ..example()
            },
            Checkpoint {
                extensions: vec!["x\ny".to_owned()],
                ..example()
            },
        ] {
            assert!(sign_checkpoint(&cp, &ed).is_err(), "{cp:?}");
        }
    }

    #[test]
    fn rekor_v1_shape() {
        let host = "rekor.example.com";
        let tree = TreeId::new(8050909264565447525).expect("positive");
        let origin = rekor_v1_origin(host, tree).expect("valid host");
        assert_eq!(origin, "rekor.example.com - 8050909264565447525");
        let signer = EcdsaP256NoteSigner::generate(host).expect("generates");
        let cp = Checkpoint {
            origin,
            ..example()
        };
        let note = sign_checkpoint(&cp, &signer).expect("signs");

        let head = format!(
            "{host} - 8050909264565447525\n1235\n{}\n\n{EM_DASH} {host} ",
            cp.root.to_base64()
        );
        let blob = note
            .strip_prefix(&head)
            .and_then(|rest| rest.strip_suffix('\n'))
            .expect("v1 shape: text, blank line, one signature line by the hostname");
        assert!(!blob.contains(['\n', ' ']));
        let blob = STANDARD.decode(blob).expect("base64");
        // Key hint = logID[:4]; then an ASN.1 DER SEQUENCE{r, s}.
        assert_eq!(blob[..4], signer.log_id().0[..4]);
        assert_eq!(blob[4], 0x30);
        assert_eq!(
            open_checkpoint(&note, &signer.verifier()).expect("opens"),
            cp
        );
    }

    #[test]
    fn rekor_v1_hostname_is_checked() {
        let tree = TreeId::new(1).expect("positive");
        for bad in ["", "a b", "a+b"] {
            assert!(matches!(
                rekor_v1_origin(bad, tree),
                Err(CheckpointError::InvalidHostname(_))
            ));
        }
    }

    // A production checkpoint of rekor.sigstore.dev, verified with its
    // published key (GET /api/v1/log/publicKey): a v1 vector we did not sign.
    const PUBLIC_GOOD_SPKI: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwrkBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==";
    const PUBLIC_GOOD_CHECKPOINT: &str = "rekor.sigstore.dev - 1193050959916656506\n151165654\nmQzjnEcka/8RktFYpvWYHha4kQcfzNVgTAMmg4OghL8=\n\n\u{2014} rekor.sigstore.dev wNI9ajBFAiEA/3AFziktWhi/OYoqavWWSpVZC/EBTw2nZPltb200J1oCIG4JmkmTXrItmU4bUeJiYjTWAzwIvTO0ISB7OrbIadgC\n";

    #[test]
    fn public_good_rekor_checkpoint_verifies() {
        let spki = STANDARD.decode(PUBLIC_GOOD_SPKI).expect("base64");
        let v = EcdsaP256NoteVerifier::from_spki_der("rekor.sigstore.dev", &spki).expect("P-256");
        assert_eq!(
            v.log_id().to_hex(),
            "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
        );
        let cp = open_checkpoint(PUBLIC_GOOD_CHECKPOINT, &v).expect("verifies");
        assert_eq!(cp.origin, "rekor.sigstore.dev - 1193050959916656506");
        assert_eq!(cp.size, TreeSize::new(151165654));
        assert_eq!(
            cp.root.to_hex(),
            "990ce39c47246bff1192d158a6f5981e16b891071fccd5604c03268383a084bf"
        );
        let parsed = note::SignedNote::parse(PUBLIC_GOOD_CHECKPOINT).expect("parses");
        assert_eq!(parsed.to_note_string(), PUBLIC_GOOD_CHECKPOINT);
        let tampered = PUBLIC_GOOD_CHECKPOINT.replace("151165654", "151165655");
        assert!(matches!(
            open_checkpoint(&tampered, &v),
            Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
        ));
    }
}
