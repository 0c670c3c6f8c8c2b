//! Certificate Transparency encodings (RFC 6962), shared by the CT log that
//! signs SCTs and the CA that embeds them. Pure TLS-style byte layouts.
//!
//! - [`leaf`]: `MerkleTreeLeaf` / `TimestampedEntry` (§3.4) and the log entry types (§3.1).
//! - [`sct`]: SCT and STH signature inputs, `DigitallySigned`, the SCT v1
//!   structure and the `SignedCertificateTimestampList` (§3.2, §3.3, §3.5).

pub mod leaf;
pub mod sct;
