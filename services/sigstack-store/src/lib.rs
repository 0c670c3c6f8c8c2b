//! Storage ports of sigstack and their two implementations over sqlx:
//! [`PostgresStore`] (production) and [`SqliteStore`] (embedded, the
//! quickstart). Only this crate issues SQL. The ports are in [`ports`], each
//! shaped for its one consumer and stating what it owes on durability; one
//! conformance suite (`tests/conformance.rs`) runs over both backends.

mod error;
pub mod issuance;
pub mod ports;
mod postgres;
mod postgres_issuance;
mod rows;
mod sqlite;
mod sqlite_issuance;

pub use error::StoreError;
pub use issuance::{IntentState, IssuanceIntent, IssuanceStore, IssuedCertificate};
pub use ports::{
    BatchWrite, LeafRow, LogReader, Ping, SearchKey, SequencerBatch, SequencerStore, StoredHead,
    StoredTile, TreeCatalog, TreeRecord, TreeState,
};
pub use postgres::{PostgresBatch, PostgresOptions, PostgresStore};
pub use sqlite::{SqliteBatch, SqliteStore};
