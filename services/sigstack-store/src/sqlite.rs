//! The storage ports over an embedded SQLite database, the default of
//! `sigstack up`.
//!
//! The database runs in WAL mode with `synchronous = FULL`, so a committed
//! batch survives a crash of the process and of the machine. A batch opens
//! with `BEGIN IMMEDIATE`, which takes SQLite's single write lock: writers of
//! any tree, in this process or another, are serialised there, and the head's
//! compare-and-swap still guards against a writer that read a stale head.

use std::path::Path;
use std::time::Duration;

use sigstack_core::hash::Hash;
use sigstack_core::ids::{LeafIndex, TreeId, TreeSize};
use sigstack_core::tile::TileId;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool, Transaction};

use crate::ports::{
    BatchWrite, LeafRow, LogReader, SequencerBatch, SequencerStore, StoredHead, StoredTile,
    TreeCatalog, TreeRecord, check_batch,
};
use crate::rows::{
    decode_hash, decode_head, decode_index, decode_leaf, decode_location, decode_sizes,
    decode_state, decode_tile, decode_tree, head_moved, to_i64,
};
use crate::{StoreError, TreeState};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// SQLite's default limit on bound parameters is 32 766; stay well below it.
const ROWS_PER_INSERT: usize = 500;

/// The SQLite implementation of every storage port.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and runs the migrations.
    ///
    /// # Errors
    /// An unreadable or unwritable file, or a failed migration.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl TreeCatalog for SqliteStore {
    async fn create_tree(
        &self,
        log: &str,
        tree: TreeId,
        genesis: BatchWrite,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        start_tree(&mut tx, log, tree, &genesis).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rotate_tree<F>(&self, log: &str, tree: TreeId, genesis: F) -> Result<(), StoreError>
    where
        F: FnOnce(&[(TreeId, TreeSize)]) -> Result<BatchWrite, String> + Send,
    {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let active: Option<i64> =
            sqlx::query_scalar("SELECT tree_id FROM trees WHERE log_name = ? AND state = 'active'")
                .bind(log)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(active) = active {
            // BEGIN IMMEDIATE holds SQLite's one write lock: no batch is in flight.
            sqlx::query("UPDATE trees SET state = 'frozen', frozen_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE tree_id = ?")
                .bind(active)
                .execute(&mut *tx)
                .await?;
        }
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT t.tree_id, h.tree_size FROM trees t JOIN tree_heads h ON h.tree_id = t.tree_id \
             WHERE t.log_name = ? ORDER BY t.created_at, t.rowid",
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
            "SELECT tree_id, log_name, state FROM trees WHERE log_name = ? ORDER BY created_at, rowid",
        )
        .bind(log)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| decode_tree(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
            .collect()
    }

    async fn freeze_tree(&self, tree: TreeId) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE trees SET state = 'frozen', frozen_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
             WHERE tree_id = ?",
        )
        .bind(tree.get())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::TreeNotFound(tree));
        }
        Ok(())
    }
}

/// An open batch on SQLite: an immediate transaction holding the write lock.
#[derive(Debug)]
pub struct SqliteBatch {
    tx: Transaction<'static, Sqlite>,
    tree: TreeId,
    head: StoredHead,
}

impl SequencerStore for SqliteStore {
    type Batch = SqliteBatch;

    async fn begin_batch(&self, tree: TreeId) -> Result<SqliteBatch, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(
            "SELECT h.tree_size, h.root_hash, h.checkpoint, t.state \
             FROM tree_heads h JOIN trees t ON t.tree_id = h.tree_id WHERE h.tree_id = ?",
        )
        .bind(tree.get())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::TreeNotFound(tree))?;
        if decode_state(row.try_get(3)?)? == TreeState::Frozen {
            return Err(StoreError::TreeFrozen(tree));
        }
        let head = decode_head(row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)?;
        Ok(SqliteBatch { tx, tree, head })
    }
}

impl SequencerBatch for SqliteBatch {
    fn head(&self) -> &StoredHead {
        &self.head
    }

    async fn tiles(&mut self, ids: &[TileId]) -> Result<Vec<StoredTile>, StoreError> {
        fetch_tiles(&mut *self.tx, self.tree, ids).await
    }

    async fn find_leaves(&mut self, hashes: &[Hash]) -> Result<Vec<(Hash, LeafIndex)>, StoreError> {
        let mut found = Vec::new();
        for chunk in hashes.chunks(ROWS_PER_INSERT) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT leaf_hash, leaf_index FROM leaves WHERE tree_id = ",
            );
            q.push_bind(self.tree.get()).push(" AND leaf_hash IN (");
            let mut list = q.separated(", ");
            for h in chunk {
                list.push_bind(h.0.to_vec());
            }
            q.push(")");
            for r in q.build().fetch_all(&mut *self.tx).await? {
                found.push((decode_hash(r.try_get(0)?)?, decode_index(r.try_get(1)?)?));
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

/// Inserts `tree` as `log`'s active tree with an empty head, then its first
/// write, inside `tx`.
async fn start_tree(
    tx: &mut Transaction<'static, Sqlite>,
    log: &str,
    tree: TreeId,
    genesis: &BatchWrite,
) -> Result<(), StoreError> {
    check_batch(tree, TreeSize::ZERO, genesis)?;
    sqlx::query("INSERT INTO trees (tree_id, log_name, state) VALUES (?, ?, 'active')")
        .bind(tree.get())
        .bind(log)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO tree_heads (tree_id, tree_size, root_hash, checkpoint) VALUES (?, 0, ?, '')",
    )
    .bind(tree.get())
    .bind(sigstack_core::hash::EMPTY_ROOT.0.as_slice())
    .execute(&mut **tx)
    .await?;
    write_batch(tx, tree, TreeSize::ZERO, genesis).await
}

async fn write_batch(
    tx: &mut Transaction<'static, Sqlite>,
    tree: TreeId,
    before: TreeSize,
    write: &BatchWrite,
) -> Result<(), StoreError> {
    check_batch(tree, before, write)?;
    for chunk in write.leaves.chunks(ROWS_PER_INSERT) {
        let indexes: Vec<i64> = chunk
            .iter()
            .map(|l| to_i64(l.index.get()))
            .collect::<Result<_, _>>()?;
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO leaves (tree_id, leaf_index, leaf_hash, leaf_data, integrated_at, seal) ",
        );
        q.push_values(chunk.iter().zip(indexes), |mut row, (leaf, index)| {
            row.push_bind(tree.get())
                .push_bind(index)
                .push_bind(leaf.hash.0.to_vec())
                .push_bind(leaf.data.clone())
                .push_bind(leaf.integrated_at)
                .push_bind(leaf.seal.clone());
        });
        q.build().execute(&mut **tx).await?;
    }
    for chunk in write.keys.chunks(ROWS_PER_INSERT) {
        let indexes: Vec<i64> = chunk
            .iter()
            .map(|k| to_i64(k.index.get()))
            .collect::<Result<_, _>>()?;
        let mut q =
            QueryBuilder::<Sqlite>::new("INSERT INTO leaf_keys (search_key, tree_id, leaf_index) ");
        q.push_values(chunk.iter().zip(indexes), |mut row, (key, index)| {
            row.push_bind(key.key.clone())
                .push_bind(tree.get())
                .push_bind(index);
        });
        q.push(" ON CONFLICT DO NOTHING");
        q.build().execute(&mut **tx).await?;
    }
    for chunk in write.tiles.chunks(ROWS_PER_INSERT) {
        let indexes: Vec<i64> = chunk
            .iter()
            .map(|t| to_i64(t.id.index))
            .collect::<Result<_, _>>()?;
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO tiles (tree_id, tile_level, tile_index, hashes) ",
        );
        q.push_values(chunk.iter().zip(indexes), |mut row, (tile, index)| {
            row.push_bind(tree.get())
                .push_bind(i64::from(tile.id.level))
                .push_bind(index)
                .push_bind(tile.hashes.clone());
        });
        // Never narrow a tile: a prefix of the stored version is the older one.
        q.push(
            " ON CONFLICT (tree_id, tile_level, tile_index) DO UPDATE SET hashes = excluded.hashes \
             WHERE length(tiles.hashes) <= length(excluded.hashes)",
        );
        q.build().execute(&mut **tx).await?;
    }
    let size = to_i64(write.head.size.get())?;
    sqlx::query("INSERT INTO checkpoints (tree_id, tree_size, checkpoint) VALUES (?, ?, ?)")
        .bind(tree.get())
        .bind(size)
        .bind(write.head.checkpoint.as_str())
        .execute(&mut **tx)
        .await?;
    let done = sqlx::query(
        "UPDATE tree_heads SET tree_size = ?, root_hash = ?, checkpoint = ?, \
         updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE tree_id = ? AND tree_size = ?",
    )
    .bind(size)
    .bind(write.head.root.0.as_slice())
    .bind(write.head.checkpoint.as_str())
    .bind(tree.get())
    .bind(to_i64(before.get())?)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT tree_size FROM tree_heads WHERE tree_id = ?")
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
    E: sqlx::Executor<'c, Database = Sqlite>,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // (level, index) pairs as a VALUES list joined on the primary key.
    let mut q = QueryBuilder::<Sqlite>::new("WITH wanted (l, i) AS (");
    q.push_values(ids.iter().take(ROWS_PER_INSERT), |mut row, id| {
        row.push_bind(i64::from(id.level))
            .push_bind(i64::try_from(id.index).unwrap_or(i64::MAX));
    });
    q.push(
        ") SELECT t.tile_level, t.tile_index, t.hashes FROM tiles t \
         JOIN wanted w ON t.tile_level = w.l AND t.tile_index = w.i WHERE t.tree_id = ",
    );
    q.push_bind(tree.get());
    let rows = q.build().fetch_all(executor).await?;
    rows.iter()
        .map(|r| decode_tile(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
        .collect()
}

impl LogReader for SqliteStore {
    async fn head(&self, tree: TreeId) -> Result<Option<StoredHead>, StoreError> {
        let row = sqlx::query(
            "SELECT tree_size, root_hash, checkpoint FROM tree_heads WHERE tree_id = ?",
        )
        .bind(tree.get())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| decode_head(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
            .transpose()
    }

    async fn tiles(&self, tree: TreeId, ids: &[TileId]) -> Result<Vec<StoredTile>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_INSERT) {
            out.extend(fetch_tiles(&self.pool, tree, chunk).await?);
        }
        Ok(out)
    }

    async fn leaves(
        &self,
        tree: TreeId,
        start: LeafIndex,
        count: u32,
    ) -> Result<Vec<LeafRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT leaf_index, leaf_hash, leaf_data, integrated_at, seal FROM leaves \
             WHERE tree_id = ? AND leaf_index >= ? ORDER BY leaf_index LIMIT ?",
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
        let index: Option<i64> =
            sqlx::query_scalar("SELECT leaf_index FROM leaves WHERE tree_id = ? AND leaf_hash = ?")
                .bind(tree.get())
                .bind(hash.0.as_slice())
                .fetch_optional(&self.pool)
                .await?;
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
             WHERE k.search_key = ? ORDER BY k.tree_id, k.leaf_index LIMIT ?",
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
            sqlx::query_as("SELECT tree_id, leaf_index FROM leaves WHERE leaf_hash = ?")
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
            "SELECT checkpoint FROM checkpoints WHERE tree_id = ? AND tree_size = ?",
        )
        .bind(tree.get())
        .bind(to_i64(size.get())?)
        .fetch_optional(&self.pool)
        .await?)
    }
}

impl crate::ports::Ping for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
