//! [`IssuanceStore`] over PostgreSQL.

use sqlx::Row;

use crate::issuance::{
    IntentState, IssuanceIntent, IssuanceStore, IssuedCertificate, decode_certificate,
    decode_state, no_open_intent,
};
use crate::{PostgresStore, StoreError};

impl IssuanceStore for PostgresStore {
    async fn record_intent(&self, intent: &IssuanceIntent) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO issuance_intents (serial, principal, issuer, key_hash, state) VALUES ($1, $2, $3, $4, 'intended')",
        )
        .bind(intent.serial.as_slice())
        .bind(intent.principal.as_str())
        .bind(intent.issuer.as_str())
        .bind(intent.key_hash.as_slice())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_certificate(&self, c: &IssuedCertificate) -> Result<(), StoreError> {
        // One statement, so one round trip and atomic by itself: the intent
        // is closed and the certificate stored together, or neither (no open
        // intent inserts no row; a failed insert undoes the update).
        let stored = sqlx::query(
            "WITH issued AS ( \
                 UPDATE issuance_intents SET state = 'issued' \
                 WHERE serial = $1 AND state = 'intended' RETURNING serial) \
             INSERT INTO certificates (serial, san, issuer, not_before, not_after, fingerprint, der) \
             SELECT serial, $2, $3, $4, $5, $6, $7 FROM issued",
        )
        .bind(c.serial.as_slice())
        .bind(c.san.as_str())
        .bind(c.issuer.as_str())
        .bind(c.not_before)
        .bind(c.not_after)
        .bind(c.fingerprint.as_slice())
        .bind(c.der.as_slice())
        .execute(&self.pool)
        .await?;
        if stored.rows_affected() != 1 {
            return Err(no_open_intent(&c.serial));
        }
        Ok(())
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
