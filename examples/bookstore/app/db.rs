//! The database pool, on SQLite or PostgreSQL as `DATABASE_URL` says, and its migrations.
//!
//! One pool type (sqlx's `Any`) serves both engines, so every query is written once: `$1`
//! placeholders (SQLite reads them too), `RETURNING`, `ON CONFLICT`, and flags as 0/1 integers.

use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

/// The database, as handlers and entity loaders reach it (`FromRef` from the app state).
#[derive(Clone, Debug)]
pub(crate) struct Db(AnyPool);

impl Db {
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.0
    }

    /// Waits for the connections in use to come back, then closes them all.
    pub(crate) async fn close(&self) {
        self.0.close().await;
    }
}

/// The engine of a `DATABASE_URL`, by its scheme.
#[derive(Clone, Copy, Debug)]
enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    fn of(url: &str) -> Result<Self, super::Error> {
        match url.split_once(':').map(|(scheme, _)| scheme) {
            Some("sqlite") => Ok(Self::Sqlite),
            Some("postgres" | "postgresql") => Ok(Self::Postgres),
            _ => Err(format!(
                "DATABASE_URL must start with sqlite: or postgres:, got {:?}",
                redact(url)
            )
            .into()),
        }
    }

    /// The pool for `url` of this engine. SQLite: WAL so readers don't block the writer, a
    /// busy timeout so concurrent writers wait their turn instead of failing with SQLITE_BUSY,
    /// foreign keys enforced, and an in-memory database kept on exactly one connection (it
    /// lives as long as one of them).
    fn pool_options(self, url: &str) -> AnyPoolOptions {
        let options = match self {
            Self::Postgres => return AnyPoolOptions::new().max_connections(16),
            Self::Sqlite if url.contains(":memory:") || url.contains("mode=memory") => {
                AnyPoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
            }
            Self::Sqlite => AnyPoolOptions::new().max_connections(8),
        };
        options.after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::raw_sql(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )
                .execute(conn)
                .await
                .map(drop)
            })
        })
    }

    /// What to check when the database can't be opened.
    fn hint(self) -> &'static str {
        match self {
            Self::Sqlite => "`?mode=rwc` creates a missing file",
            Self::Postgres => "is the server up, and does the database exist?",
        }
    }

    fn migrator(self) -> Migrator {
        match self {
            Self::Sqlite => sqlx::migrate!("examples/bookstore/migrations/sqlite"),
            Self::Postgres => sqlx::migrate!("examples/bookstore/migrations/postgres"),
        }
    }
}

/// `url` without its password (in the user info or a `password` parameter), for errors and
/// logs; only the scheme of what is not a URL.
pub(crate) fn redact(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        return format!("{scheme}:<not a URL>");
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query_pairs().any(|(name, _)| name == "password") {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(name, value)| {
                let value = if name == "password" {
                    "***".into()
                } else {
                    value
                };
                (name.into_owned(), value.into_owned())
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

/// Opens the pool for `url` and brings the schema up to date: any sqlx SQLite URL (e.g.
/// `sqlite://bookstore.db?mode=rwc`, `sqlite::memory:`) or PostgreSQL URL
/// (`postgres://user:password@host/database`).
pub(crate) async fn connect(url: &str) -> Result<Db, super::Error> {
    sqlx::any::install_default_drivers();
    let engine = Engine::of(url)?;
    let location = redact(url);
    let pool = engine
        .pool_options(url)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(|err| {
            format!(
                "cannot open the database {location}: {err} ({})",
                engine.hint()
            )
        })?;
    engine
        .migrator()
        .run(&pool)
        .await
        .map_err(|err| format!("cannot migrate the database {location}: {err}"))?;
    tracing::info!(database = %location, "database ready");
    Ok(Db(pool))
}
