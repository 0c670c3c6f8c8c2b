//! [`IssuanceStore`] over SQLite.

use sqlx::Row;

use crate::issuance::{
    BatchOutcome, IntentState, IssuanceIntent, IssuanceStore, IssuedCertificate,
    decode_certificate, decode_state, no_open_intent, serial_taken,
};
use crate::{SqliteStore, StoreError};

impl IssuanceStore for SqliteStore {
    async fn record_intents(&self, intents: &[IssuanceIntent]) -> Result<BatchOutcome, StoreError> {
        if intents.is_empty() {
            return Ok(Vec::new());
        }
        // One transaction, one commit. `DO NOTHING` lets a used serial refuse
        // its own intent without failing the statement, and so the batch.
        let mut tx = self.pool.begin().await?;
        let mut outcome = Vec::with_capacity(intents.len());
        for intent in intents {
            let inserted = sqlx::query(
                "INSERT INTO issuance_intents (serial, principal, issuer, key_hash, state) \
                 VALUES (?, ?, ?, ?, 'intended') ON CONFLICT (serial) DO NOTHING",
            )
            .bind(intent.serial.as_slice())
            .bind(intent.principal.as_str())
            .bind(intent.issuer.as_str())
            .bind(intent.key_hash.as_slice())
            .execute(&mut *tx)
            .await?;
            outcome.push(if inserted.rows_affected() == 1 {
                Ok(())
            } else {
                Err(serial_taken(&intent.serial))
            });
        }
        tx.commit().await?;
        Ok(outcome)
    }

    async fn record_certificates(
        &self,
        certificates: &[IssuedCertificate],
    ) -> Result<BatchOutcome, StoreError> {
        if certificates.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await?;
        let mut outcome = Vec::with_capacity(certificates.len());
        for c in certificates {
            let updated = sqlx::query(
                "UPDATE issuance_intents SET state = 'issued' WHERE serial = ? AND state = 'intended'",
            )
            .bind(c.serial.as_slice())
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                outcome.push(Err(no_open_intent(&c.serial)));
                continue;
            }
            sqlx::query(
                "INSERT INTO certificates (serial, san, issuer, not_before, not_after, fingerprint, der) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(c.serial.as_slice())
            .bind(c.san.as_str())
            .bind(c.issuer.as_str())
            .bind(c.not_before)
            .bind(c.not_after)
            .bind(c.fingerprint.as_slice())
            .bind(c.der.as_slice())
            .execute(&mut *tx)
            .await?;
            outcome.push(Ok(()));
        }
        tx.commit().await?;
        Ok(outcome)
    }

    async fn record_failure(&self, serial: &[u8], reason: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE issuance_intents SET state = 'failed', reason = ? WHERE serial = ? AND state = 'intended'")
            .bind(reason)
            .bind(serial)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn intent_state(&self, serial: &[u8]) -> Result<Option<IntentState>, StoreError> {
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM issuance_intents WHERE serial = ?")
                .bind(serial)
                .fetch_optional(&self.pool)
                .await?;
        state.as_deref().map(decode_state).transpose()
    }

    async fn certificate(&self, serial: &[u8]) -> Result<Option<IssuedCertificate>, StoreError> {
        let row = sqlx::query(
            "SELECT serial, san, issuer, not_before, not_after, fingerprint, der FROM certificates WHERE serial = ?",
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
