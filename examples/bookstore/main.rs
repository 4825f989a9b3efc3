//! The bookstore: the seeds' app on jwt-router and SQLite. `cargo run --release --example bookstore`
//!
//! Environment: `PORT` (3000), `DATABASE_URL` (`sqlite://bookstore.db?mode=rwc`, or
//! `postgres://user:password@host/database`), `REDIS_URL` (sessions and login throttling shared
//! by replicas; built with `--features redis`), `REDIS_CACHE_SECONDS` (0), `SECRET_KEY`
//! (random if unset: tokens then die with the process), `ADMIN_EMAIL`, `JWT_EXPIRE_MINUTES` (15,
//! access tokens), `JWT_EXPIRE_DAYS` (30, refresh tokens),
//! `MAX_CONNECTIONS` (1024), `RUST_LOG` (`info`); sign-in with an identity provider (built with
//! `--features oidc`): `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET`, `OIDC_ISSUER`
//! (`https://accounts.google.com`). The HTTP contract is in the README.

mod app;

use std::env;
use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::str::FromStr;

use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), app::Error> {
    let port: u16 = parse_env("PORT", 3000)?;
    let defaults = app::ConnectionLimits::default();
    let config = app::Config {
        database_url: env::var("DATABASE_URL")
            .unwrap_or_else(|_| "sqlite://bookstore.db?mode=rwc".to_owned()),
        secret: secret_key()?,
        admin_email: env::var("ADMIN_EMAIL").ok(),
        expire_minutes: parse_env("JWT_EXPIRE_MINUTES", 15)?,
        expire_days: parse_env("JWT_EXPIRE_DAYS", 30)?,
        password_params: argon2::Params::DEFAULT,
        connections: app::ConnectionLimits {
            max_connections: parse_env("MAX_CONNECTIONS", defaults.max_connections)?,
            ..defaults
        },
        logins: app::LoginLimits::default(),
        oidc: oidc_config(),
        cookie_secure: parse_env("COOKIE_SECURE", true)?,
        redis_url: env::var("REDIS_URL").ok().filter(|url| !url.is_empty()),
        redis_cache_seconds: parse_env("REDIS_CACHE_SECONDS", 0)?,
    };
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .map_err(|err| format!("cannot listen on 127.0.0.1:{port}: {err}"))?;
    app::serve(config, listener, shutdown_signal()).await
}

/// `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET` and `OIDC_ISSUER` (Google by default); sign-in with
/// the provider is off without a client id.
fn oidc_config() -> Option<app::OidcConfig> {
    Some(app::OidcConfig {
        client_id: env::var("OIDC_CLIENT_ID")
            .ok()
            .filter(|id| !id.is_empty())?,
        client_secret: env::var("OIDC_CLIENT_SECRET").unwrap_or_default(),
        issuer: env::var("OIDC_ISSUER")
            .unwrap_or_else(|_| "https://accounts.google.com".to_owned()),
    })
}

/// `SECRET_KEY`, or 32 random bytes that live as long as the process.
fn secret_key() -> Result<Vec<u8>, app::Error> {
    if let Ok(secret) = env::var("SECRET_KEY") {
        return Ok(secret.into_bytes());
    }
    tracing::warn!("SECRET_KEY is not set: using a random key, so tokens won't survive a restart");
    let mut secret = vec![0; 32];
    getrandom::fill(&mut secret).map_err(|err| format!("no random SECRET_KEY: {err}"))?;
    Ok(secret)
}

fn parse_env<T: FromStr>(name: &str, default: T) -> Result<T, app::Error>
where
    T::Err: std::fmt::Display,
{
    match env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .map_err(|err| format!("{name}={value:?} is invalid: {err}").into()),
        Err(_) => Ok(default),
    }
}

/// Ctrl-C, or SIGTERM on Unix (what `docker stop` and systemd send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {err}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!("cannot listen for SIGTERM: {err}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
