//! The append-only log engine both sigstack logs share (the transparency log
//! and the CT log are personalities on it). It knows neither Rekor's nor CT's
//! wire formats: a leaf is opaque bytes, a checkpoint's origin is the
//! personality's choice.
//!
//! - [`Engine`]: creates trees (with the log's own genesis entry at index 0)
//!   and hands out a [`TreeWriter`] per tree.
//! - [`sequencer`]: one task per tree; each batch is sequenced, integrated and
//!   published inside one store transaction, and acknowledged only after commit.
//! - [`batch`]: filling a batch from a queue (also used by the CA's recorder).
//! - [`integrator`]: extends the tiles at the right edge.
//! - [`publisher`]: signs one checkpoint per batch.
//! - `sealer`: the personality's hook that attaches bytes (Rekor's SET) to
//!   each new leaf at integration, in the batch's transaction.
//! - [`metrics`]: batch sizes, commit latency, tree sizes and checkpoint
//!   times, through the `metrics` facade.
//! - [`reader`]: heads, leaves and proofs served from tiles.
//!
//! It issues no SQL: everything durable goes through `sigstack-store`'s ports.

pub mod batch;
mod config;
mod engine;
mod error;
mod integrator;
pub mod metrics;
pub mod publisher;
pub mod reader;
mod sealer;
pub mod sequencer;

pub use config::{EngineConfig, MAX_LEAF_BYTES};
pub use engine::{Appended, Engine, EngineStore, TreeWriter};
pub use error::{EngineError, error_chain};
pub use publisher::{OriginFn, Publisher};
pub use reader::TreeReader;
pub use sealer::{LeafSealer, SealError};
pub use sequencer::{PublishedHead, Sealed};
