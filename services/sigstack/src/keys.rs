//! `sigstack keys …` and loading keys from their encrypted files.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use sigstack_core::certificate::{CaMaterial, intermediate_for_key, new_hierarchy, new_root};
use sigstack_core::entry::pki::Certificate;
use sigstack_core::key_file::{decrypt_pkcs8_pem, encrypt_pkcs8_pem};
use sigstack_core::note::EcdsaP256NoteSigner;
use sigstack_signer::{SecretBytes, generate_p384, read_secret_file};

use crate::cli::{KeyGenerateArgs, KeyInitArgs, KeySource, Pkcs11InitArgs};

/// A password file's first line (the trailing newline is not part of it).
pub fn read_password(path: &Path) -> anyhow::Result<SecretBytes> {
    read_secret_file(path).context("reading the password file")
}

pub fn generate(args: &KeyGenerateArgs) -> anyhow::Result<()> {
    let password = read_password(&args.password_file)?;
    let (pem, _, log_id) = new_log_key(&password)?;
    write_private(&args.out, pem.as_bytes())?;
    println!(
        "wrote {} (ECDSA P-256, log ID {log_id})",
        args.out.display()
    );
    Ok(())
}

/// A new ECDSA P-256 log key, encrypted; its public key as PEM; its log ID in hex.
fn new_log_key(password: &SecretBytes) -> anyhow::Result<(String, String, String)> {
    let signer = EcdsaP256NoteSigner::generate("key")?;
    let pem = encrypt_pkcs8_pem(&signer.pkcs8_der()?, password.expose())?;
    let public = sigstack_core::entry::pki::PublicKey::from_spki_der(signer.public_key_spki_der())
        .context("reading back a public key just made")?
        .canonical_pem();
    Ok((pem, public, signer.log_id().to_hex()))
}

pub const ROOT_CERT: &str = "ca-root.pem";
pub const ROOT_KEY: &str = "ca-root.key.pem";
pub const INTERMEDIATE_CERT: &str = "ca-intermediate.pem";
pub const INTERMEDIATE_KEY: &str = "ca-intermediate.key.pem";
pub const CHAIN: &str = "ca-chain.pem";
pub const CTLOG_KEY: &str = "ctlog.key.pem";
pub const REKOR_KEY: &str = "rekor.key.pem";
/// The log keys' public halves, for `trust export` and `[ca.ct] public_key_file`.
pub const CTLOG_PUBLIC: &str = "ctlog.pub.pem";
pub const REKOR_PUBLIC: &str = "rekor.pub.pem";

/// `keys init`: the CA hierarchy of ca.md §12.1 and both logs' keys. Every
/// file is new; nothing is generated (in a token either) while any of them
/// already exists.
pub fn init(args: &KeyInitArgs) -> anyhow::Result<()> {
    let password = read_password(&args.password_file)?;
    let hsm = Pkcs11Target::from_args(&args.pkcs11)?;
    init_files(
        &args.out_dir,
        &password,
        &args.common_name,
        args.years,
        hsm.as_ref(),
    )
}

/// The files of `keys init` in `out_dir` (created if missing), every private
/// key encrypted with `password`; the intermediate's key in `hsm` when given.
pub fn init_files(
    out_dir: &Path,
    password: &SecretBytes,
    common_name: &str,
    years: i64,
    hsm: Option<&Pkcs11Target>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let path = |name: &str| out_dir.join(name);
    let mut names = vec![
        ROOT_CERT,
        ROOT_KEY,
        INTERMEDIATE_CERT,
        CHAIN,
        CTLOG_KEY,
        REKOR_KEY,
        CTLOG_PUBLIC,
        REKOR_PUBLIC,
    ];
    if hsm.is_none() {
        names.push(INTERMEDIATE_KEY);
    }
    for name in &names {
        anyhow::ensure!(
            !path(name).exists(),
            "{} exists already: keys init never overwrites",
            path(name).display()
        );
    }

    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let now = i64::try_from(now)?;
    let cn = common_name;
    let (root, intermediate_der, intermediate_key) = match hsm {
        None => {
            let h = new_hierarchy(cn, now, years)?;
            (
                h.root,
                h.intermediate.certificate_der.clone(),
                Some(h.intermediate),
            )
        }
        Some(target) => {
            let root = new_root(cn, now, years)?;
            let pin = read_secret_file(&target.pin_file).context("reading the PIN file")?;
            let key = generate_p384(&target.module, &target.token, pin.expose(), &target.label)?;
            let der = intermediate_for_key(&root, &key.subject_public_key_info, cn, now, years)?;
            println!(
                "made the intermediate's P-384 key in token {:?} of {}: label {:?}, id {}",
                target.token,
                target.module.display(),
                target.label,
                hex::encode(&key.id)
            );
            (root, der, None)
        }
    };
    let root_pem = certificate_pem(&root.certificate_der)?;
    let intermediate_pem = certificate_pem(&intermediate_der)?;

    write_public(&path(ROOT_CERT), &root_pem, "root certificate, P-384")?;
    write_key(
        &path(ROOT_KEY),
        &root,
        password,
        "root key: keep it offline",
    )?;
    write_public(
        &path(INTERMEDIATE_CERT),
        &intermediate_pem,
        "intermediate certificate, P-384",
    )?;
    if let Some(key) = &intermediate_key {
        write_key(
            &path(INTERMEDIATE_KEY),
            key,
            password,
            "intermediate key, the CA's signing key",
        )?;
    }
    let chain = format!("{intermediate_pem}{root_pem}");
    write_public(&path(CHAIN), &chain, "intermediate then root")?;
    for (name, public_name, role) in [
        (CTLOG_KEY, CTLOG_PUBLIC, "CT log key"),
        (REKOR_KEY, REKOR_PUBLIC, "transparency log key"),
    ] {
        let (pem, public, log_id) = new_log_key(password)?;
        write_private(&path(name), pem.as_bytes())?;
        println!(
            "wrote {} ({role}, ECDSA P-256, log ID {log_id})",
            path(name).display()
        );
        write_public(&path(public_name), &public, "its public key")?;
    }
    Ok(())
}

/// Where `--pkcs11-…` asks for the intermediate's key.
pub struct Pkcs11Target {
    module: PathBuf,
    token: String,
    pin_file: PathBuf,
    label: String,
}

impl Pkcs11Target {
    fn from_args(args: &Pkcs11InitArgs) -> anyhow::Result<Option<Self>> {
        // clap requires the other three whenever the module is given.
        let Some(module) = &args.pkcs11_module else {
            return Ok(None);
        };
        let missing = |flag: &str| anyhow::anyhow!("--pkcs11-module needs {flag}");
        Ok(Some(Self {
            module: module.clone(),
            token: args
                .pkcs11_token
                .clone()
                .ok_or_else(|| missing("--pkcs11-token"))?,
            pin_file: args
                .pkcs11_pin_file
                .clone()
                .ok_or_else(|| missing("--pkcs11-pin-file"))?,
            label: args
                .pkcs11_key_label
                .clone()
                .ok_or_else(|| missing("--pkcs11-key-label"))?,
        }))
    }
}

fn certificate_pem(der: &[u8]) -> anyhow::Result<String> {
    Ok(Certificate::from_der(der)
        .context("reading back a certificate just made")?
        .canonical_pem())
}

fn write_key(
    path: &Path,
    key: &CaMaterial,
    password: &SecretBytes,
    what: &str,
) -> anyhow::Result<()> {
    let pem = encrypt_pkcs8_pem(&key.key_pkcs8_der, password.expose())?;
    write_private(path, pem.as_bytes())?;
    println!("wrote {} ({what}, encrypted)", path.display());
    Ok(())
}

/// A new file (certificates are public: the umask decides its mode).
fn write_public(path: &Path, text: &str, what: &str) -> anyhow::Result<()> {
    write_new(path, text.as_bytes(), None)?;
    println!("wrote {} ({what})", path.display());
    Ok(())
}

/// Writes a new file readable by its owner only; refuses to overwrite.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_new(path, bytes, Some(0o600))
}

pub fn write_new(path: &Path, bytes: &[u8], mode: Option<u32>) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if let Some(mode) = mode {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {} (it must not exist)", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// The ECDSA P-256 note signer named `name` from an encrypted key file.
pub fn load_note_signer(source: &KeySource, name: &str) -> anyhow::Result<EcdsaP256NoteSigner> {
    let password = read_password(&source.password_file)?;
    load_note_signer_with(&source.key_file, &password, name)
}

/// [`load_note_signer`] with the password in hand.
pub fn load_note_signer_with(
    key_file: &Path,
    password: &SecretBytes,
    name: &str,
) -> anyhow::Result<EcdsaP256NoteSigner> {
    let pem = std::fs::read_to_string(key_file)
        .with_context(|| format!("reading key file {}", key_file.display()))?;
    let der = decrypt_pkcs8_pem(&pem, password.expose())
        .with_context(|| format!("opening {}", key_file.display()))?;
    EcdsaP256NoteSigner::from_pkcs8(name, der.as_bytes()).with_context(|| {
        format!(
            "{} is not an ECDSA P-256 key (the only v1 log key type every client accepts)",
            key_file.display()
        )
    })
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

/// A CA signer and its DER chain.
pub type CaKey = (Box<dyn sigstack_core::certificate::CaSigner>, Vec<Vec<u8>>);

/// The CA's signer and its chain (signing CA first, root last): the chain
/// from `chain_file`, or the one an ephemeral backend made (only when
/// `allow_ephemeral`, the caller's own word).
pub fn load_ca(
    config: &sigstack_signer::CaKeyConfig,
    allow_ephemeral: bool,
    chain_file: Option<&Path>,
) -> anyhow::Result<CaKey> {
    let key = sigstack_signer::open(config, allow_ephemeral)?;
    let chain = match (key.generated_chain, chain_file) {
        (Some(chain), _) => chain,
        (None, Some(path)) => {
            let chain = read_certificates(path)?;
            anyhow::ensure!(!chain.is_empty(), "{} holds no certificate", path.display());
            chain
        }
        (None, None) => anyhow::bail!("ca.chain_file names the CA's certificate chain"),
    };
    Ok((key.signer, chain))
}
