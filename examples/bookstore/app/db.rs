//! The SQLite pool: connection settings that hold up under concurrent writes, and migrations.

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// The database, as handlers and entity loaders reach it (`FromRef` from the app state).
#[derive(Clone, Debug)]
pub(crate) struct Db(SqlitePool);

impl Db {
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.0
    }

    /// Waits for the connections in use to come back, then closes them all.
    pub(crate) async fn close(&self) {
        self.0.close().await;
    }
}

/// Opens the pool for `url` (any sqlx SQLite URL, e.g. `sqlite://bookstore.db?mode=rwc` or
/// `sqlite::memory:`) and brings the schema up to date.
///
/// WAL so readers don't block the writer, a busy timeout so concurrent writers wait their turn
/// instead of failing with SQLITE_BUSY, and foreign keys enforced.
pub(crate) async fn connect(url: &str) -> Result<Db, super::Error> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|err| format!("DATABASE_URL is not a SQLite URL: {err}"))?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    let location = options.get_filename().display().to_string();
    let pool = if url.contains(":memory:") || url.contains("mode=memory") {
        // An in-memory database lives as long as one of its connections: keep exactly one.
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        SqlitePoolOptions::new().max_connections(8)
    }
    .acquire_timeout(Duration::from_secs(10))
    .connect_with(options)
    .await
    .map_err(|err| {
        format!("cannot open the database {location}: {err} (`?mode=rwc` creates a missing file)")
    })?;
    sqlx::migrate!("examples/bookstore/migrations")
        .run(&pool)
        .await
        .map_err(|err| format!("cannot migrate the database {location}: {err}"))?;
    tracing::info!(database = %location, "database ready");
    Ok(Db(pool))
}
