//! The bookstore's test fixture, shared by its test targets: a temporary database and the
//! app's configuration for it (a fixed secret, the cheapest password hashing).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::app;
use super::postgres_server::PostgresServer;

pub const SECRET: &[u8] = b"bookstore tests: a secret of well over thirty-two bytes";
pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const PASSWORD: &str = "correct horse battery staple";

/// The configuration of a bookstore on `database_url`, with sessions in this process.
pub fn config(database_url: String) -> app::Config {
    app::Config {
        database_url,
        secret: SECRET.to_vec(),
        admin_email: Some(ADMIN_EMAIL.to_owned()),
        expire_minutes: 15,
        expire_days: 30,
        // The cheapest Argon2 cost: tests run unoptimized, where the default takes seconds.
        password_params: argon2::Params::new(argon2::Params::MIN_M_COST, 1, 1, None)
            .expect("valid Argon2 parameters"),
        connections: app::ConnectionLimits::default(),
        logins: app::LoginLimits::default(),
        oidc: None,
        cookie_secure: true,
        redis_url: None,
        redis_cache_seconds: 0,
    }
}

/// A fresh database for one test: a SQLite file in a directory of its own, or a PostgreSQL
/// server of its own; removed on drop.
pub struct TempDb {
    dir: PathBuf,
    postgres: Option<PostgresServer>,
}

impl TempDb {
    /// On PostgreSQL; on SQLite, after saying so loudly, when PostgreSQL is not installed (which
    /// fails the test under CI instead).
    pub fn postgres() -> Self {
        let mut db = Self::new();
        db.postgres = PostgresServer::start();
        db
    }

    /// On SQLite.
    pub fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "jwt-router-bookstore-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create the test database directory");
        Self {
            dir,
            postgres: None,
        }
    }

    /// Its URL; a SQLite database is created on first use.
    pub fn database_url(&self) -> String {
        if let Some(postgres) = &self.postgres {
            return postgres.url();
        }
        format!(
            "sqlite://{}?mode=rwc",
            self.dir.join("bookstore.db").display()
        )
    }

    pub fn config(&self) -> app::Config {
        config(self.database_url())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
