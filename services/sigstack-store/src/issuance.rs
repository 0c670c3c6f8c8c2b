//! The CA's storage port: intents recorded before any signature, and the
//! certificates issued, for audit (style.md practice 5). Implemented for
//! both backends in `postgres` and `sqlite`.

use std::collections::HashSet;
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

/// What each item of a batch came to, in the batch's order. The outer
/// `Result` of a batch method is the transaction: an `Err` there means
/// nothing of the batch was stored.
pub type BatchOutcome = Vec<Result<(), StoreError>>;

/// The CA's port. The batch methods exist so that a CA under load pays one
/// commit for many requests (its `recorder` groups them); each item still
/// succeeds or fails on its own, as if written alone.
pub trait IssuanceStore: Send + Sync {
    /// Records every intent of `intents` in one transaction, durably once
    /// this returns. The CA signs nothing for a serial whose outcome here is
    /// not `Ok`.
    ///
    /// # Errors
    /// Per intent, [`StoreError::Conflict`] for a serial already used
    /// (earlier, or by an earlier intent of the same batch); the others are
    /// stored. The outer error (the database failed, or a row broke a
    /// schema check) means no intent of the batch was stored.
    fn record_intents(
        &self,
        intents: &[IssuanceIntent],
    ) -> impl Future<Output = Result<BatchOutcome, StoreError>> + Send;

    /// Stores each certificate of `certificates` and marks its intent
    /// issued, all in one transaction.
    ///
    /// # Errors
    /// Per certificate, [`StoreError::Corrupt`] ("no open intent for serial …") when no
    /// open intent has its serial; nothing is stored for that one, the
    /// others are. The outer error means nothing of the batch was stored.
    fn record_certificates(
        &self,
        certificates: &[IssuedCertificate],
    ) -> impl Future<Output = Result<BatchOutcome, StoreError>> + Send;

    /// Records `intent` durably: a batch of one.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] for a serial already used.
    fn record_intent(
        &self,
        intent: &IssuanceIntent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move { only(self.record_intents(std::slice::from_ref(intent)).await?) }
    }

    /// Stores the certificate and marks its intent issued, in one
    /// transaction: a batch of one.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when no open intent has this serial.
    fn record_certificate(
        &self,
        certificate: &IssuedCertificate,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            only(
                self.record_certificates(std::slice::from_ref(certificate))
                    .await?,
            )
        }
    }

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

/// The outcome of a batch of one.
fn only(outcome: BatchOutcome) -> Result<(), StoreError> {
    let answered = outcome.len();
    let mut outcomes = outcome.into_iter();
    match (outcomes.next(), outcomes.next()) {
        (Some(one), None) => one,
        _ => Err(StoreError::Corrupt(format!(
            "a batch of one answered {answered} outcomes"
        ))),
    }
}

/// Each item's outcome, given the serials the batch's statement reports as
/// written: the first item with a written serial is `Ok`, every other item
/// (not written, or a repeat of a serial earlier in the batch) gets
/// `refused(serial)`.
pub(crate) fn outcomes<'a>(
    serials: impl Iterator<Item = &'a [u8]>,
    mut written: HashSet<Vec<u8>>,
    refused: fn(&[u8]) -> StoreError,
) -> BatchOutcome {
    serials
        .map(|serial| {
            if written.remove(serial) {
                Ok(())
            } else {
                Err(refused(serial))
            }
        })
        .collect()
}

/// A certificate whose serial has no intent in state `intended`.
pub(crate) fn no_open_intent(serial: &[u8]) -> StoreError {
    StoreError::Corrupt(format!("no open intent for serial {}", hex(serial)))
}

/// An intent whose serial is already used.
pub(crate) fn serial_taken(serial: &[u8]) -> StoreError {
    StoreError::Conflict(format!("serial {} already has an intent", hex(serial)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
