-- The log engine's tables (SQLite). The same steps as migrations/postgres/.
-- Forward-only: never edit once merged; add a new step. Leaves and tiles keep
-- rowids: their rows (up to 64 KiB and 8 KiB) are too large for WITHOUT ROWID.

CREATE TABLE trees (
    tree_id     INTEGER PRIMARY KEY CHECK (tree_id > 0),
    log_name    TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('active', 'frozen')),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    frozen_at   TEXT
) STRICT;
CREATE UNIQUE INDEX trees_one_active_per_log ON trees (log_name) WHERE state = 'active';

CREATE TABLE tree_heads (
    tree_id     INTEGER PRIMARY KEY REFERENCES trees (tree_id),
    tree_size   INTEGER NOT NULL CHECK (tree_size >= 0),
    root_hash   BLOB NOT NULL CHECK (length(root_hash) = 32),
    checkpoint  TEXT NOT NULL,
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE leaves (
    tree_id     INTEGER NOT NULL REFERENCES trees (tree_id),
    leaf_index  INTEGER NOT NULL CHECK (leaf_index >= 0),
    leaf_hash   BLOB NOT NULL CHECK (length(leaf_hash) = 32),
    leaf_data   BLOB NOT NULL,
    PRIMARY KEY (tree_id, leaf_index)
) STRICT;
CREATE UNIQUE INDEX leaves_by_hash ON leaves (leaf_hash, tree_id);

CREATE TABLE tiles (
    tree_id     INTEGER NOT NULL REFERENCES trees (tree_id),
    tile_level  INTEGER NOT NULL CHECK (tile_level >= 0),
    tile_index  INTEGER NOT NULL CHECK (tile_index >= 0),
    hashes      BLOB NOT NULL CHECK (length(hashes) BETWEEN 32 AND 8192 AND length(hashes) % 32 = 0),
    PRIMARY KEY (tree_id, tile_level, tile_index)
) STRICT;

CREATE TABLE checkpoints (
    tree_id     INTEGER NOT NULL REFERENCES trees (tree_id),
    tree_size   INTEGER NOT NULL,
    checkpoint  TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (tree_id, tree_size)
) STRICT, WITHOUT ROWID;
