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

/// The note signer of a CT key given as `--ct-key-file`/`--ct-password-file`.
impl From<&crate::cli::CtKeySource> for KeySource {
    fn from(source: &crate::cli::CtKeySource) -> Self {
        KeySource {
            key_file: source.ct_key_file.clone(),
            password_file: source.ct_password_file.clone(),
        }
    }
}

/// Every `CERTIFICATE` block of a PEM file, DER, in file order.
pub fn read_certificates(path: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    CertificateDer::pem_slice_iter(&text)
        .map(|c| {
            c.map(|c| c.as_ref().to_vec())
                .with_context(|| format!("a certificate in {}", path.display()))
        })
        .collect()
}

/// A public key file: PEM `PUBLIC KEY` or DER SubjectPublicKeyInfo.
pub fn read_public_key_der(path: &Path) -> anyhow::Result<Vec<u8>> {
    use rustls_pki_types::SubjectPublicKeyInfoDer;
    use rustls_pki_types::pem::PemObject as _;
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    match SubjectPublicKeyInfoDer::from_pem_slice(&bytes) {
        Ok(key) => Ok(key.as_ref().to_vec()),
        Err(_) => Ok(bytes),
    }
}

/// The CA's signer from its encrypted key file.
pub fn load_ca_signer(
    args: &crate::cli::CaKeyArgs,
) -> anyhow::Result<Box<dyn sigstack_core::certificate::CaSigner>> {
    let pem = std::fs::read_to_string(&args.ca_key_file)
        .with_context(|| format!("reading key file {}", args.ca_key_file.display()))?;
    let password = read_password(&args.ca_password_file)?;
    let der = decrypt_pkcs8_pem(&pem, &password)
        .with_context(|| format!("opening {}", args.ca_key_file.display()))?;
    let signer = sigstack_core::certificate::InMemoryCaSigner::from_pkcs8(der.as_bytes())
        .with_context(|| format!("{}", args.ca_key_file.display()))?;
    Ok(Box::new(signer))
}
