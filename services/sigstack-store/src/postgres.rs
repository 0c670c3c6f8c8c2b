//! The storage ports over PostgreSQL, the production backend.
//!
//! Writers of one tree are serialised by a transaction-scoped advisory lock
//! keyed by the tree ID (`pg_advisory_xact_lock`), taken when a batch opens
//! and released by its commit or rollback, so several engine processes may
//! share a database; the head's compare-and-swap inside the same transaction
//! makes a writer that lost the lock fail instead of forking the tree.

use std::time::Duration;

use sigstack_core::hash::Hash;
use sigstack_core::ids::{LeafIndex, TreeId, TreeSize};
use sigstack_core::tile::TileId;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool, Postgres, Row, Transaction};

use crate::ports::{
    BatchWrite, LeafRow, LogReader, SequencerBatch, SequencerStore, StoredHead, StoredTile,
    TreeCatalog, TreeRecord, check_batch,
};
use crate::rows::{
    decode_hash, decode_head, decode_index, decode_leaf, decode_location, decode_sizes,
    decode_state, decode_tile, decode_tree, head_moved, to_i64,
};
use crate::{StoreError, TreeState};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Connection settings for [`PostgresStore::connect`].
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    pub max_connections: u32,
    /// How long a caller waits for a pooled connection.
    pub acquire_timeout: Duration,
    /// Server-side limit on any one statement.
    pub statement_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(30),
        }
    }
}

/// The PostgreSQL implementation of every storage port.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
}

impl PostgresStore {
    /// Connects (lazily checked by the first query) and runs the migrations.
    ///
    /// # Errors
    /// A malformed URL, an unreachable server, or a failed migration.
    pub async fn connect(url: &str, options: &PostgresOptions) -> Result<Self, StoreError> {
        let connect: PgConnectOptions = url.parse().map_err(StoreError::Database)?;
        let statement_timeout = options.statement_timeout.as_millis().to_string();
        let connect = connect.options([("statement_timeout", statement_timeout.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// Creates the database `name` on the server of `admin_url` (used by
    /// tests and by `sigstack migrate --create-database`).
    ///
    /// # Errors
    /// An invalid name (only `[a-z0-9_]` is accepted), or the server refusing.
    pub async fn create_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StoreError::Corrupt(format!(
                "invalid database name {name:?}"
            )));
        }
        let options: PgConnectOptions = admin_url.parse().map_err(StoreError::Database)?;
        let mut conn = options.connect().await?;
        // The name was checked above to be a plain identifier, so quoting it is safe.
        let sql = format!("CREATE DATABASE \"{name}\"");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl TreeCatalog for PostgresStore {
    async fn create_tree(
        &self,
        log: &str,
        tree: TreeId,
        genesis: BatchWrite,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        start_tree(&mut tx, log, tree, &genesis).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rotate_tree<F>(&self, log: &str, tree: TreeId, genesis: F) -> Result<(), StoreError>
    where
        F: FnOnce(&[(TreeId, TreeSize)]) -> Result<BatchWrite, String> + Send,
    {
        let mut tx = self.pool.begin().await?;
        let active: Option<i64> = sqlx::query_scalar(
            "SELECT tree_id FROM trees WHERE log_name = $1 AND state = 'active' FOR UPDATE",
        )
        .bind(log)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(active) = active {
            // The batch lock: a batch in flight on the old tree commits first.
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(active)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE trees SET state = 'frozen', frozen_at = now() WHERE tree_id = $1")
                .bind(active)
                .execute(&mut *tx)
                .await?;
        }
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT t.tree_id, h.tree_size FROM trees t JOIN tree_heads h ON h.tree_id = t.tree_id \
             WHERE t.log_name = $1 ORDER BY t.created_at, t.tree_id",
        )
        .bind(log)
        .fetch_all(&mut *tx)
        .await?;
        let earlier = decode_sizes(rows)?;
        let write = genesis(&earlier).map_err(StoreError::Refused)?;
        start_tree(&mut tx, log, tree, &write).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn trees(&self, log: &str) -> Result<Vec<TreeRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT tree_id, log_name, state FROM trees WHERE log_name = $1 ORDER BY created_at, tree_id",
        )
        .bind(log)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| decode_tree(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
            .collect()
    }

    async fn freeze_tree(&self, tree: TreeId) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE trees SET state = 'frozen', frozen_at = now() WHERE tree_id = $1")
                .bind(tree.get())
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::TreeNotFound(tree));
        }
        Ok(())
    }
}

/// An open batch on PostgreSQL: the transaction holding the tree's advisory lock.
#[derive(Debug)]
pub struct PostgresBatch {
    tx: Transaction<'static, Postgres>,
    tree: TreeId,
    head: StoredHead,
}

impl SequencerStore for PostgresStore {
    type Batch = PostgresBatch;

    async fn begin_batch(&self, tree: TreeId) -> Result<PostgresBatch, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(tree.get())
            .execute(&mut *tx)
            .await?;
        // Read after the lock: this statement's snapshot sees every batch
        // committed by the writer that held the lock before us.
        let row = sqlx::query(
            "SELECT h.tree_size, h.root_hash, h.checkpoint, t.state \
             FROM tree_heads h JOIN trees t ON t.tree_id = h.tree_id WHERE h.tree_id = $1",
        )
        .bind(tree.get())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::TreeNotFound(tree))?;
        if decode_state(row.try_get(3)?)? == TreeState::Frozen {
            return Err(StoreError::TreeFrozen(tree));
        }
        let head = decode_head(row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)?;
        Ok(PostgresBatch { tx, tree, head })
    }
}

impl SequencerBatch for PostgresBatch {
    fn head(&self) -> &StoredHead {
        &self.head
    }

    async fn tiles(&mut self, ids: &[TileId]) -> Result<Vec<StoredTile>, StoreError> {
        fetch_tiles(&mut *self.tx, self.tree, ids).await
    }

    async fn find_leaves(&mut self, hashes: &[Hash]) -> Result<Vec<(Hash, LeafIndex)>, StoreError> {
        let wanted: Vec<&[u8]> = hashes.iter().map(|h| h.0.as_slice()).collect();
        // By hash alone, filtered by tree here: the only index that serves
        // this predicate is `leaves_by_hash`, whatever the statistics say
        // about a young tree (see migrations/postgres/0001).
        let rows = sqlx::query(
            "SELECT tree_id, leaf_hash, leaf_index FROM leaves WHERE leaf_hash = ANY($1)",
        )
        .bind(wanted)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut found = Vec::with_capacity(rows.len());
        for r in &rows {
            if r.try_get::<i64, _>(0)? == self.tree.get() {
                found.push((decode_hash(r.try_get(1)?)?, decode_index(r.try_get(2)?)?));
            }
        }
        Ok(found)
    }

    async fn commit(mut self, write: BatchWrite) -> Result<(), StoreError> {
        write_batch(&mut self.tx, self.tree, self.head.size, &write).await?;
        self.tx.commit().await?;
        Ok(())
    }
}

/// Writes a batch inside `tx` with one statement: leaves, tiles (never
/// narrowed), the checkpoint, and the head's compare-and-swap.
/// Inserts `tree` as `log`'s active tree with an empty head, then its first
/// write, inside `tx`.
async fn start_tree(
    tx: &mut Transaction<'static, Postgres>,
    log: &str,
    tree: TreeId,
    genesis: &BatchWrite,
) -> Result<(), StoreError> {
    check_batch(tree, TreeSize::ZERO, genesis)?;
    sqlx::query("INSERT INTO trees (tree_id, log_name, state) VALUES ($1, $2, 'active')")
        .bind(tree.get())
        .bind(log)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO tree_heads (tree_id, tree_size, root_hash, checkpoint) VALUES ($1, 0, $2, '')",
    )
    .bind(tree.get())
    .bind(sigstack_core::hash::EMPTY_ROOT.0.as_slice())
    .execute(&mut **tx)
    .await?;
    write_batch(tx, tree, TreeSize::ZERO, genesis).await
}

async fn write_batch(
    tx: &mut Transaction<'static, Postgres>,
    tree: TreeId,
    before: TreeSize,
    write: &BatchWrite,
) -> Result<(), StoreError> {
    check_batch(tree, before, write)?;
    let indexes: Vec<i64> = write
        .leaves
        .iter()
        .map(|l| to_i64(l.index.get()))
        .collect::<Result<_, _>>()?;
    let hashes: Vec<&[u8]> = write.leaves.iter().map(|l| l.hash.0.as_slice()).collect();
    let data: Vec<&[u8]> = write.leaves.iter().map(|l| l.data.as_slice()).collect();
    let times: Vec<i64> = write.leaves.iter().map(|l| l.integrated_at).collect();
    let seals: Vec<&[u8]> = write.leaves.iter().map(|l| l.seal.as_slice()).collect();
    let keys: Vec<&str> = write.keys.iter().map(|k| k.key.as_str()).collect();
    let key_indexes: Vec<i64> = write
        .keys
        .iter()
        .map(|k| to_i64(k.index.get()))
        .collect::<Result<_, _>>()?;
    let levels: Vec<i16> = write.tiles.iter().map(|t| i16::from(t.id.level)).collect();
    let tile_indexes: Vec<i64> = write
        .tiles
        .iter()
        .map(|t| to_i64(t.id.index))
        .collect::<Result<_, _>>()?;
    let tile_hashes: Vec<&[u8]> = write.tiles.iter().map(|t| t.hashes.as_slice()).collect();
    let done = sqlx::query(
        "WITH new_leaves AS ( \
            INSERT INTO leaves (tree_id, leaf_index, leaf_hash, leaf_data, integrated_at, seal) \
            SELECT $1, i, h, d, t, s \
            FROM UNNEST($2::bigint[], $3::bytea[], $4::bytea[], $12::bigint[], $13::bytea[]) AS u(i, h, d, t, s) \
         ), new_keys AS ( \
            INSERT INTO leaf_keys (search_key, tree_id, leaf_index) \
            SELECT k, $1, i FROM UNNEST($14::text[], $15::bigint[]) AS u(k, i) \
            ON CONFLICT DO NOTHING \
         ), new_tiles AS ( \
            INSERT INTO tiles (tree_id, tile_level, tile_index, hashes) \
            SELECT $1, l, i, h FROM UNNEST($5::smallint[], $6::bigint[], $7::bytea[]) AS u(l, i, h) \
            ON CONFLICT (tree_id, tile_level, tile_index) DO UPDATE SET hashes = EXCLUDED.hashes \
            WHERE length(tiles.hashes) <= length(EXCLUDED.hashes) \
         ), new_checkpoint AS ( \
            INSERT INTO checkpoints (tree_id, tree_size, checkpoint) VALUES ($1, $8, $10) \
         ) \
         UPDATE tree_heads SET tree_size = $8, root_hash = $9, checkpoint = $10, updated_at = now() \
         WHERE tree_id = $1 AND tree_size = $11",
    )
    .bind(tree.get())
    .bind(indexes)
    .bind(hashes)
    .bind(data)
    .bind(levels)
    .bind(tile_indexes)
    .bind(tile_hashes)
    .bind(to_i64(write.head.size.get())?)
    .bind(write.head.root.0.as_slice())
    .bind(write.head.checkpoint.as_str())
    .bind(to_i64(before.get())?)
    .bind(times)
    .bind(seals)
    .bind(keys)
    .bind(key_indexes)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT tree_size FROM tree_heads WHERE tree_id = $1")
                .bind(tree.get())
                .fetch_optional(&mut **tx)
                .await?;
        return Err(head_moved(tree, before, found));
    }
    Ok(())
}

async fn fetch_tiles<'c, E>(
    executor: E,
    tree: TreeId,
    ids: &[TileId],
) -> Result<Vec<StoredTile>, StoreError>
where
    E: sqlx::Executor<'c, Database = Postgres>,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let levels: Vec<i16> = ids.iter().map(|t| i16::from(t.level)).collect();
    let indexes: Vec<i64> = ids
        .iter()
        .map(|t| to_i64(t.index))
        .collect::<Result<_, _>>()?;
    let rows = sqlx::query(
        "SELECT t.tile_level, t.tile_index, t.hashes FROM tiles t \
         JOIN UNNEST($2::smallint[], $3::bigint[]) AS w(l, i) ON t.tile_level = w.l AND t.tile_index = w.i \
         WHERE t.tree_id = $1",
    )
    .bind(tree.get())
    .bind(levels)
    .bind(indexes)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            decode_tile(
                i64::from(r.try_get::<i16, _>(0)?),
                r.try_get(1)?,
                r.try_get(2)?,
            )
        })
        .collect()
}

impl LogReader for PostgresStore {
    async fn head(&self, tree: TreeId) -> Result<Option<StoredHead>, StoreError> {
        let row = sqlx::query(
            "SELECT tree_size, root_hash, checkpoint FROM tree_heads WHERE tree_id = $1",
        )
        .bind(tree.get())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| decode_head(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
            .transpose()
    }

    async fn tiles(&self, tree: TreeId, ids: &[TileId]) -> Result<Vec<StoredTile>, StoreError> {
        fetch_tiles(&self.pool, tree, ids).await
    }

    async fn leaves(
        &self,
        tree: TreeId,
        start: LeafIndex,
        count: u32,
    ) -> Result<Vec<LeafRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT leaf_index, leaf_hash, leaf_data, integrated_at, seal FROM leaves \
             WHERE tree_id = $1 AND leaf_index >= $2 ORDER BY leaf_index LIMIT $3",
        )
        .bind(tree.get())
        .bind(to_i64(start.get())?)
        .bind(i64::from(count))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                decode_leaf(
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                )
            })
            .collect()
    }

    async fn leaf_index(&self, tree: TreeId, hash: &Hash) -> Result<Option<LeafIndex>, StoreError> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT tree_id, leaf_index FROM leaves WHERE leaf_hash = $1")
                .bind(hash.0.as_slice())
                .fetch_all(&self.pool)
                .await?;
        let index = rows
            .into_iter()
            .find(|(t, _)| *t == tree.get())
            .map(|(_, i)| i);
        index.map(decode_index).transpose()
    }

    async fn find_by_key(
        &self,
        key: &str,
        limit: u32,
    ) -> Result<Vec<(TreeId, LeafIndex, Hash)>, StoreError> {
        let rows: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT k.tree_id, k.leaf_index, l.leaf_hash FROM leaf_keys k \
             JOIN leaves l ON l.tree_id = k.tree_id AND l.leaf_index = k.leaf_index \
             WHERE k.search_key = $1 ORDER BY k.tree_id, k.leaf_index LIMIT $2",
        )
        .bind(key)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(t, i, h)| {
                let (tree, index) = decode_location(t, i)?;
                Ok((tree, index, decode_hash(h)?))
            })
            .collect()
    }

    async fn find_by_hash(&self, hash: &Hash) -> Result<Vec<(TreeId, LeafIndex)>, StoreError> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT tree_id, leaf_index FROM leaves WHERE leaf_hash = $1")
                .bind(hash.0.as_slice())
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(t, i)| decode_location(t, i))
            .collect()
    }

    async fn checkpoint_at(
        &self,
        tree: TreeId,
        size: TreeSize,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT checkpoint FROM checkpoints WHERE tree_id = $1 AND tree_size = $2",
        )
        .bind(tree.get())
        .bind(to_i64(size.get())?)
        .fetch_optional(&self.pool)
        .await?)
    }
}

impl crate::ports::Ping for PostgresStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
