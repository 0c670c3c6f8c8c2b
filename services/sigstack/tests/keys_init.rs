//! `sigstack keys init`, run as the built binary: the files it writes, their
//! modes, and the hierarchy checked by `openssl verify`; with the
//! intermediate's key in a SoftHSM2 token too.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sigstack_core::certificate::CertificateAuthority;
use sigstack_core::entry::pki::VerificationMaterial;
use sigstack_core::key_file::decrypt_pkcs8_pem;
use sigstack_core::note::EcdsaP256NoteSigner;
use sigstack_signer::{CaKeyConfig, Pkcs11Config, open};
use sigstack_testkit::softhsm::{TOKEN_LABEL, in_fresh_token};

const PASSWORD: &str = "correct horse battery staple";
const FILES: [&str; 7] = [
    "ca-root.pem",
    "ca-root.key.pem",
    "ca-intermediate.pem",
    "ca-intermediate.key.pem",
    "ca-chain.pem",
    "ctlog.key.pem",
    "rekor.key.pem",
];
const PRIVATE: [&str; 4] = [
    "ca-root.key.pem",
    "ca-intermediate.key.pem",
    "ctlog.key.pem",
    "rekor.key.pem",
];

fn keys_init(dir: &Path, extra: &[&str], configure: impl FnOnce(&mut Command)) -> Output {
    let password_file = dir.join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).expect("password file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_sigstack"));
    command
        .args(["keys", "init", "--out-dir"])
        .arg(dir.join("ca"))
        .arg("--password-file")
        .arg(&password_file)
        .args(["--common-name", "Example CA", "--years", "3"])
        .args(extra);
    configure(&mut command);
    command.output().expect("sigstack runs")
}

fn succeeded(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "keys init failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn openssl_verify(ca_file: &Path, untrusted: Option<&Path>, cert: &Path) {
    let mut command = Command::new("openssl");
    command.arg("verify").arg("-CAfile").arg(ca_file);
    if let Some(untrusted) = untrusted {
        command
            .args(["-purpose", "any", "-untrusted"])
            .arg(untrusted);
    }
    let output = command.arg(cert).output().expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl verify: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn certificates(path: &Path) -> Vec<Vec<u8>> {
    let text = std::fs::read(path).expect("read pem");
    VerificationMaterial::parse_pem(&text)
        .expect("parses")
        .certificates()
        .into_iter()
        .map(|c| c.der().to_vec())
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

fn decrypt(path: &Path) -> Vec<u8> {
    let pem = std::fs::read_to_string(path).expect("read key");
    decrypt_pkcs8_pem(&pem, PASSWORD.as_bytes())
        .expect("decrypts with the password")
        .as_bytes()
        .to_vec()
}

#[test]
fn keys_init_writes_a_hierarchy_openssl_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stdout = succeeded(&keys_init(dir.path(), &[], |_| {}));
    let ca = dir.path().join("ca");
    for name in FILES {
        assert!(
            stdout.contains(&ca.join(name).display().to_string()),
            "{name}: {stdout}"
        );
    }
    for name in PRIVATE {
        assert_eq!(mode(&ca.join(name)), 0o600, "{name}");
    }
    openssl_verify(
        &ca.join("ca-root.pem"),
        None,
        &ca.join("ca-intermediate.pem"),
    );

    let root = certificates(&ca.join("ca-root.pem"));
    let intermediate = certificates(&ca.join("ca-intermediate.pem"));
    assert_eq!(
        certificates(&ca.join("ca-chain.pem")),
        [intermediate[0].clone(), root[0].clone()],
        "the chain is intermediate, then root"
    );
    // Each key opens with the password and belongs to its certificate.
    CertificateAuthority::from_der(&root[0], &decrypt(&ca.join("ca-root.key.pem")))
        .expect("root key matches");
    let signer = open(
        &CaKeyConfig::File {
            key_file: ca.join("ca-intermediate.key.pem"),
            password_file: dir.path().join("password"),
        },
        false,
    )
    .expect("the file backend opens it");
    CertificateAuthority::new(&intermediate[0], signer.signer).expect("intermediate key matches");
    for name in ["ctlog.key.pem", "rekor.key.pem"] {
        EcdsaP256NoteSigner::from_pkcs8("log", &decrypt(&ca.join(name))).expect("P-256 log key");
    }

    // A second run refuses and leaves every file as it was.
    let before: Vec<Vec<u8>> = FILES
        .iter()
        .map(|n| std::fs::read(ca.join(n)).expect("read"))
        .collect();
    let again = keys_init(dir.path(), &[], |_| {});
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("exists already"), "{stderr}");
    let after: Vec<Vec<u8>> = FILES
        .iter()
        .map(|n| std::fs::read(ca.join(n)).expect("read"))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn keys_init_can_make_the_intermediate_key_in_a_token() {
    in_fresh_token(
        "keys_init_can_make_the_intermediate_key_in_a_token",
        |token| {
            let dir = &token.scratch;
            let module = token.module.display().to_string();
            let pin_file = token.pin_file.display().to_string();
            let label = "ca-intermediate";
            let stdout = succeeded(&keys_init(
                dir,
                &[
                    "--pkcs11-module",
                    &module,
                    "--pkcs11-token",
                    TOKEN_LABEL,
                    "--pkcs11-pin-file",
                    &pin_file,
                    "--pkcs11-key-label",
                    label,
                ],
                |command| {
                    token.configure(command);
                },
            ));
            let ca: PathBuf = dir.join("ca");
            assert!(stdout.contains(TOKEN_LABEL), "{stdout}");
            assert!(
                !ca.join("ca-intermediate.key.pem").exists(),
                "the key stays in the token"
            );
            for name in ["ca-root.key.pem", "ctlog.key.pem", "rekor.key.pem"] {
                assert_eq!(mode(&ca.join(name)), 0o600, "{name}");
            }
            openssl_verify(
                &ca.join("ca-root.pem"),
                None,
                &ca.join("ca-intermediate.pem"),
            );

            // The certificate is the token key's: the CA opens over it and its
            // leaves verify up to the root.
            let intermediate = certificates(&ca.join("ca-intermediate.pem"));
            let key = open(
                &CaKeyConfig::Pkcs11(Pkcs11Config {
                    module: token.module.clone(),
                    token_label: Some(TOKEN_LABEL.into()),
                    slot: None,
                    pin_file: token.pin_file.clone(),
                    key_label: Some(label.into()),
                    key_id: None,
                    sessions: None,
                }),
                false,
            )
            .expect("opens the token key");
            CertificateAuthority::new(&intermediate[0], key.signer)
                .expect("cert matches the token key");
        },
    );
}
