//! A PostgreSQL cluster of a test's own, for tests that stop and start the
//! server (the shared cluster of [`crate::postgres_admin_url`] must stay up
//! for every other test). Made with Debian's `initdb`/`pg_ctl` in a
//! temporary directory, as the `postgres` user when the test runs as root
//! (PostgreSQL refuses to run as root), on a free loopback port, with
//! `fsync` on: an acknowledged write must survive what the test does.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running (or stopped) private cluster; removed on drop.
#[derive(Debug)]
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// `ssl=on` with these PEM files in the data directory's parent.
    tls: bool,
}

impl Cluster {
    /// `initdb` and start.
    ///
    /// # Panics
    /// When PostgreSQL's binaries are missing (`scripts/test` installs
    /// Debian's `postgresql`) or the cluster does not start.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// As [`Cluster::start`], serving TLS (besides plain connections) with
    /// this PEM certificate chain and private key.
    ///
    /// # Panics
    /// As [`Cluster::start`].
    pub fn start_tls(certificate_pem: &str, key_pem: &str) -> Self {
        Self::start_with(Some((certificate_pem, key_pem)))
    }

    fn start_with(tls: Option<(&str, &str)>) -> Self {
        let bin = server_bin();
        let dir = tempfile::Builder::new()
            .prefix("sigstack-private-pg")
            .tempdir()
            .expect("temporary directory for PostgreSQL");
        if is_root() {
            run(Command::new("chown").arg("postgres:").arg(dir.path()));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        if let Some((certificate, key)) = tls {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::write(dir.path().join("server.crt"), certificate).expect("server.crt");
            std::fs::write(dir.path().join("server.key"), key).expect("server.key");
            // PostgreSQL refuses a key others can read.
            std::fs::set_permissions(
                dir.path().join("server.key"),
                std::fs::Permissions::from_mode(0o600),
            )
            .expect("chmod server.key");
            if is_root() {
                run(Command::new("chown")
                    .arg("postgres:")
                    .arg(dir.path().join("server.crt"))
                    .arg(dir.path().join("server.key")));
            }
        }
        let cluster = Self {
            dir,
            bin,
            port,
            tls: tls.is_some(),
        };
        run(cluster
            .as_postgres(&cluster.bin.join("initdb"))
            .arg("-D")
            .arg(cluster.data())
            .args(["-U", "sigstack", "-A", "trust", "-E", "UTF8", "--no-sync"]));
        cluster.start_again();
        cluster
    }

    /// `postgres://sigstack@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://sigstack@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (`-m fast`: sessions are disconnected, committed
    /// work is on disk).
    ///
    /// # Panics
    /// When `pg_ctl` fails.
    pub fn stop(&self) {
        run(self
            .as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "stop"]));
    }

    /// Starts the stopped server again on the same port and data.
    ///
    /// # Panics
    /// When `pg_ctl` fails.
    pub fn start_again(&self) {
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} -c fsync=on",
            self.port,
            self.dir.path().display()
        );
        if self.tls {
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key",
                self.dir.path().display()
            ));
        }
        run(self
            .as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["-w", "-t", "60", "start", "-o", &options]));
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn as_postgres(&self, program: &Path) -> Command {
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

fn server_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .filter(|bin| bin.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "no /usr/lib/postgresql/*/bin/initdb: install Debian's postgresql (scripts/test does)"
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn run(command: &mut Command) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
