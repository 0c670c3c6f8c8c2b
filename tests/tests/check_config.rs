//! `sigstack check-config` on the example configs of `deploy/config/` and
//! on every sigstack config embedded in the plain Kubernetes manifests: each
//! is accepted; a copy with one unknown key, or one mistyped value, is
//! refused with the key named; an environment override is applied.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sigstack_e2e::serve::{migrate, repo_root};
use sigstack_e2e::sigstack_bin;

fn check(file: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(sigstack_bin());
    command.args(["check-config"]).arg(file);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run sigstack check-config")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("deploy/config"))
        .expect("deploy/config")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Inserts `line` right after the first line that starts with `after`.
fn with_line_after(text: &str, after: &str, line: &str) -> String {
    let mut out = String::new();
    let mut done = false;
    for l in text.lines() {
        out.push_str(l);
        out.push('\n');
        if !done && l.starts_with(after) {
            out.push_str(line);
            out.push('\n');
            done = true;
        }
    }
    assert!(done, "no line starting with {after:?}");
    out
}

#[test]
fn every_example_config_is_accepted() {
    let files = examples();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["ca.toml", "ct.toml", "log.toml"]);
    for file in &files {
        let out = check(file, &[]);
        assert!(out.status.success(), "{}: {}", file.display(), stderr(&out));
        let kind = file.file_stem().expect("stem").to_string_lossy();
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&format!("a valid {kind} config")),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// The systemd units' configs (deploy/systemd/*.toml) load too.
#[test]
fn the_systemd_configs_are_accepted() {
    let mut found = 0;
    for entry in std::fs::read_dir(repo_root().join("deploy/systemd")).expect("deploy/systemd") {
        let file = entry.expect("entry").path();
        if file.extension().is_some_and(|e| e == "toml") {
            let out = check(&file, &[]);
            assert!(out.status.success(), "{}: {}", file.display(), stderr(&out));
            found += 1;
        }
    }
    assert_eq!(found, 3);
}

#[test]
fn one_unknown_key_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    for file in examples() {
        let text = std::fs::read_to_string(&file).expect("example");
        for (after, key, named) in [
            ("[server]", "listen_backlog = 5", "server.listen_backlog"),
            ("[database]", "pool = 3", "database.pool"),
            ("[telemetry]", "colour = true", "telemetry.colour"),
            ("service", "servise = \"log\"", "servise"),
        ] {
            let copy = dir.path().join(file.file_name().expect("name"));
            std::fs::write(&copy, with_line_after(&text, after, key)).expect("copy");
            let out = check(&copy, &[]);
            assert!(!out.status.success(), "{} accepted {key}", file.display());
            let err = stderr(&out);
            assert!(err.contains(named), "{}: {err}", file.display());
            assert!(err.contains("unknown field"), "{err}");
            assert_eq!(err.lines().count(), 1, "one line: {err}");
        }
    }
    // A key of the service's own section, and one nested two deep.
    let ca = std::fs::read_to_string(repo_root().join("deploy/config/ca.toml")).expect("ca");
    let copy = dir.path().join("ca.toml");
    std::fs::write(
        &copy,
        with_line_after(&ca, "[ca.key]", "pasword_file = \"x\""),
    )
    .expect("copy");
    let err = stderr(&check(&copy, &[]));
    assert!(err.contains("ca.key.pasword_file"), "{err}");
    std::fs::write(&copy, with_line_after(&ca, "[ca.ct]", "origni = \"x\"")).expect("copy");
    let err = stderr(&check(&copy, &[]));
    assert!(err.contains("ca.ct.origni"), "{err}");
}

#[test]
fn one_mistyped_field_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        (
            "log.toml",
            "max_batch = 256",
            "max_batch = \"lots\"",
            "log.max_batch",
        ),
        (
            "log.toml",
            "listen = \"0.0.0.0:3000\"",
            "listen = 3000",
            "server.listen",
        ),
        (
            "ca.toml",
            "backend = \"file\"",
            "backend = \"vault\"",
            "ca.key.backend",
        ),
        (
            "ca.toml",
            "max_connections = 16",
            "max_connections = -1",
            "database.max_connections",
        ),
        (
            "ct.toml",
            "shutdown_timeout_secs = 30",
            "shutdown_timeout_secs = \"30s\"",
            "server.shutdown_timeout_secs",
        ),
        (
            "ct.toml",
            "service = \"ct\"",
            "service = \"tsa\"",
            "service",
        ),
    ];
    for (name, good, bad, named) in cases {
        let text =
            std::fs::read_to_string(repo_root().join("deploy/config").join(name)).expect("example");
        assert!(text.contains(good), "{name} has no {good:?}");
        let copy = dir.path().join(name);
        std::fs::write(&copy, text.replacen(good, bad, 1)).expect("copy");
        let out = check(&copy, &[]);
        assert!(!out.status.success(), "{name} accepted {bad}");
        let err = stderr(&out);
        assert!(err.contains(named), "{name}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn environment_overrides_apply_and_are_named() {
    let log = repo_root().join("deploy/config/log.toml");
    let out = check(&log, &[("SIGSTACK_LOG__MAX_BATCH", "many")]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("log.max_batch") && err.contains("SIGSTACK_LOG__MAX_BATCH"),
        "{err}"
    );
    // Overriding the URL file with a URL leaves both set: refused by name.
    let out = check(
        &log,
        &[("SIGSTACK_DATABASE__URL", "postgres://db/sigstack")],
    );
    assert!(
        stderr(&out).contains("exactly one of url and url_file"),
        "{}",
        stderr(&out)
    );
    // A valid override is taken, and non-config SIGSTACK_ variables are not keys.
    let out = check(
        &log,
        &[
            ("SIGSTACK_LOG__MAX_BATCH", "64"),
            ("SIGSTACK_DATABASE_URL", "ignored"),
            ("SIGSTACK_TEST_SOMETHING", "ignored"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = check(&log, &[("SIGSTACK_LOG__MAX_BACH", "64")]);
    let err = stderr(&out);
    assert!(
        err.contains("log.max_bach: unknown field")
            && err.contains("(from SIGSTACK_LOG__MAX_BACH)"),
        "{err}"
    );
    // An override that makes a key of the file wrong blames the file's key,
    // not a variable that is not set.
    let ca = repo_root().join("deploy/config/ca.toml");
    let err = stderr(&check(&ca, &[("SIGSTACK_CA__KEY__BACKEND", "pkcs11")]));
    assert!(err.contains("ca.key.key_file: unknown field"), "{err}");
    assert!(!err.contains("(from "), "{err}");
}

#[test]
fn files_are_checked_when_asked() {
    let log = repo_root().join("deploy/config/log.toml");
    let out = Command::new(sigstack_bin())
        .args(["check-config", "--files"])
        .arg(&log)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("database.url_file"),
        "{}",
        stderr(&out)
    );
}

/// The ConfigMaps of `deploy/kubernetes/` hold sigstack configs under keys
/// ending `.toml`: each must be one `serve` accepts.
#[test]
fn configs_in_the_kubernetes_manifests_are_accepted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut found = 0;
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(repo_root().join("deploy/kubernetes"))
        .expect("deploy/kubernetes")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    manifests.sort();
    for manifest in manifests {
        let text = std::fs::read_to_string(&manifest).expect("manifest");
        for document in text.split("\n---") {
            let Some(data) = config_map_tomls(document) else {
                continue;
            };
            for (key, toml) in data {
                let file = dir.path().join(&key);
                std::fs::write(&file, toml).expect("write");
                let out = check(&file, &[]);
                assert!(
                    out.status.success(),
                    "{} {key}: {}",
                    manifest.display(),
                    stderr(&out)
                );
                found += 1;
            }
        }
    }
    assert!(
        found >= 3,
        "sigstack configs found in the manifests: {found}"
    );
}

/// The `.toml` entries of a ConfigMap document.
fn config_map_tomls(document: &str) -> Option<Vec<(String, String)>> {
    let value: serde_json::Value = serde_norway::from_str(document).ok()?;
    if value.get("kind")?.as_str()? != "ConfigMap" {
        return None;
    }
    let data = value.get("data")?.as_object()?;
    Some(
        data.iter()
            .filter(|(k, _)| k.ends_with(".toml"))
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect(),
    )
}

/// `sigstack migrate --config` (the Helm pre-install Job's command) on both
/// backends: applies the schema, is idempotent, and names an unreachable
/// database in one line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_applies_the_schema_on_both_backends() {
    let dir = tempfile::tempdir().expect("temp dir");
    let postgres = sigstack_testkit::fresh_postgres_url("migrate").await;
    for (backend, url) in [("sqlite", "migrated.db".to_owned()), ("postgres", postgres)] {
        for _ in 0..2 {
            let out = migrate(dir.path(), backend, &url);
            assert!(out.status.success(), "{backend}: {}", stderr(&out));
            assert!(String::from_utf8_lossy(&out.stdout).contains("database migrated"));
        }
    }
    assert!(dir.path().join("migrated.db").exists());
    let out = migrate(
        dir.path(),
        "postgres",
        "postgres://sigstack@127.0.0.1:1/none",
    );
    assert!(!out.status.success());
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}
