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

pub mod hash;
pub mod ids;
