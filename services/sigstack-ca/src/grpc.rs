//! The CA's native gRPC edge (`spec/ca.md` §2.1–§2.4, §14):
//! `dev.sigstore.fulcio.v2.CA` from `proto/fulcio.proto`, and
//! `grpc.health.v1.Health` answering SERVING for that service and for "".
//!
//! # One port for REST and gRPC (h2c)
//!
//! [`grpc_routes`] returns the gRPC services as an ordinary axum `Router`,
//! routed by path (`/dev.sigstore.fulcio.v2.CA/*`, `/grpc.health.v1.Health/*`),
//! which no REST path shares. The binary merges it into its HTTP router and
//! serves the result with `axum::serve`. With axum's `http1` and `http2`
//! features that server reads the first bytes of each connection: the HTTP/2
//! prior-knowledge preface (cleartext HTTP/2, "h2c", what gRPC clients send
//! to an `http://` address) gets HTTP/2, anything else HTTP/1.1. So one
//! listener serves `curl` and `grpcurl -plaintext` alike, as Fulcio does when
//! its HTTP and gRPC ports are configured equal (ca.md §1). Nothing here
//! binds a socket: mounting it on a listener of its own is the same call.
//!
//! The router carries no fallback of its own (tonic's default answers every
//! unknown path with gRPC Unimplemented, which would swallow the REST 404s
//! after a merge). A gRPC call to an unknown service therefore gets the HTTP
//! router's 404, which gRPC clients read as Unimplemented too.
//!
//! # Same answers as REST
//!
//! Both edges call [`crate::api`]'s `issue` and `pem_chain`, so a certificate,
//! a trust bundle and an error message are the same strings on either. What
//! differs is the transport of the request (§2.4): the token is
//! `credentials.oidc_identity_token` when non-empty, else the single value of
//! the `oidcidentitytoken` metadata; `authorization` metadata is never read
//! (only Fulcio's HTTP gateway maps that header). The CSR is the PEM bytes
//! themselves, and the public key `content` a string holding PEM or DER.

use std::sync::Arc;
use std::time::Duration;

use sigstack_store::issuance::IssuanceStore;
use tonic::metadata::MetadataMap;
use tonic::{Code, Request, Response, Status};

use crate::api::{MAX_BODY_BYTES, configuration_issuers, issue, pem_chain};
use crate::issuance::{CertificateService, IssuanceError, KeyProof};
use proto::ca_server::{Ca, CaServer};
use proto::create_signing_certificate_request::Key;
use proto::{
    CertificateChain, Configuration, CreateSigningCertificateRequest, GetConfigurationRequest,
    GetTrustBundleRequest, OidcIssuer, SigningCertificate, SigningCertificateEmbeddedSct,
    TrustBundle, credentials, oidc_issuer, signing_certificate,
};

/// Code generated from `proto/fulcio.proto` (package `dev.sigstore.fulcio.v2`).
/// The client (`ca_client`) only with the `grpc-client` feature.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("dev.sigstore.fulcio.v2");
}

/// The full name of the CA service, as routed and as reported by health.
pub const CA_SERVICE_NAME: &str = proto::ca_server::SERVICE_NAME;

/// The request paths of the gRPC methods served, for metrics labels.
pub const METHODS: &[&str] = &[
    "/dev.sigstore.fulcio.v2.CA/CreateSigningCertificate",
    "/dev.sigstore.fulcio.v2.CA/GetTrustBundle",
    "/dev.sigstore.fulcio.v2.CA/GetConfiguration",
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
];

/// The metadata key a native gRPC caller may carry its token in (ca.md §2.4).
pub const TOKEN_METADATA_KEY: &str = "oidcidentitytoken";

/// The CA's gRPC services, `dev.sigstore.fulcio.v2.CA` and
/// `grpc.health.v1.Health`, as an axum router to merge into the HTTP router
/// (one port, h2c; see the module docs) or to serve alone. A request message
/// larger than 4 MiB is refused unread (ca.md §1), with tonic's code for it,
/// OutOfRange; grpc-go, and so Fulcio, says ResourceExhausted.
///
/// Each CreateSigningCertificate is answered within `request_timeout`, as
/// REST is (the binary passes the same value, `api::REQUEST_TIMEOUT` by
/// default), else Unavailable with the fixed CA-backend message.
pub async fn grpc_routes<S: IssuanceStore + 'static>(
    service: Arc<CertificateService<S>>,
    request_timeout: Duration,
) -> axum::Router {
    // "" starts as SERVING; the CA is added. The CA has no state that could
    // stop serving while the process runs, so nothing ever turns either off.
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(CA_SERVICE_NAME, tonic_health::ServingStatus::Serving)
        .await;
    let ca = CaServer::new(GrpcCa {
        service,
        request_timeout,
    })
    .max_decoding_message_size(MAX_BODY_BYTES);
    tonic::service::Routes::from(axum::Router::new())
        .add_service(ca)
        .add_service(health)
        .into_axum_router()
}

/// The `Ca` trait over the one issuance service both edges share.
struct GrpcCa<S> {
    service: Arc<CertificateService<S>>,
    request_timeout: Duration,
}

#[tonic::async_trait]
impl<S: IssuanceStore + 'static> Ca for GrpcCa<S> {
    #[tracing::instrument(skip_all, fields(rpc = "CreateSigningCertificate"))]
    async fn create_signing_certificate(
        &self,
        request: Request<CreateSigningCertificateRequest>,
    ) -> Result<Response<SigningCertificate>, Status> {
        let token = request_token(&request);
        let key = key_proof(request.into_inner().key);
        let issued = tokio::time::timeout(self.request_timeout, issue(&self.service, token, key))
            .await
            .map_err(|_| timed_out(self.request_timeout))?
            .map_err(status)?;
        let chain = pem_chain(&issued.chain).map_err(status)?;
        Ok(Response::new(SigningCertificate {
            certificate: Some(
                signing_certificate::Certificate::SignedCertificateEmbeddedSct(
                    SigningCertificateEmbeddedSct {
                        chain: Some(CertificateChain {
                            certificates: chain,
                        }),
                    },
                ),
            ),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetTrustBundle"))]
    async fn get_trust_bundle(
        &self,
        _request: Request<GetTrustBundleRequest>,
    ) -> Result<Response<TrustBundle>, Status> {
        let certificates = pem_chain(self.service.ca_chain()).map_err(status)?;
        Ok(Response::new(TrustBundle {
            chains: vec![CertificateChain { certificates }],
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetConfiguration"))]
    async fn get_configuration(
        &self,
        _request: Request<GetConfigurationRequest>,
    ) -> Result<Response<Configuration>, Status> {
        let issuers = configuration_issuers(self.service.issuer_config())
            .iter()
            .map(oidc_issuer)
            .collect();
        Ok(Response::new(Configuration { issuers }))
    }
}

/// The token by ca.md §2.4: the body's if non-empty, else the metadata's
/// when it holds exactly one value; else empty, refused by `issue`.
fn request_token(request: &Request<CreateSigningCertificateRequest>) -> String {
    let body = request
        .get_ref()
        .credentials
        .as_ref()
        .and_then(|c| c.credentials.as_ref())
        .map(|credentials::Credentials::OidcIdentityToken(token)| token.as_str())
        .filter(|token| !token.is_empty());
    match body {
        Some(token) => token.to_owned(),
        None => metadata_token(request.metadata()).unwrap_or_default(),
    }
}

/// Fulcio takes the metadata token only when the key has one value.
fn metadata_token(metadata: &MetadataMap) -> Option<String> {
    let mut values = metadata.get_all(TOKEN_METADATA_KEY).iter();
    match (values.next(), values.next()) {
        (Some(only), None) => only.to_str().ok().map(str::to_owned),
        _ => None,
    }
}

/// The oneof `key` as issuance takes it. An empty CSR or no key at all
/// falls through to the public-key form with an empty key, as in Fulcio: the
/// token is still checked first, then the key is refused as unparsable.
fn key_proof(key: Option<Key>) -> KeyProof {
    match key {
        Some(Key::CertificateSigningRequest(csr)) if !csr.is_empty() => KeyProof::Csr(csr),
        Some(Key::PublicKeyRequest(request)) => KeyProof::Challenge {
            public_key: request
                .public_key
                .map(|key| key.content.into_bytes())
                .unwrap_or_default(),
            proof: request.proof_of_possession,
        },
        Some(Key::CertificateSigningRequest(_)) | None => KeyProof::Challenge {
            public_key: Vec::new(),
            proof: Vec::new(),
        },
    }
}

/// An issuer of the REST configuration as its protobuf message: both edges
/// describe the issuers from the one [`configuration_issuers`].
fn oidc_issuer(described: &serde_json::Value) -> OidcIssuer {
    let text = |key: &str| {
        described
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let issuer = text("issuerUrl")
        .map(oidc_issuer::Issuer::IssuerUrl)
        .or_else(|| text("wildcardIssuerUrl").map(oidc_issuer::Issuer::WildcardIssuerUrl));
    OidcIssuer {
        issuer,
        audience: text("audience").unwrap_or_default(),
        challenge_claim: text("challengeClaim").unwrap_or_default(),
        spiffe_trust_domain: text("spiffeTrustDomain").unwrap_or_default(),
        issuer_type: text("issuerType").unwrap_or_default(),
        subject_domain: text("subjectDomain").unwrap_or_default(),
        skip_email_verification: described
            .get("skipEmailVerification")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
    }
}

/// The one translation of an issuance error to a gRPC status: the code and
/// fixed message of ca.md §14, the cause logged here.
fn status(error: IssuanceError) -> Status {
    error.log();
    Status::new(Code::from_i32(error.grpc_code()), error.message())
}

/// A request that outlived its time limit: the CA backend did not answer in
/// time, so the client reads that message, as from REST (503 there).
fn timed_out(limit: Duration) -> Status {
    tracing::error!(limit_ms = limit.as_millis(), "CA request timed out");
    Status::unavailable(IssuanceError::Ca(String::new()).message())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::{Credentials, PublicKey, PublicKeyRequest};

    fn request(
        credentials: Option<&str>,
        metadata: &[&str],
    ) -> Request<CreateSigningCertificateRequest> {
        let mut request = Request::new(CreateSigningCertificateRequest {
            credentials: credentials.map(|token| Credentials {
                credentials: Some(credentials::Credentials::OidcIdentityToken(token.into())),
            }),
            key: None,
        });
        for value in metadata {
            request
                .metadata_mut()
                .append(TOKEN_METADATA_KEY, value.parse().expect("ASCII metadata"));
        }
        request
    }

    #[test]
    fn token_precedence_follows_section_2_4() {
        assert_eq!(request_token(&request(Some("body"), &["meta"])), "body");
        assert_eq!(request_token(&request(Some(""), &["meta"])), "meta");
        assert_eq!(request_token(&request(None, &["meta"])), "meta");
        assert_eq!(request_token(&request(None, &["one", "two"])), "");
        assert_eq!(request_token(&request(None, &[])), "");
        let mut bearer = request(None, &[]);
        bearer
            .metadata_mut()
            .insert("authorization", "Bearer abc".parse().expect("ASCII"));
        assert_eq!(request_token(&bearer), "", "authorization is not read");
    }

    #[test]
    fn the_key_oneof_maps_like_fulcio() {
        assert_eq!(
            key_proof(Some(Key::CertificateSigningRequest(b"PEM".to_vec()))),
            KeyProof::Csr(b"PEM".to_vec())
        );
        let empty = KeyProof::Challenge {
            public_key: Vec::new(),
            proof: Vec::new(),
        };
        assert_eq!(
            key_proof(Some(Key::CertificateSigningRequest(Vec::new()))),
            empty
        );
        assert_eq!(key_proof(None), empty);
        assert_eq!(
            key_proof(Some(Key::PublicKeyRequest(PublicKeyRequest {
                public_key: Some(PublicKey {
                    algorithm: proto::PublicKeyAlgorithm::Ecdsa.into(),
                    content: "-----BEGIN PUBLIC KEY-----".into(),
                }),
                proof_of_possession: vec![1, 2],
            }))),
            KeyProof::Challenge {
                public_key: b"-----BEGIN PUBLIC KEY-----".to_vec(),
                proof: vec![1, 2],
            }
        );
    }

    #[test]
    fn issuers_keep_their_oneof_member() {
        let fixed = oidc_issuer(
            &serde_json::json!({"issuerUrl": "https://a", "audience": "sigstore",
            "challengeClaim": "email", "spiffeTrustDomain": "", "issuerType": "email",
            "subjectDomain": "", "skipEmailVerification": true}),
        );
        assert_eq!(
            fixed.issuer,
            Some(oidc_issuer::Issuer::IssuerUrl("https://a".into()))
        );
        assert_eq!(
            (fixed.audience.as_str(), fixed.issuer_type.as_str()),
            ("sigstore", "email")
        );
        assert!(fixed.skip_email_verification);
        let wildcard = oidc_issuer(&serde_json::json!({"wildcardIssuerUrl": "https://*.b"}));
        assert_eq!(
            wildcard.issuer,
            Some(oidc_issuer::Issuer::WildcardIssuerUrl("https://*.b".into()))
        );
    }
}
