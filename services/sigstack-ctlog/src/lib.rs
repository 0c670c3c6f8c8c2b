//! The Certificate Transparency personality of sigstack: the RFC 6962 v1
//! API (`spec/ca.md` §11) on the log engine. It knows no CA: it accepts
//! chains to its configured roots, logs each as a `MerkleTreeLeaf`, and
//! answers with an SCT only after the leaf is committed.
//!
//! - [`leaf`]: `MerkleTreeLeaf` / `TimestampedEntry` (RFC 6962 §3.4).
//! - [`sct`]: SCT and STH signature inputs, `DigitallySigned`, the SCT list.
//! - [`chain`]: chain validation, poison check, precert TBS (§3.1, §3.2).
//! - [`log`]: [`CtLog`], the operations; [`api`]: the HTTP edge.

pub mod api;
pub mod chain;
pub mod error;
pub mod log;
pub mod metrics;
pub mod model;

pub use error::CtError;
pub use log::{CtConfig, CtLog};
/// The RFC 6962 encodings live in the pure core, shared with the CA.
pub use sigstack_core::ct::{leaf, sct};
