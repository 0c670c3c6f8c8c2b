//! sigstack's pure domain logic.
//!
//! This crate does no I/O and reads no clock: it never opens a file, a socket
//! or a database, and depends on no async runtime. Everything here is a
//! function of its arguments, so it is tested against published vectors in
//! microseconds. Storage and transport live in `sigstack-store` and the
//! service crates; they hand this crate hashes through [`merkle::HashReader`].
//!
//! - [`hash`]: RFC 6962 §2.1 leaf and node hashing.
//! - [`ids`]: newtypes for leaf indexes, tree sizes, tree IDs and log IDs.
//! - [`merkle`]: node addressing, the [`merkle::HashReader`] port, tree roots.
//! - [`tile`]: C2SP tlog-tiles (height 8) addressing, tiles, and the right edge
//!   that the integrator extends.
//! - [`inclusion`], [`consistency`]: RFC 6962 §2.1.1 / §2.1.2 proofs and their
//!   RFC 9162 §2.1.3 / §2.1.4 verifiers.
//! - [`note`]: C2SP signed notes, their signers and verifiers.
//! - [`checkpoint`]: C2SP tlog-checkpoint bodies and Rekor v1 checkpoints.
//! - [`ct`]: Certificate Transparency leaves, SCTs and SCT lists (RFC 6962).
//! - [`entry`]: Rekor v1 entry kinds (canonical bodies, search keys), their
//!   verification material, SETs and entry IDs.
//! - [`trust`]: trusted_root.json, signing_config v0.2 and ClientTrustConfig.

pub mod certificate;
pub mod checkpoint;
pub mod consistency;
pub mod ct;
pub mod entry;
pub mod hash;
pub mod ids;
pub mod inclusion;
pub mod key_file;
pub mod merkle;
pub mod note;
pub mod note_keys;
pub mod tile;
pub mod trust;
