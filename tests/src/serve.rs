//! `sigstack serve --config` as a child process, the keys `sigstack keys
//! init` writes, a dev OIDC issuer served in the test, and a reader of the
//! Prometheus text the admin listener serves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sigstack_ca::dev_issuer::DevIssuer;

use crate::ca::RequesterKey;
use crate::sigstack_bin;
use crate::up::free_port;

/// The password every key of [`keys_init`] is encrypted with.
pub const PASSWORD: &str = "a long operator password";

/// A CA config (without `[server]`) over the files of [`keys_init`] and
/// [`Issuer`]: SQLite `ca.db`, the file key, the CT log in process.
pub const CA_CONFIG: &str = r#"service = "ca"
[database]
backend = "sqlite"
url = "ca.db"
[ca]
chain_file = "keys/ca-chain.pem"
issuer_config = "issuers.yaml"
[ca.key]
backend = "file"
key_file = "keys/ca-intermediate.key.pem"
password_file = "password"
[ca.ct]
mode = "in_process"
key_file = "keys/ctlog.key.pem"
password_file = "password"
origin = "ct.example.test"
"#;

/// A transparency log config (without `[server]`) over the files of
/// [`keys_init`]: SQLite `log.db`. `[log]` is its last table, so further
/// `[log]` keys may be appended.
pub const LOG_CONFIG: &str = r#"service = "log"
[database]
backend = "sqlite"
url = "log.db"
[log]
hostname = "rekor.example.test"
key_file = "keys/rekor.key.pem"
password_file = "password"
"#;

/// `sigstack migrate` of a CT config over `backend` and `url`, written to
/// DIR/migrate.toml (the other files it names need not exist).
///
/// # Panics
/// When the file cannot be written or the binary not run.
pub fn migrate(dir: &Path, backend: &str, url: &str) -> std::process::Output {
    let config = dir.join("migrate.toml");
    std::fs::write(
        &config,
        format!(
            "service = \"ct\"\n[server]\nlisten = \"127.0.0.1:1\"\n[database]\nbackend = \"{backend}\"\nurl = \"{url}\"\n\
             [ct]\nkey_file = \"k\"\npassword_file = \"p\"\nroots_file = \"r\"\norigin = \"o\"\n"
        ),
    )
    .expect("config");
    Command::new(sigstack_bin())
        .args(["migrate", "--config"])
        .arg(&config)
        .current_dir(dir)
        .output()
        .expect("run migrate")
}

/// The one `{uuid: entry}` pair of a Rekor v1 entry answer.
///
/// # Panics
/// When the body is not one such pair.
pub fn only_entry(body: &serde_json::Value) -> (&String, &serde_json::Value) {
    body.as_object()
        .and_then(|o| o.iter().next())
        .expect("one entry")
}

/// `sigstack keys init --out-dir DIR/keys`, with the password in DIR/password.
///
/// # Panics
/// When the command fails.
pub fn keys_init(dir: &Path) {
    keys_init_with(dir, &[]);
}

/// [`keys_init`] with further arguments (e.g. `--common-name`).
///
/// # Panics
/// When the command fails.
pub fn keys_init_with(dir: &Path, extra: &[&str]) {
    std::fs::write(dir.join("password"), format!("{PASSWORD}\n")).expect("password file");
    let out = Command::new(sigstack_bin())
        .args([
            "keys",
            "init",
            "--out-dir",
            "keys",
            "--password-file",
            "password",
        ])
        .args(extra)
        .current_dir(dir)
        .output()
        .expect("run keys init");
    assert!(
        out.status.success(),
        "keys init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A dev OIDC issuer on a loopback port of its own, and a Fulcio-format
/// issuer file naming it (type email, client ID `sigstore`) at DIR/issuers.yaml.
#[derive(Debug)]
pub struct Issuer {
    pub issuer: Arc<DevIssuer>,
    task: tokio::task::JoinHandle<()>,
}

impl Issuer {
    /// # Panics
    /// When the listener or the key cannot be made.
    pub async fn start(dir: &Path) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the issuer");
        let url = format!("http://{}/oidc", listener.local_addr().expect("address"));
        let issuer = Arc::new(
            DevIssuer::from_pkcs8(&url, &DevIssuer::generate_pkcs8().expect("key"))
                .expect("issuer"),
        );
        let app = axum::Router::new().nest("/oidc", Arc::clone(&issuer).router());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        std::fs::write(
            dir.join("issuers.yaml"),
            format!(
                "oidc-issuers:\n  {url}:\n    issuer-url: {url}\n    client-id: sigstore\n    type: email\n"
            ),
        )
        .expect("issuer file");
        Self { issuer, task }
    }

    pub fn url(&self) -> &str {
        self.issuer.url()
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A running `sigstack serve --config FILE`; killed on drop.
#[derive(Debug)]
pub struct Served {
    child: Option<Child>,
    /// `http://` + the API listener.
    pub base: String,
    /// `http://` + the admin listener.
    pub admin: String,
    pub http: reqwest::Client,
    log_file: PathBuf,
}

impl Served {
    /// Writes `config` (a TOML body without `[server]`) to DIR/NAME, then a
    /// `[server]` table of fresh loopback ports, starts it, and waits until the
    /// admin `/readyz` answers 200.
    ///
    /// # Panics
    /// When it exits or is not ready within a minute.
    pub async fn start(dir: &Path, name: &str, config: &str) -> Self {
        let (listen, admin) = (free_port(), free_port());
        let text = format!(
            "{config}\n[server]\nlisten = \"127.0.0.1:{listen}\"\nadmin_listen = \"127.0.0.1:{admin}\"\nshutdown_timeout_secs = 10\n"
        );
        let file = dir.join(name);
        std::fs::write(&file, text).expect("config file");
        let log_file = dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_file).expect("log file");
        let child = Command::new(sigstack_bin())
            .args(["serve", "--config"])
            .arg(&file)
            .current_dir(dir)
            // Everything of ours, to show that no secret reaches the log.
            .env(
                "RUST_LOG",
                "info,sigstack=trace,sigstack_ca=trace,sigstack_ctlog=trace,sigstack_rekor=trace,sigstack_engine=trace",
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start sigstack serve");
        let mut served = Self {
            child: Some(child),
            base: format!("http://127.0.0.1:{listen}"),
            admin: format!("http://127.0.0.1:{admin}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            log_file,
        };
        served.wait_ready(dir, name).await;
        served
    }

    async fn wait_ready(&mut self, dir: &Path, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.readyz().await == Some(200) {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log =
                    std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
                panic!("sigstack serve {name} exited early: {status}\n{log}");
            }
            assert!(Instant::now() < deadline, "{name} not ready in time");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// GET `url` (a full URL), parsed as JSON.
    ///
    /// # Panics
    /// When it does not answer JSON.
    pub async fn get_json(&self, url: &str) -> serde_json::Value {
        self.http
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
    }

    /// The `logIndex` of transparency log entry `uuid`.
    ///
    /// # Panics
    /// When the log does not answer 200 for it.
    pub async fn log_index_of(&self, uuid: &str) -> Option<u64> {
        let response = self
            .http
            .get(format!("{}/api/v1/log/entries/{uuid}", self.base))
            .send()
            .await
            .expect("GET entry");
        assert_eq!(response.status(), 200, "acknowledged entry {uuid} is gone");
        let body: serde_json::Value = response.json().await.expect("entry");
        only_entry(&body).1["logIndex"].as_u64()
    }

    /// A v2 signingCert request with a public key and a proof of possession
    /// over `signed`; the answer, and the proof sent (base64).
    ///
    /// # Panics
    /// When the request cannot be sent.
    pub async fn request_certificate(
        &self,
        token: &str,
        key: &RequesterKey,
        signed: &[u8],
    ) -> (reqwest::Response, String) {
        let proof = STANDARD.encode(key.sign(signed));
        let response = self
            .http
            .post(format!("{}/api/v2/signingCert", self.base))
            .json(
                &serde_json::json!({"credentials": {"oidcIdentityToken": token},
                "publicKeyRequest": {"publicKey": {"content": key.spki_pem()},
                    "proofOfPossession": proof}}),
            )
            .send()
            .await
            .expect("POST signingCert");
        (response, proof)
    }

    /// What the process logged so far (stderr).
    ///
    /// # Panics
    /// When the log file cannot be read.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log_file).expect("the service's log file")
    }

    /// The admin `/readyz` status code, or `None` when nothing answers.
    pub async fn readyz(&self) -> Option<u16> {
        self.http
            .get(format!("{}/readyz", self.admin))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    }

    /// The admin `/metrics`, parsed.
    ///
    /// # Panics
    /// When it does not answer 200.
    pub async fn metrics(&self) -> Metrics {
        let response = self
            .http
            .get(format!("{}/metrics", self.admin))
            .send()
            .await
            .expect("GET /metrics");
        assert_eq!(response.status(), 200);
        Metrics::parse(&response.text().await.expect("metrics text"))
    }

    /// SIGTERM, then the exit status (killed after `within`).
    ///
    /// # Panics
    /// When the process does not exit in time.
    pub fn terminate(&mut self, within: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("sigstack serve did not stop within {within:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One series of the Prometheus text format.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A scrape of `/metrics`.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub series: Vec<Series>,
}

impl Metrics {
    /// Parses the text exposition format (comments skipped).
    ///
    /// # Panics
    /// On a line that is not a sample.
    pub fn parse(text: &str) -> Self {
        let series = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|line| parse_sample(line).unwrap_or_else(|| panic!("not a sample: {line}")))
            .collect();
        Self { series }
    }

    /// Series named `name` whose labels include every pair of `labels`.
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Series> + 'a {
        self.series.iter().filter(move |s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).is_some_and(|have| have == v))
        })
    }

    /// The one series named `name` with `labels`.
    ///
    /// # Panics
    /// When none or several match.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<&Series> = self.matching(name, labels).collect();
        assert_eq!(
            found.len(),
            1,
            "{name} {labels:?}: {} series match; have {:?}",
            found.len(),
            self.matching(name, &[]).collect::<Vec<_>>()
        );
        found[0].value
    }

    /// Every metric family name (histogram series under their base name).
    pub fn families(&self) -> std::collections::BTreeSet<String> {
        self.series
            .iter()
            .map(|s| {
                ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|suffix| s.name.strip_suffix(suffix))
                    .unwrap_or(&s.name)
                    .to_owned()
            })
            .collect()
    }
}

fn parse_sample(line: &str) -> Option<Series> {
    let (name_end, rest) = match line.find(['{', ' ']) {
        Some(i) => (i, &line[i..]),
        None => return None,
    };
    let name = line[..name_end].to_owned();
    let mut labels = BTreeMap::new();
    let value_text = if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices().peekable();
        let mut end = None;
        loop {
            // key
            let mut key = String::new();
            for (i, c) in chars.by_ref() {
                if c == '}' {
                    end = Some(i);
                    break;
                }
                if c == '=' {
                    break;
                }
                if c != ',' {
                    key.push(c);
                }
            }
            if end.is_some() {
                break;
            }
            // quoted value with escapes
            if chars.next().map(|(_, c)| c) != Some('"') {
                return None;
            }
            let mut value = String::new();
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => match chars.next().map(|(_, c)| c) {
                        Some('n') => value.push('\n'),
                        Some(other) => value.push(other),
                        None => return None,
                    },
                    '"' => break,
                    c => value.push(c),
                }
            }
            labels.insert(key, value);
        }
        body[end? + 1..].trim()
    } else {
        rest.trim()
    };
    let value = value_text.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Series {
        name,
        labels,
        value,
    })
}

/// The repository root (for files under `deploy/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}
