-- The log engine's tables. Forward-only: never edit once merged; add a new step.

-- A log is a list of trees (shards): one active, older ones frozen.
CREATE TABLE trees (
    tree_id     BIGINT PRIMARY KEY CHECK (tree_id > 0),
    log_name    TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('active', 'frozen')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    frozen_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX trees_one_active_per_log ON trees (log_name) WHERE state = 'active';

-- The latest signed head of each tree. Updated only by the sequencer, by
-- compare-and-swap on tree_size, in the transaction that writes the batch.
CREATE TABLE tree_heads (
    tree_id     BIGINT PRIMARY KEY REFERENCES trees (tree_id),
    tree_size   BIGINT NOT NULL CHECK (tree_size >= 0),
    root_hash   BYTEA NOT NULL CHECK (length(root_hash) = 32),
    checkpoint  TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE leaves (
    tree_id     BIGINT NOT NULL REFERENCES trees (tree_id),
    leaf_index  BIGINT NOT NULL CHECK (leaf_index >= 0),
    leaf_hash   BYTEA NOT NULL CHECK (length(leaf_hash) = 32),
    leaf_data   BYTEA NOT NULL,
    PRIMARY KEY (tree_id, leaf_index)
);
-- Deduplication by leaf hash, per tree. The hash leads, so a lookup by hash
-- can use no other index: with tree_id first, PostgreSQL planned lookups for a
-- tree newer than its statistics as a scan of the whole tree.
CREATE UNIQUE INDEX leaves_by_hash ON leaves (leaf_hash, tree_id);

-- C2SP tlog-tiles: the newest version of each tile (partial tiles are
-- rewritten until full; a prefix of a tile is the tile at a smaller size).
CREATE TABLE tiles (
    tree_id     BIGINT NOT NULL REFERENCES trees (tree_id),
    tile_level  SMALLINT NOT NULL CHECK (tile_level >= 0),
    tile_index  BIGINT NOT NULL CHECK (tile_index >= 0),
    hashes      BYTEA NOT NULL CHECK (length(hashes) BETWEEN 32 AND 8192 AND length(hashes) % 32 = 0),
    PRIMARY KEY (tree_id, tile_level, tile_index)
);

-- Every checkpoint the log signed, one per batch.
CREATE TABLE checkpoints (
    tree_id     BIGINT NOT NULL REFERENCES trees (tree_id),
    tree_size   BIGINT NOT NULL,
    checkpoint  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tree_id, tree_size)
);
