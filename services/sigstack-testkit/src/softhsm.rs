//! A fresh SoftHSM2 token per test, for the PKCS#11 tests.
//!
//! SoftHSM2 reads its token directory from `SOFTHSM2_CONF` once, at
//! `C_Initialize`, and a module is initialised once per process; setting
//! the variable inside a test process would race the other tests (and is
//! `unsafe`). So [`in_fresh_token`] makes the token in the test process,
//! with `softhsm2-util`, then runs the test's body in a child: the same test
//! executable re-run on that one test, with `SOFTHSM2_CONF` set for the
//! child alone. The parent fails unless the child ran exactly that test and
//! it passed. Without SoftHSM2 the test fails, naming the Debian package;
//! it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `scripts/test` says the module is; the Debian path otherwise.
pub const MODULE_VAR: &str = "SIGSTACK_TEST_PKCS11_MODULE";
/// The module as Debian's `softhsm2` package installs it.
pub const DEBIAN_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The label of the token each test gets.
pub const TOKEN_LABEL: &str = "sigstack-test";
/// The token's user PIN (also in [`SoftHsmToken::pin_file`]).
pub const USER_PIN: &str = "4711-user-pin";
const SO_PIN: &str = "0815-so-pin";
/// Set in the child to the token directory; its absence marks the parent.
const CHILD_VAR: &str = "SIGSTACK_TEST_SOFTHSM_DIR";

/// The token a test body runs against.
#[derive(Debug, Clone)]
pub struct SoftHsmToken {
    pub module: PathBuf,
    /// The `SOFTHSM2_CONF` file naming this token's directory.
    pub conf: PathBuf,
    /// A file holding [`USER_PIN`].
    pub pin_file: PathBuf,
    /// The slot ID SoftHSM2 gave the token.
    pub slot: u64,
    /// A directory the body may write to; removed after the test.
    pub scratch: PathBuf,
}

impl SoftHsmToken {
    /// Points `command` at this token (children of the body inherit it too).
    pub fn configure<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        command.env("SOFTHSM2_CONF", &self.conf)
    }
}

/// The SoftHSM2 module.
///
/// # Panics
/// When it is not installed: the PKCS#11 tests never skip.
pub fn module() -> PathBuf {
    let module = std::env::var_os(MODULE_VAR)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEBIAN_MODULE), PathBuf::from);
    assert!(
        module.exists(),
        "the SoftHSM2 PKCS#11 module {} is missing: install the Debian package softhsm2 \
         (`apt-get install softhsm2`; scripts/test does), or set {MODULE_VAR} to the module",
        module.display()
    );
    module
}

/// Runs `body` against a new, initialised SoftHSM2 token of its own, in a
/// child process (see the module doc). `test_name` is the calling test's
/// name as the harness knows it (`module::test` for a test in a module).
///
/// # Panics
/// When SoftHSM2 is missing, the token cannot be made, or the body fails.
pub fn in_fresh_token(test_name: &str, body: impl FnOnce(&SoftHsmToken)) {
    if let Some(dir) = std::env::var_os(CHILD_VAR) {
        let dir = PathBuf::from(dir);
        body(&token_in(&dir, read_slot(&dir)));
        return;
    }
    let module = module();
    let dir = tempfile::tempdir().expect("temp dir");
    let token = make_token(dir.path(), &module);
    let exe = std::env::current_exe().expect("test executable");
    let output = Command::new(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads", "1"])
        .env("SOFTHSM2_CONF", &token.conf)
        .env(MODULE_VAR, &module)
        .env(CHILD_VAR, dir.path())
        .output()
        .expect("running the test in a child process");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Shown by the harness when this test fails (or with --nocapture).
    println!("--- child stdout ---\n{stdout}\n--- child stderr ---\n{stderr}");
    assert!(
        output.status.success(),
        "the test failed in its child process"
    );
    assert!(
        stdout.contains("test result: ok. 1 passed;"),
        "the child did not run exactly {test_name:?}: is that the test's full name?"
    );
}

fn token_in(dir: &Path, slot: u64) -> SoftHsmToken {
    SoftHsmToken {
        module: module(),
        conf: dir.join("softhsm2.conf"),
        pin_file: dir.join("user.pin"),
        slot,
        scratch: dir.join("scratch"),
    }
}

fn read_slot(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("slot"))
        .expect("slot file")
        .trim()
        .parse()
        .expect("slot number")
}

fn make_token(dir: &Path, module: &Path) -> SoftHsmToken {
    let tokens = dir.join("tokens");
    std::fs::create_dir(&tokens).expect("token dir");
    std::fs::create_dir(dir.join("scratch")).expect("scratch dir");
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .expect("softhsm2.conf");
    std::fs::write(dir.join("user.pin"), format!("{USER_PIN}\n")).expect("pin file");
    let output = Command::new("softhsm2-util")
        .args(["--module"])
        .arg(module)
        .args(["--init-token", "--free", "--label", TOKEN_LABEL])
        .args(["--so-pin", SO_PIN, "--pin", USER_PIN])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "running softhsm2-util: {e}: install the Debian package softhsm2 \
                 (`apt-get install softhsm2`; scripts/test does)"
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "softhsm2-util --init-token failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // "The token has been initialized and is reassigned to slot 1032498813"
    let slot: u64 = stdout
        .split_whitespace()
        .last()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no slot number in softhsm2-util's answer: {stdout}"));
    std::fs::write(dir.join("slot"), slot.to_string()).expect("slot file");
    token_in(dir, slot)
}
