//! Test support for sigstack. Used only from `[dev-dependencies]`.
//!
//! - [`postgres_admin_url`]: the PostgreSQL server the tests run against. A
//!   storage test that cannot reach PostgreSQL fails; it never skips, since a
//!   skipped storage test shows green and proves nothing.
//! - [`unique_name`]: collision-free names for per-test databases and trees.
//! - [`fresh_postgres_url`], [`sqlite_store`], [`postgres_store`]: a new,
//!   empty database per test on each backend.
//! - [`softhsm::in_fresh_token`]: a SoftHSM2 token of its own for each
//!   PKCS#11 test; fails, naming the package, when SoftHSM2 is missing.
//! - [`postgres_cluster::Cluster`]: a PostgreSQL server of a test's own, to
//!   stop and start.

pub mod postgres_cluster;
pub mod softhsm;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sigstack_store::{PostgresOptions, PostgresStore, SqliteStore};

/// The variable `scripts/test` exports with the URL of its throwaway cluster.
pub const POSTGRES_URL_VAR: &str = "SIGSTACK_TEST_POSTGRES_URL";

/// URL of a PostgreSQL server where tests may create databases.
///
/// # Panics
/// When [`POSTGRES_URL_VAR`] is unset or empty: run the tests through
/// `scripts/test`, which starts a cluster and sets it, or point it at a server
/// of your own, e.g. `SIGSTACK_TEST_POSTGRES_URL=postgres://user@127.0.0.1:5432/postgres`.
pub fn postgres_admin_url() -> String {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{POSTGRES_URL_VAR} is not set: PostgreSQL tests never skip. Run the tests with \
             `scripts/test` (it starts a throwaway cluster), or set {POSTGRES_URL_VAR} to a \
             server where this user may CREATE DATABASE"
        ),
    }
}

/// The admin URL with its database replaced by `database`.
pub fn postgres_url_for(database: &str) -> String {
    let admin = postgres_admin_url();
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b.to_owned(), Some(q.to_owned())),
        None => (admin.clone(), None),
    };
    // postgres://user@host:port/dbname — replace everything after the last '/'
    // that follows the authority.
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_end..].find('/').map(|i| authority_end + i);
    let mut url = match path_start {
        Some(i) => format!("{}/{database}", &base[..i]),
        None => format!("{base}/{database}"),
    };
    if let Some(q) = query {
        url.push('?');
        url.push_str(&q);
    }
    url
}

/// A name unique within this machine for the life of the test run: process
/// ID, a per-process counter and the start time, lower-case ASCII only so it
/// is a valid unquoted SQL identifier.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// Creates a new, empty PostgreSQL database named after `prefix` and returns
/// its URL.
///
/// # Panics
/// As [`postgres_admin_url`], or when the server refuses `CREATE DATABASE`.
pub async fn fresh_postgres_url(prefix: &str) -> String {
    let name = unique_name(prefix);
    PostgresStore::create_database(&postgres_admin_url(), &name)
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    postgres_url_for(&name)
}

/// A store under test and whatever must live as long as it (a temp dir).
#[derive(Debug)]
pub struct StoreFixture<S> {
    pub store: S,
    _dir: Option<tempfile::TempDir>,
}

/// A migrated SQLite store in a new temporary directory.
///
/// # Panics
/// When the temporary directory or the database cannot be created.
pub async fn sqlite_store() -> StoreFixture<SqliteStore> {
    let dir = tempfile::tempdir().expect("temporary directory for SQLite");
    let store = SqliteStore::open(&dir.path().join("log.db"))
        .await
        .expect("open SQLite");
    StoreFixture {
        store,
        _dir: Some(dir),
    }
}

/// A migrated PostgreSQL store on a new, empty database.
///
/// # Panics
/// As [`fresh_postgres_url`], or when the connection or migration fails.
pub async fn postgres_store() -> StoreFixture<PostgresStore> {
    let url = fresh_postgres_url("store").await;
    let store = PostgresStore::connect(&url, &PostgresOptions::default())
        .await
        .expect("connect to the test database");
    StoreFixture { store, _dir: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_differ() {
        assert_ne!(unique_name("t"), unique_name("t"));
        assert!(
            unique_name("db")
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        );
    }
}
