//! Opening the store a command names.

use sigstack_store::{PostgresOptions, PostgresStore, SqliteStore};

use crate::cli::{Backend, StoreArgs, sqlite_path};

/// Calls `$body` with `$store` bound to the opened store of either backend
/// (the engine is generic over its store, so each backend is its own
/// instantiation).
macro_rules! with_store {
    ($args:expr, $pg_connections:expr, |$store:ident| $body:expr) => {{
        match $args.backend {
            $crate::cli::Backend::Sqlite => {
                let $store = $crate::backend::open_sqlite(&$args).await?;
                $body
            }
            $crate::cli::Backend::Postgres => {
                let $store = $crate::backend::open_postgres(&$args, $pg_connections).await?;
                $body
            }
        }
    }};
}
pub(crate) use with_store;

pub async fn open_sqlite(args: &StoreArgs) -> anyhow::Result<SqliteStore> {
    debug_assert_eq!(args.backend, Backend::Sqlite);
    let path = sqlite_path(&args.database_url);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    Ok(SqliteStore::open(&path).await?)
}

pub async fn open_postgres(args: &StoreArgs, connections: u32) -> anyhow::Result<PostgresStore> {
    let options = PostgresOptions {
        max_connections: connections,
        ..PostgresOptions::default()
    };
    Ok(PostgresStore::connect(&args.database_url, &options).await?)
}
