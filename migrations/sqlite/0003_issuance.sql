-- The same step as migrations/postgres/0003 for SQLite.

CREATE TABLE issuance_intents (
    serial      BLOB PRIMARY KEY CHECK (length(serial) BETWEEN 1 AND 20),
    principal   TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    key_hash    BLOB NOT NULL CHECK (length(key_hash) = 32),
    state       TEXT NOT NULL CHECK (state IN ('intended', 'issued', 'failed')),
    reason      TEXT,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE certificates (
    serial       BLOB PRIMARY KEY REFERENCES issuance_intents (serial),
    san          TEXT NOT NULL,
    issuer       TEXT NOT NULL,
    not_before   INTEGER NOT NULL,
    not_after    INTEGER NOT NULL,
    fingerprint  BLOB NOT NULL CHECK (length(fingerprint) = 32),
    der          BLOB NOT NULL
) STRICT;
CREATE INDEX certificates_by_san ON certificates (san);
