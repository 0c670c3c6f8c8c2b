-- What a personality attaches to each leaf at integration (Rekor: the signed
-- entry timestamp), the integration time in Unix seconds, and the search
-- keys written in the same transaction as the leaf.

ALTER TABLE leaves
    ADD COLUMN integrated_at BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN seal BYTEA NOT NULL DEFAULT '';

CREATE TABLE leaf_keys (
    search_key  TEXT NOT NULL,
    tree_id     BIGINT NOT NULL REFERENCES trees (tree_id),
    leaf_index  BIGINT NOT NULL,
    PRIMARY KEY (search_key, tree_id, leaf_index)
);
