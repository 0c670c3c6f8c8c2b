//! Starts of `sigstack up` that must fail: port in use, an unwritable data
//! directory, a data directory from a newer sigstack, a corrupt key file.
//! Each exits 1 with exactly one line on stderr, and no panic.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sigstack_e2e::sigstack_bin;
use sigstack_e2e::up::{Up, free_port};

/// Runs `sigstack up ARGS` and expects it to fail within 30 s: exit code
/// 1 (no panic, no signal) and exactly one line on stderr, returned.
fn failed_start(data_dir: &Path, port: u16) -> String {
    let mut child = Command::new(sigstack_bin())
        .args(["up", "--data-dir"])
        .arg(data_dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sigstack up");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("sigstack up did not fail within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert_eq!(status.code(), Some(1), "exit 1: {status}; stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    lines[0].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_starts_fail_with_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");

    // Port in use: and nothing is written.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let fresh = dir.path().join("fresh");
    let line = failed_start(&fresh, port);
    assert!(
        line.contains(&format!("binding 127.0.0.1:{port}")),
        "{line}"
    );
    assert!(!fresh.exists(), "no data directory for a start that failed");
    drop(taken);

    // Unwritable data directory: its parent is a file.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").expect("write");
    let line = failed_start(&file.join("data"), free_port());
    assert!(
        line.contains(&file.join("data").display().to_string()),
        "{line}"
    );
    assert!(line.contains("Not a directory"), "{line}");

    // A data directory from a newer sigstack.
    let newer = dir.path().join("newer");
    std::fs::create_dir(&newer).expect("mkdir");
    std::fs::write(
        newer.join("sigstack-data.json"),
        br#"{"format_version": 99, "something_new": true}"#,
    )
    .expect("write");
    let line = failed_start(&newer, free_port());
    assert!(line.contains("format version 99"), "{line}");
    assert!(line.contains("newer sigstack"), "{line}");

    // A corrupt key file in a data directory that started once.
    let data = dir.path().join("data");
    let port = free_port();
    Up::start(&data, port).await.kill();
    let key = data.join("keys").join("ctlog.key.pem");
    std::fs::write(&key, b"-----BEGIN ENCRYPTED PRIVATE KEY-----\ngarbage\n").expect("write");
    let line = failed_start(&data, port);
    assert!(line.contains("ctlog.key.pem"), "{line}");
}
