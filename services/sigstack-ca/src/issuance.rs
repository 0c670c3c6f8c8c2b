//! Issuance (`spec/ca.md` §8, §9): a verified identity and a proven key in,
//! a 10-minute code-signing certificate with one embedded SCT out.
//!
//! The order is the point. Nothing is signed before the token, the principal
//! and the key check out, and nothing is signed before the intent (serial,
//! principal, issuer, key hash) is durable: a crash can leave an intent
//! without a certificate, never a certificate without a record. Then the
//! precertificate goes to the CT log, and only the SCT it answers with, once
//! the log has committed the entry, goes into the final certificate.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest as _, Sha256};
use sigstack_core::certificate::{
    CertificateAuthority, CertificateError, LeafProfile, SigstoreExtension, SubjectAltName,
    VALIDITY_SECONDS,
};
use sigstack_core::ct::sct::{SignedCertificateTimestamp, signed_certificate_timestamp_list};
use sigstack_store::StoreError;
use sigstack_store::issuance::{IssuanceIntent, IssuanceStore, IssuedCertificate};

use crate::error::{INTERNAL, INVALID_ARGUMENT};
use crate::oidc::{TokenVerifier, VerifiedToken};
use crate::principal::{self, Principal, SIGSTORE_ARC, San};
use crate::proof_of_possession::{self, PossessionError, ProvenKey};
use crate::recorder::{Recorder, RecorderConfig};
use crate::{IdentityError, IssuerConfig};

/// How the requester proves it holds its key (ca.md §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProof {
    /// `publicKeyRequest` (v2) or `publicKey` + `signedEmailAddress` (v1): a
    /// PEM or DER public key and its signature over the principal's challenge.
    Challenge { public_key: Vec<u8>, proof: Vec<u8> },
    /// `certificateSigningRequest`: a PEM CSR, self-signed.
    Csr(Vec<u8>),
}

/// One request for a certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    /// The raw OIDC ID token; never logged.
    pub token: String,
    pub key: KeyProof,
}

impl std::fmt::Debug for CertificateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateRequest")
            .field("token", &"<redacted>")
            .field("key", &self.key)
            .finish()
    }
}

/// A certificate issued: the chain leaf first, then the CA chain to the
/// root, each DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedChain {
    pub chain: Vec<Vec<u8>>,
    pub serial: [u8; 20],
}

impl IssuedChain {
    /// The leaf, DER.
    #[must_use]
    pub fn leaf(&self) -> &[u8] {
        &self.chain[0]
    }
}

/// Why the CT log gave no SCT.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SctError(pub String);

/// A future the SCT port returns.
pub type SctFuture<'a> =
    Pin<Box<dyn Future<Output = Result<SignedCertificateTimestamp, SctError>> + Send + 'a>>;

/// Where SCTs come from: the CT log in this process, or one over HTTP
/// (`crate::ct_client`). `chain` is the precertificate, then the CA chain
/// to the root (ca.md §9.3).
pub trait SctSource: Send + Sync {
    fn add_pre_chain<'a>(&'a self, chain: &'a [Vec<u8>]) -> SctFuture<'a>;
}

/// Why no certificate was issued. The client-caused ones are 400 with the
/// fixed messages of ca.md §14; the others 500, their cause only in the log.
#[derive(Debug, thiserror::Error)]
pub enum IssuanceError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Possession(#[from] PossessionError),
    /// The CA key or certificate building failed.
    #[error("CA backend: {0}")]
    Ca(String),
    #[error("CT log: {0}")]
    CtLog(String),
    /// The intent or the certificate could not be recorded.
    #[error("issuance store: {0}")]
    Store(String),
}

impl IssuanceError {
    /// HTTP status (ca.md §14): 400 for the client's faults, 500 otherwise.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::Identity(_) | Self::Possession(_) => 400,
            Self::Ca(_) | Self::CtLog(_) | Self::Store(_) => 500,
        }
    }

    /// gRPC code: InvalidArgument (3) or Internal (13).
    #[must_use]
    pub fn grpc_code(&self) -> i32 {
        match self.status() {
            400 => INVALID_ARGUMENT,
            _ => INTERNAL,
        }
    }

    /// What the client reads (ca.md §14).
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::Identity(e) => e.message().into_owned(),
            Self::Possession(e) => e.to_string(),
            Self::Ca(_) | Self::Store(_) => "error communicating with CA backend".into(),
            Self::CtLog(_) => "Error entering certificate in CTL".into(),
        }
    }

    /// Logs this error once, in the request's span, at the edge that answers
    /// it: the cause for the operator (the client reads only [`Self::message`]).
    /// A refusal is not an error-level event.
    pub fn log(&self) {
        if self.status() >= 500 {
            tracing::error!(error = %self, reason = self.reason(), "issuance failed");
        } else {
            tracing::info!(error = %self, reason = self.reason(), "issuance refused");
        }
    }

    /// A short label for logs and metrics.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Identity(_) => "identity",
            Self::Possession(_) => "possession",
            Self::Ca(_) => "ca",
            Self::CtLog(_) => "ctlog",
            Self::Store(_) => "store",
        }
    }
}

impl From<CertificateError> for IssuanceError {
    fn from(e: CertificateError) -> Self {
        Self::Ca(e.to_string())
    }
}

impl From<StoreError> for IssuanceError {
    fn from(e: StoreError) -> Self {
        Self::Store(sigstack_engine::error_chain(&e))
    }
}

/// The CA: verifier, signing CA, its chain, the SCT port and the audit store.
pub struct CertificateService<S> {
    verifier: TokenVerifier,
    ca: Arc<CertificateAuthority>,
    /// Signing CA first, root last (ca.md §12.2).
    ca_chain: Vec<Vec<u8>>,
    sct: Arc<dyn SctSource>,
    store: Arc<S>,
    /// Writes intents and certificate records in batches over `store`.
    recorder: Recorder,
}

impl<S> std::fmt::Debug for CertificateService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateService")
            .field("chain_len", &self.ca_chain.len())
            .finish_non_exhaustive()
    }
}

impl<S: IssuanceStore + 'static> CertificateService<S> {
    /// `ca_chain` is the signing CA's certificate first, then its issuers to
    /// the root; `ca` must sign with the first one's key. Starts the
    /// [`Recorder`] over `store`.
    ///
    /// # Errors
    /// [`IssuanceError::Ca`] when the chain is empty or does not start with
    /// the signing CA's certificate.
    ///
    /// # Panics
    /// Outside a Tokio runtime (the recorder's tasks are spawned on it).
    pub fn new(
        verifier: TokenVerifier,
        ca: CertificateAuthority,
        ca_chain: Vec<Vec<u8>>,
        sct: Arc<dyn SctSource>,
        store: S,
    ) -> Result<Self, IssuanceError> {
        if ca_chain.first().map(Vec::as_slice) != Some(ca.certificate_der()) {
            return Err(IssuanceError::Ca(
                "the CA chain must start with the signing CA's certificate".into(),
            ));
        }
        let store = Arc::new(store);
        let recorder = Recorder::start(Arc::clone(&store), RecorderConfig::default());
        crate::metrics::chain_expiry(&ca_chain);
        crate::metrics::register(verifier.config().oidc_issuers.keys().map(String::as_str));
        Ok(Self {
            verifier,
            ca: Arc::new(ca),
            ca_chain,
            sct,
            store,
            recorder,
        })
    }
}

impl<S: IssuanceStore> CertificateService<S> {
    pub fn issuer_config(&self) -> &IssuerConfig {
        self.verifier.config()
    }

    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    /// The signing CA's chain to the root, DER (GetTrustBundle, ca.md §12.2).
    pub fn ca_chain(&self) -> &[Vec<u8>] {
        &self.ca_chain
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Stops recording: the queued intents and certificates are written
    /// and answered. A record sent later fails, so an issuance then fails
    /// before signing, or after, with its certificate unanswered.
    pub async fn shutdown(&self) {
        self.recorder.shutdown().await;
    }

    /// Issues a certificate for `request` (ca.md §5–§9).
    ///
    /// # Errors
    /// [`IssuanceError`]: 400 for a bad token or key, with nothing recorded
    /// and nothing logged in CT; 500 when the CA, the CT log or the store fails.
    pub async fn issue(&self, request: &CertificateRequest) -> Result<IssuedChain, IssuanceError> {
        let result = self.issue_checked(request).await;
        if let Err(e) = &result {
            match e {
                IssuanceError::Identity(identity) => crate::metrics::refused(
                    self.verifier.issuer_label(&request.token),
                    identity.reason(),
                ),
                IssuanceError::Possession(possession) => crate::metrics::refused(
                    self.verifier.issuer_label(&request.token),
                    possession.reason(),
                ),
                IssuanceError::Ca(_) | IssuanceError::CtLog(_) | IssuanceError::Store(_) => {
                    crate::metrics::failed(e.reason());
                }
            }
        }
        result
    }

    async fn issue_checked(
        &self,
        request: &CertificateRequest,
    ) -> Result<IssuedChain, IssuanceError> {
        let started = std::time::Instant::now();
        let token = self.verifier.verify(&request.token).await?;
        let verified = started.elapsed();
        let principal = principal::from_token(&token, self.verifier.config())?;
        let key = prove(&request.key, &principal, &token)?;
        let proven = started.elapsed();
        let profile = leaf_profile(&principal, &key, unix_now())?;
        let intent = IssuanceIntent {
            serial: profile.serial.to_vec(),
            principal: san_text(&principal.san).to_owned(),
            issuer: token.issuer.url.clone(),
            key_hash: Sha256::digest(&key.spki_der).into(),
        };
        // Returns once the batch holding the intent has committed.
        self.recorder.record_intent(intent.clone()).await?;
        let intended = started.elapsed();
        match self.sign(&profile).await {
            Ok(chain) => {
                let signed = started.elapsed();
                let record = audit_record(&intent, &profile, &chain[0]);
                self.recorder.record_certificate(record).await?;
                tracing::info!(
                    serial = %hex::encode(profile.serial),
                    issuer = %intent.issuer,
                    token_us = verified.as_micros(),
                    proof_us = (proven - verified).as_micros(),
                    intent_us = (intended - proven).as_micros(),
                    sign_and_log_us = (signed - intended).as_micros(),
                    record_us = (started.elapsed() - signed).as_micros(),
                    "certificate issued"
                );
                crate::metrics::issued(&token.issuer.url);
                Ok(IssuedChain {
                    chain,
                    serial: profile.serial,
                })
            }
            Err(e) => {
                if let Err(store) = self.store.record_failure(&intent.serial, e.reason()).await {
                    tracing::error!(error = %store, "recording a failed issuance");
                }
                Err(e)
            }
        }
    }

    /// Precertificate → SCT → final certificate with that one SCT (ca.md §9).
    async fn sign(&self, profile: &LeafProfile) -> Result<Vec<Vec<u8>>, IssuanceError> {
        let precertificate = self.signed(profile, None).await?;
        let mut pre_chain = Vec::with_capacity(1 + self.ca_chain.len());
        pre_chain.push(precertificate);
        pre_chain.extend(self.ca_chain.iter().cloned());
        let sct = self
            .sct
            .add_pre_chain(&pre_chain)
            .await
            .map_err(|e| IssuanceError::CtLog(e.0))?;
        let list = signed_certificate_timestamp_list(std::slice::from_ref(&sct))
            .map_err(|e| IssuanceError::CtLog(e.to_string()))?;
        let certificate = self.signed(profile, Some(list)).await?;
        let mut chain = pre_chain;
        chain[0] = certificate;
        Ok(chain)
    }

    /// The precertificate (no SCT list) or the final certificate of
    /// `profile`, signed here, or on a blocking thread when the key is
    /// behind I/O (an HSM), so that the async threads keep serving.
    /// Whether the CA key still signs (a readiness probe: a token may be
    /// gone or its session lost).
    ///
    /// # Errors
    /// The signer's failure, as text.
    pub async fn probe_key(&self) -> Result<(), String> {
        if !self.ca.signing_blocks() {
            return self.ca.probe_key();
        }
        let ca = Arc::clone(&self.ca);
        tokio::task::spawn_blocking(move || ca.probe_key())
            .await
            .map_err(|e| format!("signing task: {e}"))?
    }

    async fn signed(
        &self,
        profile: &LeafProfile,
        sct_list: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, IssuanceError> {
        fn sign(
            ca: &CertificateAuthority,
            profile: &LeafProfile,
            sct_list: Option<&[u8]>,
        ) -> Result<Vec<u8>, CertificateError> {
            match sct_list {
                None => ca.precertificate(profile),
                Some(list) => ca.certificate(profile, list),
            }
        }
        if !self.ca.signing_blocks() {
            return Ok(sign(&self.ca, profile, sct_list.as_deref())?);
        }
        let (ca, owned) = (Arc::clone(&self.ca), profile.clone());
        let signed = tokio::task::spawn_blocking(move || sign(&ca, &owned, sct_list.as_deref()))
            .await
            .map_err(|e| IssuanceError::Ca(format!("signing task: {e}")))?;
        Ok(signed?)
    }
}

/// The key's proof. A signed challenge may sign the principal's challenge
/// (Fulcio's rule: `email` for email issuers, else `sub`, or the issuer's
/// `ChallengeClaim`) or what the key-based clients sign: the token's
/// `email` when it has one, else `sub` (cosign, sigstore-go, sigstore-js;
/// ca.md §4). Fulcio refuses the second for a non-email issuer whose tokens
/// carry an email; here the client wins. Both values come from the verified
/// token and neither reaches the certificate.
fn prove(
    proof: &KeyProof,
    principal: &Principal,
    token: &VerifiedToken,
) -> Result<ProvenKey, PossessionError> {
    let (public_key, signature) = match proof {
        KeyProof::Csr(pem) => return proof_of_possession::prove_with_csr(pem),
        KeyProof::Challenge { public_key, proof } => (public_key, proof),
    };
    let first = proof_of_possession::prove_with_challenge(
        public_key,
        signature,
        &principal.subject_for_pop,
    );
    let clients_choice = token
        .claims
        .text("email")
        .filter(|email| !email.is_empty())
        .or_else(|| token.claims.text("sub"));
    match (first, clients_choice) {
        (Err(PossessionError::BadSignature), Some(challenge))
            if challenge != principal.subject_for_pop =>
        {
            proof_of_possession::prove_with_challenge(public_key, signature, &challenge)
        }
        (outcome, _) => outcome,
    }
}

/// The §8 profile of one leaf: a fresh random serial, notBefore now.
fn leaf_profile(
    principal: &Principal,
    key: &ProvenKey,
    now: i64,
) -> Result<LeafProfile, IssuanceError> {
    let mut serial = [0u8; 20];
    aws_lc_rs::rand::fill(&mut serial)
        .map_err(|_| IssuanceError::Ca("no randomness for a serial".into()))?;
    serial[0] &= 0x7f;
    let prefix = format!("{SIGSTORE_ARC}.");
    let extensions = principal
        .extensions
        .iter()
        .map(|(oid, value)| {
            let arc = oid
                .strip_prefix(&prefix)
                .and_then(|arc| arc.parse().ok())
                .ok_or_else(|| {
                    IssuanceError::Ca(format!("extension {oid} is not a Sigstore one"))
                })?;
            Ok(SigstoreExtension {
                arc,
                value: value.clone(),
            })
        })
        .collect::<Result<_, IssuanceError>>()?;
    let san = match &principal.san {
        San::Email(e) => SubjectAltName::Email(e.clone()),
        San::Uri(u) => SubjectAltName::Uri(u.clone()),
        San::OtherNameUsername(n) => SubjectAltName::Username(n.clone()),
    };
    Ok(LeafProfile {
        subject_public_key: key.spki_der.clone(),
        san,
        extensions,
        serial,
        not_before: now,
    })
}

fn san_text(san: &San) -> &str {
    match san {
        San::Email(v) | San::Uri(v) | San::OtherNameUsername(v) => v,
    }
}

fn audit_record(intent: &IssuanceIntent, profile: &LeafProfile, der: &[u8]) -> IssuedCertificate {
    IssuedCertificate {
        serial: intent.serial.clone(),
        san: intent.principal.clone(),
        issuer: intent.issuer.clone(),
        not_before: profile.not_before,
        not_after: profile.not_before + VALIDITY_SECONDS,
        fingerprint: Sha256::digest(der).into(),
        der: der.to_vec(),
    }
}

/// Unix seconds now (0 before 1970, saturating far ahead).
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
