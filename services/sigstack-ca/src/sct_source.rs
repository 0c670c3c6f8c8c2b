//! The two [`SctSource`]s (`spec/ca.md` §9.3): the CT log in this process,
//! called directly, and a CT log elsewhere, over its RFC 6962 HTTP API.
//!
//! The HTTP client mirrors what Fulcio's CT client does: an overall deadline
//! per request, retries with backoff on transport errors, 408, 429 and 503
//! (honouring `Retry-After`), every other non-200 a hard failure. When the
//! log's public key is configured, the SCT is verified before it is
//! embedded: a wrong key or a log that signed something else is caught at
//! issuance, not by every verifier later.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};
use sigstack_core::ct::leaf::SignedEntry;
use sigstack_core::ct::sct::{
    HASH_SHA256, SIGNATURE_ECDSA, SignedCertificateTimestamp, certificate_timestamp_input,
};
use sigstack_ctlog::CtLog;
use sigstack_ctlog::chain::tbs_without_poison;
use sigstack_engine::EngineStore;

use crate::issuance::{SctError, SctFuture, SctSource};

/// The CT log of this process, handed the CA's own precertificates
/// (`CtLog::add_own_precertificate`).
#[derive(Debug)]
pub struct InProcessCtLog<S>(pub Arc<CtLog<S>>);

impl<S: EngineStore> SctSource for InProcessCtLog<S> {
    fn add_pre_chain<'a>(&'a self, chain: &'a [Vec<u8>]) -> SctFuture<'a> {
        Box::pin(async move {
            self.0
                .add_own_precertificate(chain)
                .await
                .map_err(|e| SctError(sigstack_engine::error_chain(&e)))
        })
    }
}

/// A CT log reached over HTTP.
#[derive(Debug, Clone)]
pub struct HttpCtLog {
    client: reqwest::Client,
    add_pre_chain: url::Url,
    deadline: Duration,
    /// DER SubjectPublicKeyInfo of the log's ECDSA P-256 key, when known.
    public_key: Option<Vec<u8>>,
}

/// The longest body a CT log's answer may have; an SCT is a few hundred bytes.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

impl HttpCtLog {
    /// `base_url` includes any log prefix (`http://ct.example/2026`);
    /// `deadline` bounds one issuance's calls, retries included (Fulcio: 30 s).
    ///
    /// # Errors
    /// A URL that cannot take the path, or an HTTP client that cannot be built.
    pub fn new(
        base_url: &url::Url,
        deadline: Duration,
        public_key: Option<Vec<u8>>,
    ) -> Result<Self, SctError> {
        let mut base = base_url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let add_pre_chain = base
            .join("ct/v1/add-pre-chain")
            .map_err(|e| SctError(format!("CT log URL {base_url}: {e}")))?;
        let client = reqwest::Client::builder()
            .timeout(deadline)
            .connect_timeout(deadline.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SctError(format!("CT log client: {e}")))?;
        Ok(Self {
            client,
            add_pre_chain,
            deadline,
            public_key,
        })
    }

    async fn post(&self, chain: &[Vec<u8>]) -> Result<SignedCertificateTimestamp, SctError> {
        let body = serde_json::json!({
            "chain": chain.iter().map(|c| STANDARD.encode(c)).collect::<Vec<_>>(),
        });
        let started = Instant::now();
        let mut backoff = Duration::from_millis(100);
        loop {
            let attempt = self
                .client
                .post(self.add_pre_chain.clone())
                .json(&body)
                .send()
                .await;
            let retry_after = match attempt {
                Ok(response) if response.status() == reqwest::StatusCode::OK => {
                    let bytes = read_limited(response).await?;
                    return parse_response(&bytes);
                }
                Ok(response) if retryable(response.status()) => {
                    let after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    tracing::warn!(status = %response.status(), "CT log busy, retrying");
                    after
                }
                Ok(response) => {
                    return Err(SctError(format!(
                        "CT log answered {} to add-pre-chain",
                        response.status()
                    )));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "CT log unreachable, retrying");
                    None
                }
            };
            let wait = retry_after.unwrap_or(backoff);
            if started.elapsed() + wait >= self.deadline {
                return Err(SctError("CT log did not answer before the deadline".into()));
            }
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }
}

impl SctSource for HttpCtLog {
    fn add_pre_chain<'a>(&'a self, chain: &'a [Vec<u8>]) -> SctFuture<'a> {
        Box::pin(async move {
            let sct = self.post(chain).await?;
            if let Some(key) = &self.public_key {
                verify_precert_sct(&sct, chain, key)?;
            }
            Ok(sct)
        })
    }
}

fn retryable(status: reqwest::StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 503)
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, SctError> {
    let mut out = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| SctError(format!("reading the CT log's answer: {e}")))?
    {
        if out.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(SctError("CT log answer is too large".into()));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[derive(serde::Deserialize)]
struct AddChainResponse {
    sct_version: u8,
    id: String,
    timestamp: u64,
    #[serde(default)]
    extensions: String,
    signature: String,
}

/// The RFC 6962 §4.1 answer, checked for shape.
fn parse_response(bytes: &[u8]) -> Result<SignedCertificateTimestamp, SctError> {
    let bad = |what: &str| SctError(format!("CT log answer: {what}"));
    let response: AddChainResponse =
        serde_json::from_slice(bytes).map_err(|e| bad(&e.to_string()))?;
    if response.sct_version != 0 {
        return Err(bad("sct_version is not v1"));
    }
    let log_id: [u8; 32] = STANDARD
        .decode(&response.id)
        .ok()
        .and_then(|id| id.try_into().ok())
        .ok_or_else(|| bad("id is not 32 base64 bytes"))?;
    let extensions = STANDARD
        .decode(&response.extensions)
        .map_err(|_| bad("extensions are not base64"))?;
    let signature = STANDARD
        .decode(&response.signature)
        .map_err(|_| bad("signature is not base64"))?;
    if signature.len() < 4 || signature[0] != HASH_SHA256 || signature[1] != SIGNATURE_ECDSA {
        return Err(bad("signature is not a SHA-256/ECDSA DigitallySigned"));
    }
    Ok(SignedCertificateTimestamp {
        log_id,
        timestamp: response.timestamp,
        extensions,
        signature,
    })
}

/// Checks `sct` over the precertificate entry of `chain` (ca.md §10.1)
/// with the log's key, and that its log ID is that key's.
///
/// # Errors
/// [`SctError`] naming what does not match.
pub fn verify_precert_sct(
    sct: &SignedCertificateTimestamp,
    chain: &[Vec<u8>],
    log_key_spki: &[u8],
) -> Result<(), SctError> {
    let expected_id: [u8; 32] = Sha256::digest(log_key_spki).into();
    if sct.log_id != expected_id {
        return Err(SctError("SCT log ID is not the configured CT key's".into()));
    }
    let (precert, issuer) = match chain {
        [precert, issuer, ..] => (precert, issuer),
        _ => return Err(SctError("a precertificate chain needs an issuer".into())),
    };
    let tbs = tbs_without_poison(precert).map_err(|e| SctError(e.to_string()))?;
    let issuer_key_hash = issuer_spki_hash(issuer)?;
    let entry = SignedEntry::Precert {
        issuer_key_hash,
        tbs_certificate: tbs,
    };
    let input = certificate_timestamp_input(sct.timestamp, &entry, &sct.extensions)
        .map_err(|e| SctError(e.to_string()))?;
    let der_signature = sct
        .signature
        .get(4..)
        .ok_or_else(|| SctError("SCT signature is truncated".into()))?;
    let point = spki_point(log_key_spki)?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
        .verify(&input, der_signature)
        .map_err(|_| SctError("SCT signature does not verify with the CT key".into()))
}

fn issuer_spki_hash(certificate: &[u8]) -> Result<[u8; 32], SctError> {
    use der::{Decode as _, Encode as _};
    let cert = x509_cert::Certificate::from_der(certificate)
        .map_err(|e| SctError(format!("CA certificate: {e}")))?;
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| SctError(format!("CA key: {e}")))?;
    Ok(Sha256::digest(spki).into())
}

fn spki_point(spki_der: &[u8]) -> Result<Vec<u8>, SctError> {
    use der::Decode as _;
    let spki = spki::SubjectPublicKeyInfoOwned::from_der(spki_der)
        .map_err(|e| SctError(format!("CT public key: {e}")))?;
    Ok(spki.subject_public_key.raw_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_checked_for_shape() {
        let ok = serde_json::json!({"sct_version": 0, "id": STANDARD.encode([7u8; 32]),
            "timestamp": 5, "extensions": "", "signature": STANDARD.encode([4, 3, 0, 1, 0])});
        let sct = parse_response(ok.to_string().as_bytes()).expect("valid");
        assert_eq!(sct.log_id, [7; 32]);
        assert_eq!(sct.timestamp, 5);
        for (field, value) in [
            ("sct_version", serde_json::json!(1)),
            ("id", serde_json::json!(STANDARD.encode([7u8; 31]))),
            (
                "signature",
                serde_json::json!(STANDARD.encode([1, 3, 0, 1, 0])),
            ),
            ("extensions", serde_json::json!("%%")),
        ] {
            let mut bad = ok.clone();
            bad[field] = value;
            assert!(
                parse_response(bad.to_string().as_bytes()).is_err(),
                "{field} accepted"
            );
        }
        assert!(parse_response(b"not json").is_err());
    }
}
