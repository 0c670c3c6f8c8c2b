//! The CA's storage port: intents recorded before any signature, and the
//! certificates issued, for audit (style.md practice 5). Implemented for
//! both backends in `postgres` and `sqlite`.

use std::future::Future;

use crate::StoreError;

/// What the CA is about to sign, recorded first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuanceIntent {
    /// The certificate's serial number (1 to 20 octets).
    pub serial: Vec<u8>,
    /// The identity the certificate will name.
    pub principal: String,
    /// The OIDC issuer that vouched for it.
    pub issuer: String,
    /// SHA-256 of the requester's public key (DER SubjectPublicKeyInfo).
    pub key_hash: [u8; 32],
}

/// A certificate the CA issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    pub serial: Vec<u8>,
    pub san: String,
    pub issuer: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// SHA-256 of `der`.
    pub fingerprint: [u8; 32],
    pub der: Vec<u8>,
}

/// Where an intent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentState {
    Intended,
    Issued,
    Failed,
}

/// The CA's port.
pub trait IssuanceStore: Send + Sync {
    /// Records `intent` durably. The CA signs nothing for a serial whose
    /// intent this did not return `Ok` for.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] for a serial already used.
    fn record_intent(
        &self,
        intent: &IssuanceIntent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores the certificate and marks its intent issued, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when no open intent has this serial.
    fn record_certificate(
        &self,
        certificate: &IssuedCertificate,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Marks an open intent failed (the signature or the SCT did not come).
    ///
    /// # Errors
    /// A database error.
    fn record_failure(
        &self,
        serial: &[u8],
        reason: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The state of the intent with `serial`, if any.
    fn intent_state(
        &self,
        serial: &[u8],
    ) -> impl Future<Output = Result<Option<IntentState>, StoreError>> + Send;

    /// The issued certificate with `serial`, if any.
    fn certificate(
        &self,
        serial: &[u8],
    ) -> impl Future<Output = Result<Option<IssuedCertificate>, StoreError>> + Send;

    /// How many certificates were issued.
    fn issued_count(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

pub(crate) fn decode_state(state: &str) -> Result<IntentState, StoreError> {
    match state {
        "intended" => Ok(IntentState::Intended),
        "issued" => Ok(IntentState::Issued),
        "failed" => Ok(IntentState::Failed),
        other => Err(StoreError::Corrupt(format!(
            "unknown intent state {other:?}"
        ))),
    }
}

fn fixed32(bytes: Vec<u8>, what: &str) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map_err(|b| StoreError::Corrupt(format!("{what} of {} bytes", b.len())))
}

/// A `certificates` row, in its column order.
pub(crate) fn decode_certificate(
    serial: Vec<u8>,
    san: String,
    issuer: String,
    not_before: i64,
    not_after: i64,
    fingerprint: Vec<u8>,
    der: Vec<u8>,
) -> Result<IssuedCertificate, StoreError> {
    Ok(IssuedCertificate {
        serial,
        san,
        issuer,
        not_before,
        not_after,
        fingerprint: fixed32(fingerprint, "fingerprint")?,
        der,
    })
}

pub(crate) fn no_open_intent(serial: &[u8]) -> StoreError {
    let hex: String = serial.iter().map(|b| format!("{b:02x}")).collect();
    StoreError::Corrupt(format!("no open intent for serial {hex}"))
}
