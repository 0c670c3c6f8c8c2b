//! `sigstack up` as a child process on a free loopback port, with a data
//! directory of its own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::sigstack_bin;

/// A free loopback port (bound, read, released).
///
/// # Panics
/// When no port can be bound.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("local addr")
        .port()
}

/// A running `sigstack up`.
#[derive(Debug)]
pub struct Up {
    child: Child,
    pub data_dir: PathBuf,
    pub port: u16,
    pub http: reqwest::Client,
}

impl Up {
    /// Starts `up` on `port` over `data_dir` and waits until `/healthz`
    /// answers 200.
    ///
    /// # Panics
    /// When it exits or is not ready within a minute.
    pub async fn start(data_dir: &Path, port: u16) -> Self {
        Self::start_with(data_dir, Some(port)).await
    }

    /// As [`Up::start`]; `None` lets `up` take the port recorded in the
    /// data directory (and `port` is then read from there).
    ///
    /// # Panics
    /// As [`Up::start`].
    pub async fn start_with(data_dir: &Path, port: Option<u16>) -> Self {
        Self::start_args(data_dir, port, &[]).await
    }

    /// As [`Up::start_with`], with further arguments to `up`.
    ///
    /// # Panics
    /// As [`Up::start`].
    pub async fn start_args(data_dir: &Path, port: Option<u16>, extra: &[&str]) -> Self {
        let mut command = Command::new(sigstack_bin());
        command.args(["up", "--data-dir"]).arg(data_dir).args(extra);
        if let Some(port) = port {
            command.args(["--listen", &format!("127.0.0.1:{port}")]);
        }
        let child = command
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sigstack up");
        let port = match port {
            Some(port) => port,
            None => recorded_port(data_dir),
        };
        let mut up = Self {
            child,
            data_dir: data_dir.to_owned(),
            port,
            http: reqwest::Client::new(),
        };
        up.wait_ready().await;
        up
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("sigstack up exited before it was ready: {status}");
            }
            if let Ok(response) = self.http.get(self.url("/healthz")).send().await
                && response.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "sigstack up not ready in 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// GET `path`, which must answer 200, as JSON.
    ///
    /// # Panics
    /// When the request fails, the status is not 200 or the body not JSON.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let response = self.http.get(self.url(path)).send().await.expect("GET");
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.expect("JSON")
    }

    /// GET `path` as text, whatever the status.
    ///
    /// # Panics
    /// When the request fails or the body is not text.
    pub async fn get_text(&self, path: &str) -> String {
        let response = self.http.get(self.url(path)).send().await.expect("GET");
        response.text().await.expect("text")
    }

    /// SIGKILL: nothing gets to run at exit.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then the exit status.
    ///
    /// # Panics
    /// When `kill` cannot be run.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(status.success());
        self.child.wait().expect("wait for sigstack up")
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port in a data directory's `sigstack-data.json`.
///
/// # Panics
/// When the file is missing or malformed.
pub fn recorded_port(data_dir: &Path) -> u16 {
    let text =
        std::fs::read_to_string(data_dir.join("sigstack-data.json")).expect("sigstack-data.json");
    let metadata: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let listen: std::net::SocketAddr = metadata["listen"]
        .as_str()
        .expect("listen")
        .parse()
        .expect("socket address");
    listen.port()
}

/// `sigstack token --data-dir DIR --subject S --email E`.
///
/// # Panics
/// When the command fails.
pub fn token(data_dir: &Path, subject: &str, email: &str) -> String {
    let output = sigstack(&[
        "token",
        "--data-dir",
        &data_dir.display().to_string(),
        "--subject",
        subject,
        "--email",
        email,
    ]);
    assert!(
        output.status.success(),
        "sigstack token: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8 token")
        .trim()
        .to_owned()
}

/// Runs `sigstack ARGS` to completion.
///
/// # Panics
/// When it cannot be started.
pub fn sigstack(args: &[&str]) -> Output {
    Command::new(sigstack_bin())
        .args(args)
        .output()
        .expect("run sigstack")
}
