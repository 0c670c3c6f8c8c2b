//! The Fulcio-compatible CA of sigstack (`spec/ca.md`).
//!
//! Identity:
//! - [`issuer_config`]: Fulcio's own issuer file (ca.md §7.1), loaded leniently as Fulcio does;
//! - [`oidc`]: ID-token verification against an issuer's discovery document and JWKS (ca.md §6);
//! - [`principal`]: one mapping per issuer type from verified claims to the SAN, the
//!   proof-of-possession challenge and the Sigstore extensions (ca.md §7.2, §7.3, §8.3);
//! - [`proof_of_possession`]: the requester's key, proven by a signed challenge or a CSR (ca.md §5).
//!
//! Issuance:
//! - [`issuance`]: [`CertificateService`], intent → precertificate → SCT → certificate (ca.md §8, §9);
//! - [`sct_source`]: the CT log in this process, or one over HTTP (ca.md §9.3);
//! - [`recorder`]: the intents and certificate records of concurrent requests, grouped into one
//!   commit per batch; each request hears its own outcome only after that commit.
//!
//! Edges:
//! - [`api`]: REST v2 and legacy v1 (ca.md §2.3, §3);
//! - [`grpc`]: the native gRPC edge, `dev.sigstore.fulcio.v2.CA` and health, on the REST port (ca.md §2.1);
//! - [`dev_issuer`]: a real OIDC issuer for development, benchmarks and tests.
//!
//! Every error a client can cause is answered 400 / InvalidArgument with the fixed
//! messages of ca.md §14 ([`IdentityError`], [`IssuanceError`]).

pub mod api;
pub mod dev_issuer;
pub mod error;
pub mod grpc;
pub mod issuance;
pub mod issuer_config;
pub mod metrics;
pub mod oidc;
pub mod principal;
pub mod proof_of_possession;
pub mod recorder;
pub mod sct_source;

pub use error::IdentityError;
pub use issuance::{
    CertificateRequest, CertificateService, IssuanceError, IssuedChain, KeyProof, SctSource,
};
pub use issuer_config::{IssuerConfig, IssuerType, ResolvedIssuer};
pub use oidc::{Claims, TokenVerifier, VerifiedToken, VerifierOptions};
pub use principal::{Principal, San};
pub use recorder::{Recorder, RecorderConfig};
