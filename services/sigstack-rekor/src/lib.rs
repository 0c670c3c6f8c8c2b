//! The transparency-log personality of sigstack: Rekor's v1 REST API
//! (`spec/log.md` §1) on the log engine. Entry kinds, canonical bodies and
//! SET payloads come from `sigstack_core::entry`; this crate holds the log's
//! shards and key ([`RekorLog`]), the SET sealer, the genesis entry, and the
//! HTTP edge ([`api::router`]), where errors become statuses once.

pub mod api;
pub mod error;
mod genesis;
pub mod log;
pub mod metrics;
pub mod model;
pub mod search;
mod set;

pub use error::RekorError;
pub use log::{Operation, RekorConfig, RekorLog, Shard};
pub use set::SetSealer;
