//! `sigstack keys …` and loading keys from their encrypted files.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use sigstack_core::key_file::{decrypt_pkcs8_pem, encrypt_pkcs8_pem};
use sigstack_core::note::EcdsaP256NoteSigner;

use crate::cli::{KeyGenerateArgs, KeySource};

/// A password file's first line (the trailing newline is not part of it).
fn read_password(path: &Path) -> anyhow::Result<Vec<u8>> {
    let text =
        std::fs::read(path).with_context(|| format!("reading password file {}", path.display()))?;
    let line = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    anyhow::ensure!(
        !line.is_empty(),
        "password file {} is empty",
        path.display()
    );
    Ok(line.to_vec())
}

pub fn generate(args: &KeyGenerateArgs) -> anyhow::Result<()> {
    let password = read_password(&args.password_file)?;
    let signer = EcdsaP256NoteSigner::generate("key")?;
    let pem = encrypt_pkcs8_pem(&signer.pkcs8_der()?, &password)?;
    write_private(&args.out, pem.as_bytes())?;
    println!(
        "wrote {} (ECDSA P-256, log ID {})",
        args.out.display(),
        signer.log_id().to_hex()
    );
    Ok(())
}

/// Writes a new file readable by its owner only; refuses to overwrite.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {} (it must not exist)", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// The ECDSA P-256 note signer named `name` from an encrypted key file.
pub fn load_note_signer(source: &KeySource, name: &str) -> anyhow::Result<EcdsaP256NoteSigner> {
    let pem = std::fs::read_to_string(&source.key_file)
        .with_context(|| format!("reading key file {}", source.key_file.display()))?;
    let password = read_password(&source.password_file)?;
    let der = decrypt_pkcs8_pem(&pem, &password)
        .with_context(|| format!("opening {}", source.key_file.display()))?;
    EcdsaP256NoteSigner::from_pkcs8(name, der.as_bytes()).with_context(|| {
        format!(
            "{} is not an ECDSA P-256 key (the only v1 log key type every client accepts)",
            source.key_file.display()
        )
    })
}
