-- The CA's record: an intent is written before any key signs (style.md
-- practice 5), then the issued certificate, for audit.

CREATE TABLE issuance_intents (
    serial      BYTEA PRIMARY KEY CHECK (length(serial) BETWEEN 1 AND 20),
    principal   TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    key_hash    BYTEA NOT NULL CHECK (length(key_hash) = 32),
    state       TEXT NOT NULL CHECK (state IN ('intended', 'issued', 'failed')),
    reason      TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE certificates (
    serial       BYTEA PRIMARY KEY REFERENCES issuance_intents (serial),
    san          TEXT NOT NULL,
    issuer       TEXT NOT NULL,
    not_before   BIGINT NOT NULL,
    not_after    BIGINT NOT NULL,
    fingerprint  BYTEA NOT NULL CHECK (length(fingerprint) = 32),
    der          BYTEA NOT NULL
);
CREATE INDEX certificates_by_san ON certificates (san);
