//! Passwords and PINs come from files (style.md practice 10).

use std::path::Path;

use zeroize::Zeroizing;

use crate::SignerError;

/// A password or PIN: wiped when dropped, never printed.
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBytes(<redacted>)")
    }
}

/// The first line of `path` (without its line ending), which must not be
/// empty.
///
/// # Errors
/// [`SignerError::Read`] or [`SignerError::EmptySecret`].
pub fn read_secret_file(path: &Path) -> Result<SecretBytes, SignerError> {
    let text = Zeroizing::new(std::fs::read(path).map_err(|source| SignerError::Read {
        path: path.to_owned(),
        source,
    })?);
    let line = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Err(SignerError::EmptySecret {
            path: path.to_owned(),
        });
    }
    Ok(SecretBytes(Zeroizing::new(line.to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_only_and_never_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pw");
        std::fs::write(&path, b"s3cret\r\nsecond line\n").expect("write");
        let secret = read_secret_file(&path).expect("read");
        assert_eq!(secret.expose(), b"s3cret");
        assert_eq!(format!("{secret:?}"), "SecretBytes(<redacted>)");
        std::fs::write(&path, b"\nafter an empty line\n").expect("write");
        let err = read_secret_file(&path).expect_err("empty first line");
        assert!(matches!(err, SignerError::EmptySecret { .. }), "{err}");
        assert!(err.to_string().contains(&path.display().to_string()));
        let missing = dir.path().join("missing");
        let err = read_secret_file(&missing).expect_err("missing");
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
