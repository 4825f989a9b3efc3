//! The bookstore app: users and teachers register and log in, users manage their own books.
//!
//! Every handler declares its route and policy on itself (`#[public]`, `#[authed]`,
//! `#[ignored]`); [`serve`] mounts them all with one `JwtRoutes`, which guards every request.
//! The HTTP contract is in the README's bookstore section; `tests/bookstore.rs` includes this
//! module and runs it in-process.

mod accounts;
mod books;
mod connections;
mod db;
mod error;
mod extract;
pub(crate) mod http;
mod oidc;
mod pages;
mod passwords;
mod reply;
mod sessions;
mod teachers;
mod text;
mod throttle;
mod users;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use jwt_router::{JwtRoutes, MemorySessions};
use tokio::net::TcpListener;

pub(crate) use self::connections::ConnectionLimits;
use self::db::Db;
use self::passwords::Passwords;
use self::teachers::Teacher;
pub(crate) use self::throttle::LoginLimits;
use self::throttle::LoginThrottle;
use self::users::User;

/// Everything the app needs to start; `main.rs` reads it from the environment.
pub(crate) struct Config {
    /// A sqlx SQLite URL (`sqlite://bookstore.db?mode=rwc`, `sqlite::memory:`) or a PostgreSQL
    /// one (`postgres://user:password@host/database`).
    pub(crate) database_url: String,
    /// Signs and verifies tokens: at least 32 random bytes.
    pub(crate) secret: Vec<u8>,
    /// The user who registers with this email is an admin.
    pub(crate) admin_email: Option<String>,
    /// How long an access token is valid.
    pub(crate) expire_minutes: u64,
    /// How long a login's refresh tokens are valid.
    pub(crate) expire_days: u64,
    /// Argon2 cost of new password hashes. Keep the default outside tests: lower costs make
    /// stolen hashes cheap to crack.
    pub(crate) password_params: argon2::Params,
    /// Header timeout and connection cap.
    pub(crate) connections: ConnectionLimits,
    /// Failed logins per account and window.
    pub(crate) logins: LoginLimits,
    /// Sign-in with an identity provider; `None` answers its route 404 `not_configured`.
    pub(crate) oidc: Option<OidcConfig>,
    /// Refresh tokens and revocations in this Redis (`--features redis`); `None`: in memory.
    pub(crate) redis_url: Option<String>,
    /// With Redis: how long a "not revoked" answer may be kept (0: none, every guarded request
    /// asks Redis). Each revocation empties every replica's cache by a message.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) redis_cache_seconds: u64,
    /// Whether session cookies are `Secure` (HTTPS only); off for local http.
    #[cfg_attr(not(feature = "cookies"), allow(dead_code))]
    pub(crate) cookie_secure: bool,
}

/// The identity provider users sign in with (`OIDC_*`).
#[derive(Clone)]
// Read only by sign-in, which needs the `oidc` feature.
#[cfg_attr(not(feature = "oidc"), allow(dead_code))]
pub(crate) struct OidcConfig {
    /// The issuer, e.g. `https://accounts.google.com`; `http://` only to a loopback address.
    pub(crate) issuer: String,
    /// The OAuth client id, which the provider's ID tokens name as their audience.
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
}

impl fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &db::redact(&self.database_url))
            .field("secret", &"<redacted>")
            .field("admin_email", &self.admin_email)
            .field("expire_minutes", &self.expire_minutes)
            .field("expire_days", &self.expire_days)
            .field("connections", &self.connections)
            .field("logins", &self.logins)
            .field("oidc", &self.oidc)
            .field("redis_url", &self.redis_url.is_some())
            .field("redis_cache_seconds", &self.redis_cache_seconds)
            .finish_non_exhaustive()
    }
}

/// Why the app could not start or stopped serving.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// The router's state: what handlers take as `State<AppState>`.
#[derive(Clone)]
pub(crate) struct AppState {
    db: Db,
    passwords: Passwords,
    logins: LoginThrottle,
    /// Lowercased, as emails are stored.
    admin_email: Option<Arc<str>>,
    /// The identity provider, when configured.
    #[cfg(feature = "oidc")]
    oidc: Option<jwt_router::Provider>,
}

/// Where `User` and `Teacher` load themselves from (`Entity::Store`).
impl FromRef<AppState> for Db {
    fn from_ref(state: &AppState) -> Db {
        state.db.clone()
    }
}

/// Migrates the database, mounts the declared handlers and serves on `listener` until
/// `shutdown` completes; requests in flight then finish and the database is closed.
pub(crate) async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    // Configuration mistakes (a weak secret, a duplicate route) fail before the database is
    // touched.
    #[cfg(feature = "oidc")]
    let oidc = match &config.oidc {
        Some(oidc) => Some(
            jwt_router::Provider::builder(&oidc.issuer, &oidc.client_id, &oidc.client_secret)
                .discover()
                .await
                .map_err(|err| format!("OIDC_ISSUER: {err}"))?,
        ),
        None => None,
    };
    #[cfg(not(feature = "oidc"))]
    if config.oidc.is_some() {
        return Err(
            "OIDC_CLIENT_ID is set but the bookstore was built without `--features oidc`".into(),
        );
    }
    // Sessions and login throttling in Redis, shared by every replica behind one SECRET_KEY,
    // or in this process.
    let jwt = JwtRoutes::<AppState>::builder();
    let (jwt, logins) = match &config.redis_url {
        #[cfg(feature = "redis")]
        Some(url) => {
            let redis = jwt_router::RedisSessions::connect(url)
                .await
                .map_err(|err| format!("REDIS_URL: {err}"))?
                .cache_not_revoked(Duration::from_secs(config.redis_cache_seconds));
            let logins = LoginThrottle::shared(Arc::new(redis.clone()), config.logins.clone());
            (jwt.sessions(redis), logins)
        }
        #[cfg(not(feature = "redis"))]
        Some(_) => {
            return Err(
                "REDIS_URL is set but the bookstore was built without `--features redis`".into(),
            );
        }
        None => (
            jwt.sessions(MemorySessions::new()),
            LoginThrottle::in_memory(config.logins.clone()),
        ),
    };
    let jwt = jwt
        .secret(&config.secret)
        .api_name("/api/v1")
        .expire_in(Duration::from_secs(
            config.expire_minutes.saturating_mul(60),
        ))
        .refresh_expire_in(Duration::from_secs(
            config.expire_days.saturating_mul(24 * 60 * 60),
        ))
        .entity::<User>()
        .entity::<Teacher>()
        .query_token(true)
        // Only this app's handlers, also when it is compiled into a test binary.
        .module(module_path!());
    // The provider's own ID tokens are bearer tokens on users routes too.
    #[cfg(feature = "oidc")]
    let jwt = match &oidc {
        Some(provider) => jwt.issuer::<User>(
            provider.issuer().clone(),
            jwt_router::ExternalId::VerifiedEmail,
        ),
        None => jwt,
    };
    #[cfg(feature = "cookies")]
    let jwt = jwt.cookies(jwt_router::Cookies::new().secure(config.cookie_secure));
    let jwt = jwt.build()?;
    tracing::info!("routes:\n{}", jwt.route_table());

    let db = db::connect(&config.database_url).await?;
    let served = serve_with(
        &config,
        &jwt,
        db.clone(),
        logins,
        #[cfg(feature = "oidc")]
        oidc,
        listener,
        shutdown,
    )
    .await;
    db.close().await;
    tracing::info!("database closed");
    served
}

async fn serve_with(
    config: &Config,
    jwt: &JwtRoutes<AppState>,
    db: Db,
    logins: LoginThrottle,
    #[cfg(feature = "oidc")] oidc: Option<jwt_router::Provider>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let state = AppState {
        db,
        passwords: Passwords::new(config.password_params.clone()).await?,
        logins,
        admin_email: config
            .admin_email
            .as_deref()
            .map(accounts::normalize_email)
            .filter(|email| !email.is_empty())
            .map(Arc::from),
        #[cfg(feature = "oidc")]
        oidc,
    };

    // The fallback is guarded like every route, so an unknown path is a 401 without a token
    // and a 404 with one, never an open door.
    let app = http::layers(jwt.router(state).fallback(http::not_found));

    tracing::info!("listening on http://{}", listener.local_addr()?);
    connections::serve(listener, app, &config.connections, shutdown).await;
    tracing::info!("server stopped");
    Ok(())
}
