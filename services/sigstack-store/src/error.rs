//! The store's errors, and the one function that maps database error codes to them.

use sigstack_core::ids::{TreeId, TreeSize};

/// What a storage port can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The tree head moved since this batch read it: another writer
    /// committed first. Nothing of this batch was stored.
    #[error("tree {tree} head moved: expected size {expected}, found {found}")]
    HeadMoved {
        tree: TreeId,
        expected: TreeSize,
        found: TreeSize,
    },
    #[error("tree {0} does not exist")]
    TreeNotFound(TreeId),
    #[error("tree {0} is frozen")]
    TreeFrozen(TreeId),
    /// A uniqueness rule refused the write (tree ID taken, second active tree
    /// of a log, a leaf hash stored twice).
    #[error("conflicting write: {0}")]
    Conflict(String),
    /// The database could not be reached or timed out; retrying may succeed.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// The caller's part of a write refused to complete it (for instance, a
    /// rotation whose genesis entry could not be signed); nothing was stored.
    #[error("write refused: {0}")]
    Refused(String),
    /// A row that breaks the schema's invariants (wrong hash length, negative size).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        classify(e)
    }
}

/// Maps a sqlx error to a store error: SQLSTATE codes for PostgreSQL and
/// extended result codes for SQLite, in one place.
fn classify(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            match code.as_str() {
                // PostgreSQL unique_violation; SQLite CONSTRAINT_UNIQUE, CONSTRAINT_PRIMARYKEY.
                "23505" | "2067" | "1555" => StoreError::Conflict(db.message().to_owned()),
                // PostgreSQL connection exceptions, admin shutdown, cannot connect now,
                // lock timeouts and deadlocks; SQLite BUSY and its extended codes.
                c if c.starts_with("08") => StoreError::Unavailable(e),
                "57P01" | "57P02" | "57P03" | "55P03" | "40P01" | "40001" | "5" | "517" | "261" => {
                    StoreError::Unavailable(e)
                }
                _ => StoreError::Database(e),
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_) => StoreError::Unavailable(e),
        _ => StoreError::Database(e),
    }
}

impl StoreError {
    /// Whether the same call may succeed if retried later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_) | StoreError::HeadMoved { .. }
        )
    }
}
