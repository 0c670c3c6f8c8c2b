//! [`IssuanceStore`] over PostgreSQL.

use sqlx::Row;

use crate::issuance::{
    BatchOutcome, IntentState, IssuanceIntent, IssuanceStore, IssuedCertificate,
    decode_certificate, decode_state, no_open_intent, outcomes, serial_taken,
};
use crate::{PostgresStore, StoreError};

impl IssuanceStore for PostgresStore {
    async fn record_intents(&self, intents: &[IssuanceIntent]) -> Result<BatchOutcome, StoreError> {
        if intents.is_empty() {
            return Ok(Vec::new());
        }
        // One statement, so one round trip and one commit for the batch. A
        // used serial (stored before, or earlier in this batch) inserts no
        // row and is not returned; only that intent is refused.
        let written: Vec<Vec<u8>> = sqlx::query_scalar(
            "INSERT INTO issuance_intents (serial, principal, issuer, key_hash, state) \
             SELECT s, p, i, k, 'intended' \
             FROM UNNEST($1::bytea[], $2::text[], $3::text[], $4::bytea[]) AS u(s, p, i, k) \
             ON CONFLICT (serial) DO NOTHING RETURNING serial",
        )
        .bind(
            intents
                .iter()
                .map(|i| i.serial.as_slice())
                .collect::<Vec<_>>(),
        )
        .bind(
            intents
                .iter()
                .map(|i| i.principal.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            intents
                .iter()
                .map(|i| i.issuer.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            intents
                .iter()
                .map(|i| i.key_hash.as_slice())
                .collect::<Vec<_>>(),
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(outcomes(
            intents.iter().map(|i| i.serial.as_slice()),
            written.into_iter().collect(),
            serial_taken,
        ))
    }

    async fn record_certificates(
        &self,
        certificates: &[IssuedCertificate],
    ) -> Result<BatchOutcome, StoreError> {
        if certificates.is_empty() {
            return Ok(Vec::new());
        }
        // One statement, atomic by itself: each open intent is closed and its
        // certificate stored together, or, if the statement fails, none is.
        // A serial without an open intent inserts no row; a serial repeated
        // in the batch counts once (its first row, by ordinality), so the
        // repeat finds its intent no longer open.
        let written: Vec<Vec<u8>> = sqlx::query_scalar(
            "WITH input AS ( \
                 SELECT DISTINCT ON (serial) serial, san, issuer, not_before, not_after, fingerprint, der \
                 FROM UNNEST($1::bytea[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bytea[], $7::bytea[]) \
                     WITH ORDINALITY AS u(serial, san, issuer, not_before, not_after, fingerprint, der, n) \
                 ORDER BY serial, n), \
             issued AS ( \
                 UPDATE issuance_intents SET state = 'issued' FROM input \
                 WHERE issuance_intents.serial = input.serial AND issuance_intents.state = 'intended' \
                 RETURNING issuance_intents.serial) \
             INSERT INTO certificates (serial, san, issuer, not_before, not_after, fingerprint, der) \
             SELECT input.serial, san, issuer, not_before, not_after, fingerprint, der \
             FROM input JOIN issued ON issued.serial = input.serial \
             RETURNING serial",
        )
        .bind(certificates.iter().map(|c| c.serial.as_slice()).collect::<Vec<_>>())
        .bind(certificates.iter().map(|c| c.san.as_str()).collect::<Vec<_>>())
        .bind(certificates.iter().map(|c| c.issuer.as_str()).collect::<Vec<_>>())
        .bind(certificates.iter().map(|c| c.not_before).collect::<Vec<_>>())
        .bind(certificates.iter().map(|c| c.not_after).collect::<Vec<_>>())
        .bind(certificates.iter().map(|c| c.fingerprint.as_slice()).collect::<Vec<_>>())
        .bind(certificates.iter().map(|c| c.der.as_slice()).collect::<Vec<_>>())
        .fetch_all(&self.pool)
        .await?;
        Ok(outcomes(
            certificates.iter().map(|c| c.serial.as_slice()),
            written.into_iter().collect(),
            no_open_intent,
        ))
    }

    async fn record_failure(&self, serial: &[u8], reason: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE issuance_intents SET state = 'failed', reason = $2 WHERE serial = $1 AND state = 'intended'")
            .bind(serial)
            .bind(reason)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn intent_state(&self, serial: &[u8]) -> Result<Option<IntentState>, StoreError> {
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM issuance_intents WHERE serial = $1")
                .bind(serial)
                .fetch_optional(&self.pool)
                .await?;
        state.as_deref().map(decode_state).transpose()
    }

    async fn certificate(&self, serial: &[u8]) -> Result<Option<IssuedCertificate>, StoreError> {
        let row = sqlx::query(
            "SELECT serial, san, issuer, not_before, not_after, fingerprint, der FROM certificates WHERE serial = $1",
        )
        .bind(serial)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            decode_certificate(
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
                r.try_get(5)?,
                r.try_get(6)?,
            )
        })
        .transpose()
    }

    async fn issued_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM certificates")
            .fetch_one(&self.pool)
            .await?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative count {n}")))
    }
}
