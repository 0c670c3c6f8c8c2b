//! The CA's REST edge (`spec/ca.md` §1–§3): the v2 API as Fulcio's gRPC
//! gateway shapes it, and the legacy v1 API cosign 2.x still calls.
//!
//! Input is read as the gateway reads protobuf JSON: lowerCamelCase or
//! snake_case names, unknown fields and unknown enum names ignored, `bytes`
//! in either base64 alphabet with or without padding, `string` as is.
//! Output is JSON whatever the `Accept` header says, the set member of each
//! oneof only. Every failure is `{code, message, details}` with the status
//! of ca.md §14; a token problem is always 400, never 401 or 403.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};
use sigstack_store::issuance::IssuanceStore;

use crate::error::{INVALID_ARGUMENT, IdentityError};
use crate::issuance::{
    CertificateRequest, CertificateService, IssuanceError, IssuedChain, KeyProof,
};
use crate::issuer_config::{IssuerConfig, OidcIssuer};
use crate::proof_of_possession::PossessionError;

/// Fulcio's limit on a request body (ca.md §1): 4 MiB.
pub const MAX_BODY_BYTES: usize = 1 << 22;

/// The CA's routes, for the binary to mount at the host root (sigstore-python
/// drops any path prefix, ca.md §15 item 10).
/// Each request is answered within `request_timeout` (Fulcio: 60 s), else
/// 503 with the fixed CA-backend message.
pub fn router<S: IssuanceStore + 'static>(
    service: Arc<CertificateService<S>>,
    request_timeout: Duration,
) -> Router {
    Router::new()
        .route("/api/v2/signingCert", post(signing_cert_v2::<S>))
        .route("/api/v2/trustBundle", get(trust_bundle::<S>))
        .route("/api/v2/configuration", get(configuration::<S>))
        .route("/api/v1/signingCert", post(signing_cert_v1::<S>))
        .route("/api/v1/rootCert", get(root_cert::<S>))
        .layer(axum::middleware::from_fn_with_state(
            request_timeout,
            time_limit,
        ))
        .with_state(service)
}

/// The default of [`router`]'s `request_timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

async fn time_limit(
    State(limit): State<Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(limit_ms = limit.as_millis(), "CA request timed out");
            ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: crate::error::UNAVAILABLE,
                message: "error communicating with CA backend".into(),
            }
            .into_response()
        }
    }
}

/// An error answer: `{code, message, details: []}` with its HTTP status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: i32,
    message: String,
}

impl ApiError {
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: INVALID_ARGUMENT,
            message: message.into(),
        }
    }
}

impl From<IssuanceError> for ApiError {
    fn from(e: IssuanceError) -> Self {
        e.log();
        Self {
            status: StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: e.grpc_code(),
            message: e.message(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"code": self.code, "message": self.message, "details": []});
        (self.status, axum::Json(body)).into_response()
    }
}

// ---- v2 request (ca.md §2.2) ----

#[derive(Debug, Default, Deserialize)]
struct CreateSigningCertificateRequest {
    #[serde(default)]
    credentials: Option<Credentials>,
    #[serde(default, rename = "publicKeyRequest", alias = "public_key_request")]
    public_key_request: Option<PublicKeyRequest>,
    #[serde(
        default,
        rename = "certificateSigningRequest",
        alias = "certificate_signing_request"
    )]
    certificate_signing_request: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Credentials {
    #[serde(default, rename = "oidcIdentityToken", alias = "oidc_identity_token")]
    oidc_identity_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PublicKeyRequest {
    #[serde(default, rename = "publicKey", alias = "public_key")]
    public_key: Option<PublicKey>,
    #[serde(default, rename = "proofOfPossession", alias = "proof_of_possession")]
    proof_of_possession: Option<String>,
}

/// `algorithm` is ignored by Fulcio (the key says what it is), so any value
/// of any JSON type is accepted and dropped. `content` is the PEM or DER
/// text in v2 and base64 of PEM or DER in v1.
#[derive(Debug, Default, Deserialize)]
struct PublicKey {
    #[serde(default)]
    content: Option<String>,
}

// ---- v1 request (ca.md §3) ----

#[derive(Debug, Default, Deserialize)]
struct LegacyRequest {
    #[serde(default, rename = "publicKey", alias = "public_key")]
    public_key: Option<PublicKey>,
    #[serde(default, rename = "signedEmailAddress", alias = "signed_email_address")]
    signed_email_address: Option<String>,
    #[serde(
        default,
        rename = "certificateSigningRequest",
        alias = "certificate_signing_request"
    )]
    certificate_signing_request: Option<String>,
}

// ---- responses (ca.md §2.2, §2.3) ----

#[derive(Serialize)]
struct CertificateChain {
    certificates: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum SigningCertificate {
    SignedCertificateEmbeddedSct { chain: CertificateChain },
}

#[derive(Serialize)]
struct TrustBundle {
    chains: Vec<CertificateChain>,
}

#[derive(Serialize)]
struct Configuration {
    issuers: Vec<serde_json::Value>,
}

async fn signing_cert_v2<S: IssuanceStore + 'static>(
    State(service): State<Arc<CertificateService<S>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let request: CreateSigningCertificateRequest = parse_json(body).await?;
    let token = request
        .credentials
        .and_then(|c| c.oidc_identity_token)
        .filter(|t| !t.is_empty())
        .or_else(|| bearer(&headers))
        .unwrap_or_default();
    let key = match (
        request.public_key_request,
        request.certificate_signing_request,
    ) {
        (Some(_), Some(csr)) if !csr.is_empty() => {
            return Err(ApiError::invalid(
                "publicKeyRequest and certificateSigningRequest are one oneof: send one",
            ));
        }
        (_, Some(csr)) if !csr.is_empty() => KeyProof::Csr(decode_bytes(&csr)?),
        (Some(pk), _) => KeyProof::Challenge {
            public_key: pk
                .public_key
                .and_then(|k| k.content)
                .unwrap_or_default()
                .into_bytes(),
            proof: decode_bytes(&pk.proof_of_possession.unwrap_or_default())?,
        },
        (None, _) => return Err(IssuanceError::from(PossessionError::KeyUnparsable).into()),
    };
    let issued = issue(&service, token, key).await?;
    let body = SigningCertificate::SignedCertificateEmbeddedSct {
        chain: CertificateChain {
            certificates: pem_chain(&issued.chain)?,
        },
    };
    Ok(json_response(StatusCode::OK, &body))
}

async fn signing_cert_v1<S: IssuanceStore + 'static>(
    State(service): State<Arc<CertificateService<S>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let request: LegacyRequest = parse_json(body).await?;
    // v1 reads the token from the header only (ca.md §3).
    let token = bearer(&headers).unwrap_or_default();
    let csr = request.certificate_signing_request.unwrap_or_default();
    let key = if !csr.is_empty() {
        KeyProof::Csr(decode_bytes(&csr)?)
    } else {
        match request.public_key.and_then(|k| k.content) {
            Some(content) if !content.is_empty() => KeyProof::Challenge {
                public_key: decode_bytes(&content)?,
                proof: decode_bytes(&request.signed_email_address.unwrap_or_default())?,
            },
            _ => return Err(IssuanceError::from(PossessionError::KeyUnparsable).into()),
        }
    };
    let issued = issue(&service, token, key).await?;
    Ok(pem_response(
        StatusCode::CREATED,
        pem_chain(&issued.chain)?.join("\n"),
    ))
}

async fn trust_bundle<S: IssuanceStore + 'static>(
    State(service): State<Arc<CertificateService<S>>>,
) -> Result<Response, ApiError> {
    let chain = pem_chain(service.ca_chain())?;
    Ok(json_response(
        StatusCode::OK,
        &TrustBundle {
            chains: vec![CertificateChain {
                certificates: chain,
            }],
        },
    ))
}

async fn configuration<S: IssuanceStore + 'static>(
    State(service): State<Arc<CertificateService<S>>>,
) -> Response {
    json_response(
        StatusCode::OK,
        &Configuration {
            issuers: configuration_issuers(service.issuer_config()),
        },
    )
}

async fn root_cert<S: IssuanceStore + 'static>(
    State(service): State<Arc<CertificateService<S>>>,
) -> Result<Response, ApiError> {
    Ok(pem_response(
        StatusCode::OK,
        pem_chain(service.ca_chain())?.join("\n"),
    ))
}

/// Issues for `token` and `key`, refusing a missing token before any work.
/// Shared with the gRPC edge.
pub(crate) async fn issue<S: IssuanceStore>(
    service: &CertificateService<S>,
    token: String,
    key: KeyProof,
) -> Result<IssuedChain, IssuanceError> {
    if token.is_empty() {
        return Err(IdentityError::MalformedToken("no token").into());
    }
    service.issue(&CertificateRequest { token, key }).await
}

/// The `issuers` of GetConfiguration (ca.md §2.5): one object per issuer,
/// `issuerUrl` or `wildcardIssuerUrl`, every scalar emitted.
pub fn configuration_issuers(config: &IssuerConfig) -> Vec<serde_json::Value> {
    let describe = |key: (&str, &str), issuer: &OidcIssuer| {
        let mut object = serde_json::Map::new();
        object.insert(key.0.into(), key.1.into());
        object.insert("audience".into(), issuer.client_id.clone().into());
        object.insert(
            "challengeClaim".into(),
            issuer.effective_challenge_claim().into(),
        );
        object.insert(
            "spiffeTrustDomain".into(),
            issuer.spiffe_trust_domain.clone().into(),
        );
        object.insert("issuerType".into(), issuer.issuer_type.as_str().into());
        object.insert("subjectDomain".into(), issuer.subject_domain.clone().into());
        object.insert(
            "skipEmailVerification".into(),
            issuer.skip_email_verification.into(),
        );
        serde_json::Value::Object(object)
    };
    let fixed = config.oidc_issuers.iter().map(|(url, issuer)| {
        let url = if issuer.issuer_url.is_empty() {
            url.as_str()
        } else {
            issuer.issuer_url.as_str()
        };
        describe(("issuerUrl", url), issuer)
    });
    let meta = config
        .meta_issuers
        .iter()
        .map(|(pattern, issuer)| describe(("wildcardIssuerUrl", pattern), issuer));
    fixed.chain(meta).collect()
}

/// `Authorization` with its `Bearer ` prefix removed; a header without the
/// prefix is used verbatim, as the gateway does (ca.md §2.4).
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ").unwrap_or(value);
    (!token.is_empty()).then(|| token.to_owned())
}

async fn parse_json<T: serde::de::DeserializeOwned + Default>(body: Body) -> Result<T, ApiError> {
    let bytes: Bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::invalid("request body is larger than 4 MiB"))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::invalid(e.to_string()))
}

/// Protobuf JSON `bytes`: standard or URL-safe base64, padded or not.
fn decode_bytes(text: &str) -> Result<Vec<u8>, ApiError> {
    const LENIENT: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .map_err(|_| ApiError::invalid("a bytes field is not base64"))
}

/// Each certificate as a PEM block without its trailing newline (ca.md §2.5).
/// Shared with the gRPC edge, which answers the same strings.
pub(crate) fn pem_chain(chain: &[Vec<u8>]) -> Result<Vec<String>, IssuanceError> {
    chain
        .iter()
        .map(|der| {
            der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der)
                .map(|pem| pem.trim_end().to_owned())
                .map_err(|e| IssuanceError::Ca(format!("PEM-encoding a certificate: {e}")))
        })
        .collect()
}

fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    (status, axum::Json(body)).into_response()
}

fn pem_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/pem-certificate-chain"),
        )],
        body,
    )
        .into_response()
}
