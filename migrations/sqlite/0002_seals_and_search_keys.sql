-- The same step as migrations/postgres/0002 for SQLite.

ALTER TABLE leaves ADD COLUMN integrated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leaves ADD COLUMN seal BLOB NOT NULL DEFAULT x'';

CREATE TABLE leaf_keys (
    search_key  TEXT NOT NULL,
    tree_id     INTEGER NOT NULL REFERENCES trees (tree_id),
    leaf_index  INTEGER NOT NULL,
    PRIMARY KEY (search_key, tree_id, leaf_index)
) STRICT, WITHOUT ROWID;
