//! Rekor v1 entry kinds (log.md §2): proposed entries in, canonical leaf
//! bytes and search-index keys out.
//!
//! [`canonicalize_proposed`] reads a `ProposedEntry` (`{"kind",
//! "apiVersion", "spec"}`), dispatches on kind and version, validates the
//! spec as the reference does (signatures included), and returns the RFC
//! 8785 canonical body that becomes the leaf (UUID = RFC 6962 leaf hash of
//! it, log.md §1.2) with the keys the search index stores (§2.6).
//! [`parse_stored_body`] reads kind and version back from a stored body of
//! any kind; stored bodies are served byte-identically and never
//! re-canonicalised (§2.1).
//!
//! - [`canonical`]: RFC 8785 serialisation.
//! - [`pki`]: keys, certificates, chains, signature verification.
//! - [`hashedrekord`]: hashedrekord 0.0.1.
//! - [`dsse`]: dsse 0.0.1.
//! - [`intoto`]: intoto 0.0.2 and 0.0.1.
//! - [`set`]: the signed entry timestamp (§3).
//! - [`id`]: entry IDs and UUIDs (§1.2).

pub mod canonical;
pub mod dsse;
mod encoding;
mod envelope;
mod error;
pub mod hashedrekord;
pub mod id;
pub mod intoto;
pub mod pki;
pub mod set;
mod statement;
#[cfg(test)]
mod test_support;

use std::fmt;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::hash::{Hash, leaf_hash};

pub use error::EntryError;

/// The entry kinds of the reference (log.md §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Alpine,
    Cose,
    Dsse,
    HashedRekord,
    Helm,
    Intoto,
    Jar,
    Rekord,
    Rfc3161,
    Rpm,
    Tuf,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Alpine,
        Kind::Cose,
        Kind::Dsse,
        Kind::HashedRekord,
        Kind::Helm,
        Kind::Intoto,
        Kind::Jar,
        Kind::Rekord,
        Kind::Rfc3161,
        Kind::Rpm,
        Kind::Tuf,
    ];

    /// The `kind` string on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Alpine => "alpine",
            Kind::Cose => "cose",
            Kind::Dsse => "dsse",
            Kind::HashedRekord => "hashedrekord",
            Kind::Helm => "helm",
            Kind::Intoto => "intoto",
            Kind::Jar => "jar",
            Kind::Rekord => "rekord",
            Kind::Rfc3161 => "rfc3161",
            Kind::Rpm => "rpm",
            Kind::Tuf => "tuf",
        }
    }

    /// The kind named exactly `name` (the reference's discriminator is
    /// case-sensitive).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether sigstack accepts new entries of this kind (hashedrekord, dsse
    /// and intoto); the others are served on read only.
    pub fn is_submittable(self) -> bool {
        matches!(self, Kind::HashedRekord | Kind::Dsse | Kind::Intoto)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A proposed entry after canonicalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalEntry {
    pub kind: Kind,
    pub api_version: String,
    /// The canonical leaf bytes (RFC 8785), stored and served as-is.
    pub body: Vec<u8>,
    /// Search-index keys (log.md §2.6), lower-cased, without duplicates.
    pub index_keys: Vec<String>,
}

impl CanonicalEntry {
    /// `SHA-256(0x00 ‖ body)`: the entry's UUID (log.md §1.2).
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.body)
    }
}

/// Kind and version read back from a stored body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub kind: Kind,
    pub api_version: String,
}

/// Canonicalises a `ProposedEntry` (the body of `POST /api/v1/log/entries`,
/// or one of `entries` in a search, log.md §1.6, §1.10).
///
/// # Errors
/// [`EntryError`], whose variants map to the statuses of log.md §8.
pub fn canonicalize_proposed(json: &[u8]) -> Result<CanonicalEntry, EntryError> {
    let proposed = Proposed::parse(json)?;
    match (proposed.kind, proposed.api_version.as_str()) {
        (Kind::HashedRekord, hashedrekord::API_VERSION) => {
            hashedrekord::canonicalize(proposed.spec)
        }
        (Kind::Dsse, dsse::API_VERSION) => dsse::canonicalize(proposed.spec),
        (Kind::Intoto, intoto::API_VERSION_V002) => intoto::canonicalize_v002(proposed.spec),
        (Kind::Intoto, intoto::API_VERSION_V001) => intoto::canonicalize_v001(proposed.spec),
        (kind, _) if !kind.is_submittable() => {
            Err(EntryError::KindNotEnabled(kind.name().to_owned()))
        }
        (kind, version) => Err(EntryError::UnsupportedVersion {
            kind,
            version: version.to_owned(),
        }),
    }
}

/// Reads kind and `apiVersion` from a stored canonical body of any kind.
///
/// # Errors
/// [`EntryError::NotJson`] or [`EntryError::Schema`] for a body that is not
/// an entry, [`EntryError::UnknownKind`] for a kind the reference lacks.
pub fn parse_stored_body(body: &[u8]) -> Result<StoredEntry, EntryError> {
    let proposed = Proposed::parse(body)?;
    Ok(StoredEntry {
        kind: proposed.kind,
        api_version: proposed.api_version,
    })
}

/// The envelope, as the reference's framework checks it before any kind
/// code runs (`pkg/generated/models/proposed_entry.go`, log.md §8).
struct Proposed {
    kind: Kind,
    api_version: String,
    spec: Value,
}

impl Proposed {
    fn parse(json: &[u8]) -> Result<Self, EntryError> {
        if json.iter().all(u8::is_ascii_whitespace) {
            return Err(EntryError::required("proposedEntry"));
        }
        let value: Value =
            serde_json::from_slice(json).map_err(|e| EntryError::NotJson(e.to_string()))?;
        let Value::Object(mut object) = value else {
            return Err(EntryError::NotJson(
                "a proposed entry is a JSON object".into(),
            ));
        };
        let kind = match object.get("kind") {
            None | Some(Value::Null) => return Err(EntryError::required("kind")),
            Some(Value::String(kind)) if kind.is_empty() => {
                return Err(EntryError::required("kind"));
            }
            Some(Value::String(kind)) => {
                Kind::from_name(kind).ok_or_else(|| EntryError::UnknownKind(kind.clone()))?
            }
            Some(_) => return Err(EntryError::wrong_type("kind", "string")),
        };
        let api_version = match object.remove("apiVersion") {
            None | Some(Value::Null) => return Err(EntryError::required("apiVersion")),
            Some(Value::String(v)) if is_semver(&v) => v,
            Some(Value::String(_)) => return Err(EntryError::pattern("apiVersion", SEMVER)),
            Some(_) => return Err(EntryError::wrong_type("apiVersion", "string")),
        };
        let spec = match object.remove("spec") {
            None | Some(Value::Null) => return Err(EntryError::required("spec")),
            Some(spec) => spec,
        };
        Ok(Proposed {
            kind,
            api_version,
            spec,
        })
    }
}

/// The `apiVersion` pattern of the reference's models (semver 2.0).
const SEMVER: &str = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$";

/// Whether `v` matches [`SEMVER`].
fn is_semver(v: &str) -> bool {
    let (rest, build) = match v.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (v, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let numeric = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    let ident =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let core_ok = {
        let parts: Vec<&str> = core.split('.').collect();
        parts.len() == 3 && parts.iter().all(|p| numeric(p))
    };
    let pre_ok = pre.is_none_or(|pre| {
        pre.split('.')
            .all(|p| ident(p) && (numeric(p) || !p.bytes().all(|b| b.is_ascii_digit())))
    });
    let build_ok = build.is_none_or(|b| b.split('.').all(ident));
    core_ok && pre_ok && build_ok
}

/// Search-index keys, lower-cased as the index store does (log.md §2.6),
/// first occurrence kept.
#[derive(Debug, Default)]
struct IndexKeys(Vec<String>);

impl IndexKeys {
    fn push(&mut self, key: &str) {
        let key = key.to_lowercase();
        if !key.is_empty() && !self.0.contains(&key) {
            self.0.push(key);
        }
    }

    /// `sha256:` + SHA-256 of a verifier's canonical PEM, then its SANs: what
    /// dsse and intoto index per key (hashedrekord differs, §2.6).
    fn push_verifier(&mut self, material: &pki::VerificationMaterial) {
        let fingerprint = Sha256::digest(material.canonical_pem().as_bytes());
        self.push(&format!("sha256:{}", hex::encode(fingerprint)));
        for san in material.subject_alternative_names() {
            self.push(san);
        }
    }

    /// The subject and materials digests of an in-toto payload; nothing for
    /// other payload types.
    fn push_statement(&mut self, payload_type: &str, payload: &[u8]) {
        if payload_type == statement::IN_TOTO_PAYLOAD_TYPE {
            for key in statement::digest_keys(payload) {
                self.push(&key);
            }
        }
    }

    fn into_vec(self) -> Vec<String> {
        self.0
    }
}

#[cfg(test)]
mod tests;
