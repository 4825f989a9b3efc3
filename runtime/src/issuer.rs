//! Tokens of an external OpenID Connect issuer: discovery, its key set cached by `kid`,
//! refreshed in the background and on an unknown `kid`, and strict verification.

mod claims;
mod error;
mod fetch;
mod keys;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use jsonwebtoken::{Algorithm, Header};
use serde::Deserialize;
use tokio::task::AbortHandle;
use url::Url;

pub use claims::IssuerClaims;

/// Installs rustls' `ring` provider as the process default, if none is installed yet; returns
/// whether it did.
///
/// With `oidc`, reqwest is compiled with rustls and no built-in crypto provider: the issuer
/// brings its own TLS configuration, so jwt-router never changes process-wide state by itself.
/// Cargo unifies features, so code of yours that builds `reqwest` clients without a TLS feature
/// of its own then panics ("No rustls crypto provider is configured"). Call this once at
/// startup, or enable a TLS feature of reqwest in your own Cargo.toml.
pub fn install_default_tls_provider() -> bool {
    rustls::crypto::ring::default_provider()
        .install_default()
        .is_ok()
}
pub use error::IssuerError;

use crate::error::AuthError;
use crate::token::{BAD_SIGNATURE, Segments, check_header, decode_segment, now, segment_text};
use claims::Expected;
pub(crate) use fetch::Http;
use fetch::checked_url;
use keys::KeySet;

/// An external OpenID Connect issuer whose tokens this server accepts for one audience.
///
/// [`discover`](Self::discover) fetches the discovery document and the key set, and starts a
/// background task that refreshes the keys on the schedule the provider's `Cache-Control`
/// sets (within bounds). A token naming an unknown `kid` triggers one refresh, at most once per
/// cooldown, shared by every request waiting on it; a known `kid` never causes a network call.
/// A failed refresh is logged and the previous keys stay in use.
///
/// Cheap to clone (one `Arc`); the background task stops when the last clone is dropped.
/// Needs a tokio runtime.
///
/// ```no_run
/// # extern crate jwt_router_runtime as jwt_router;
/// # async fn run(token: &str) -> Result<(), Box<dyn std::error::Error>> {
/// use jwt_router::Issuer;
///
/// let google = Issuer::discover("https://accounts.google.com", "my-client-id").await?;
/// let claims = google.verify(token).await?;
/// println!("{} <{:?}>", claims.sub, claims.email);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Issuer {
    inner: Arc<Inner>,
}

/// How an issuer is reached and its keys kept; see [`Issuer::builder`].
#[derive(Debug, Clone)]
pub struct IssuerBuilder {
    issuer: String,
    audience: String,
    options: Options,
}

#[derive(Debug, Clone)]
struct Options {
    connect_timeout: Duration,
    timeout: Duration,
    max_document_bytes: usize,
    min_refresh: Duration,
    max_refresh: Duration,
    default_refresh: Duration,
    cooldown: Duration,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    max_token_bytes: usize,
}

struct Inner {
    issuer: String,
    audience: String,
    jwks_uri: Url,
    endpoints: Endpoints,
    options: Options,
    http: Http,
    keys: ArcSwap<KeySet>,
    /// Held for the whole of a refresh, so refreshes never overlap; the keys themselves are
    /// swapped, never locked.
    refresh: tokio::sync::Mutex<Cooldown>,
    /// Bumped after every key fetch, so a request that waited on the refresh lock knows a
    /// fetch happened meanwhile and shares its result instead of fetching again.
    generation: AtomicU64,
    jwks_fetches: AtomicU64,
    discovery_fetches: AtomicU64,
    refresher: std::sync::OnceLock<AbortHandle>,
}

/// When an unknown `kid` last caused a fetch.
struct Cooldown {
    last: Option<Instant>,
}

/// The part of the discovery document this verifier and sign-in read.
#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
}

/// Where sign-in sends the browser and the code, as discovery named them (checked like the
/// issuer's own URL).
#[derive(Debug, Default)]
pub(crate) struct Endpoints {
    pub(crate) authorization: Option<Url>,
    pub(crate) token: Option<Url>,
}

impl Issuer {
    /// Discovers `issuer` with the default options and accepts its tokens for `audience` (the
    /// client id this server is registered under).
    pub async fn discover(
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, IssuerError> {
        Self::builder(issuer, audience).discover().await
    }

    /// Options for `issuer` and `audience`; finish with [`IssuerBuilder::discover`].
    pub fn builder(issuer: impl Into<String>, audience: impl Into<String>) -> IssuerBuilder {
        IssuerBuilder {
            issuer: issuer.into(),
            audience: audience.into(),
            options: Options {
                connect_timeout: Duration::from_secs(5),
                timeout: Duration::from_secs(10),
                max_document_bytes: 1024 * 1024,
                min_refresh: Duration::from_secs(5 * 60),
                max_refresh: Duration::from_secs(24 * 60 * 60),
                default_refresh: Duration::from_secs(60 * 60),
                cooldown: Duration::from_secs(60),
                algorithms: vec![Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA],
                leeway: Duration::from_secs(30),
                max_token_bytes: 16 * 1024,
            },
        }
    }

    /// The configured issuer, as tokens' `iss` must spell it.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The configured audience.
    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    /// How many times the key set was requested (discovery's fetch included).
    pub fn jwks_fetches(&self) -> u64 {
        self.inner.jwks_fetches.load(Ordering::Relaxed)
    }

    /// How many times the discovery document was requested.
    pub fn discovery_fetches(&self) -> u64 {
        self.inner.discovery_fetches.load(Ordering::Relaxed)
    }

    /// The endpoints discovery named, for sign-in.
    pub(crate) fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    /// The client of this issuer, with its timeouts, body cap and no redirects.
    pub(crate) fn http(&self) -> &Http {
        &self.inner.http
    }

    /// Verifies `token` with the cached keys only: never waits and never fetches; a `kid` not
    /// in the cache is [`AuthError::UnknownKey`]. [`verify`](Self::verify) refreshes then.
    pub fn verify_cached(&self, token: &str) -> Result<IssuerClaims, AuthError> {
        let inner = &*self.inner;
        let segments = Segments::split(token, inner.options.max_token_bytes)?;
        let header: Header = decode_segment(segments.header)?;
        check_header(&header)?;
        let kid = header
            .kid
            .as_deref()
            .ok_or(AuthError::InvalidToken("the token names no key (`kid`)"))?;
        let keys = inner.keys.load();
        let key = keys.get(kid).ok_or(AuthError::UnknownKey)?;
        // The key decides the algorithm; the token's `alg` must only agree (RFC 8725 §3.1).
        if header.alg != key.alg {
            return Err(AuthError::InvalidToken(
                "the token's algorithm is not its key's",
            ));
        }
        let verified = jsonwebtoken::crypto::verify(
            segments.signature,
            segments.signed.as_bytes(),
            &key.key,
            key.alg,
        );
        if !matches!(verified, Ok(true)) {
            return Err(BAD_SIGNATURE);
        }
        let expected = Expected {
            issuer: &inner.issuer,
            audience: &inner.audience,
            now: now(),
            leeway: inner.options.leeway.as_secs(),
        };
        IssuerClaims::check(&segment_text(segments.payload)?, &expected)
    }

    /// Verifies `token`: header, key by `kid`, signature, `iss`, `aud`, `azp`, `exp`, `nbf`
    /// and `iat`. A `kid` not in the cache refreshes the keys once (within the cooldown,
    /// shared with concurrent requests) before it is refused as [`AuthError::UnknownKey`].
    pub async fn verify(&self, token: &str) -> Result<IssuerClaims, AuthError> {
        let seen = self.inner.generation.load(Ordering::Acquire);
        match self.verify_cached(token) {
            Err(AuthError::UnknownKey) => {
                self.inner.refresh_unknown_kid(seen).await;
                self.verify_cached(token)
            }
            verified => verified,
        }
    }
}

impl IssuerBuilder {
    /// Timeout for establishing a connection (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.options.connect_timeout = timeout;
        self
    }

    /// Timeout for a whole request, body included (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = timeout;
        self
    }

    /// The largest discovery document or key set read, in bytes (default 1 MiB).
    pub fn max_document_bytes(mut self, max: usize) -> Self {
        self.options.max_document_bytes = max;
        self
    }

    /// The bounds the provider's `Cache-Control: max-age` is clamped to (default 5 min to
    /// 24 h). A failed refresh is retried after `min`.
    pub fn refresh_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.options.min_refresh = min;
        self.options.max_refresh = max.max(min);
        self
    }

    /// The refresh interval when the key set's answer has no `max-age` (default 1 h; clamped
    /// to the bounds).
    pub fn default_refresh(mut self, every: Duration) -> Self {
        self.options.default_refresh = every;
        self
    }

    /// The least time between two refreshes caused by unknown `kid`s (default 60 s), so
    /// tokens with forged `kid`s can't make this server hammer the provider.
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.options.cooldown = cooldown;
        self
    }

    /// The algorithms accepted (default RS256, ES256 and EdDSA, the only ones supported:
    /// others are ignored). Keys of other algorithms are skipped.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.options.algorithms = algorithms
            .into_iter()
            .filter(|alg| matches!(alg, Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA))
            .collect();
        self
    }

    /// The clock skew allowed on `exp`, `nbf` and `iat` (default 30 s: the issuer's clock is
    /// not ours).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.options.leeway = leeway;
        self
    }

    /// The largest token verified, in bytes (default 16 KiB); larger ones are refused before
    /// decoding.
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.options.max_token_bytes = max;
        self
    }

    /// Fetches the discovery document (`{issuer}/.well-known/openid-configuration`), checks
    /// that it names this issuer, fetches its key set, and starts the background refresh. A
    /// document without `jwks_uri` is [`IssuerError::MissingEndpoint`].
    pub async fn discover(self) -> Result<Issuer, IssuerError> {
        let Self {
            issuer,
            audience,
            options,
        } = self;
        let issuer_url = checked_url(&issuer)?;
        if issuer_url.query().is_some() {
            return Err(IssuerError::InvalidUrl {
                url: issuer,
                reason: "an issuer has no query (OpenID Connect Discovery §2)",
            });
        }
        let http = Http::new(
            options.connect_timeout,
            options.timeout,
            options.max_document_bytes,
        )?;
        let config_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let config_url = checked_url(&config_url)?;
        let document = http.get(&config_url).await?;
        let document: Discovery =
            serde_json::from_slice(&document.body).map_err(|err| IssuerError::BadJson {
                url: config_url.to_string(),
                reason: err.to_string(),
            })?;
        if document.issuer != issuer {
            return Err(IssuerError::IssuerMismatch {
                expected: issuer,
                found: document.issuer,
            });
        }
        let inner = Arc::new(Inner {
            jwks_uri: checked_url(
                document
                    .jwks_uri
                    .as_deref()
                    .ok_or(IssuerError::MissingEndpoint { field: "jwks_uri" })?,
            )?,
            endpoints: Endpoints {
                authorization: optional_url(document.authorization_endpoint)?,
                token: optional_url(document.token_endpoint)?,
            },
            issuer,
            audience,
            options,
            http,
            keys: ArcSwap::default(),
            refresh: tokio::sync::Mutex::new(Cooldown { last: None }),
            generation: AtomicU64::new(0),
            jwks_fetches: AtomicU64::new(0),
            discovery_fetches: AtomicU64::new(1),
            refresher: std::sync::OnceLock::new(),
        });
        let max_age = inner.fetch_keys().await?;
        let first = inner.next_refresh(max_age);
        let refresher = tokio::spawn(refresh_periodically(Arc::downgrade(&inner), first));
        // Freshly created: the cell is empty.
        let _ = inner.refresher.set(refresher.abort_handle());
        Ok(Issuer { inner })
    }
}

impl Inner {
    /// Fetches the key set and swaps it in; on any failure the current keys stay.
    async fn fetch_keys(&self) -> Result<Option<Duration>, IssuerError> {
        self.jwks_fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = self.http.get(&self.jwks_uri).await.and_then(|fetched| {
            let keys = KeySet::parse(
                &fetched.body,
                self.jwks_uri.as_str(),
                &self.options.algorithms,
            )?;
            Ok((keys, fetched.max_age))
        });
        self.generation.fetch_add(1, Ordering::Release);
        let (keys, max_age) = fetched?;
        tracing::debug!(issuer = %self.issuer, keys = keys.len(), "jwt-router: issuer keys fetched");
        self.keys.store(Arc::new(keys));
        Ok(max_age)
    }

    /// The delay before the next scheduled refresh.
    fn next_refresh(&self, max_age: Option<Duration>) -> Duration {
        max_age
            .unwrap_or(self.options.default_refresh)
            .clamp(self.options.min_refresh, self.options.max_refresh)
    }

    /// A refresh for a token whose `kid` was unknown when the key generation was `seen`.
    async fn refresh_unknown_kid(&self, seen: u64) {
        let mut cooldown = self.refresh.lock().await;
        if self.generation.load(Ordering::Acquire) != seen {
            return;
        }
        if cooldown
            .last
            .is_some_and(|last| last.elapsed() < self.options.cooldown)
        {
            return;
        }
        cooldown.last = Some(Instant::now());
        if let Err(err) = self.fetch_keys().await {
            tracing::warn!(issuer = %self.issuer, error = %err, "jwt-router: key refresh for an unknown kid failed; keeping the current keys");
        }
    }

    /// A scheduled refresh; returns the delay before the next one.
    async fn refresh_scheduled(&self) -> Duration {
        let _refreshing = self.refresh.lock().await;
        match self.fetch_keys().await {
            Ok(max_age) => self.next_refresh(max_age),
            Err(err) => {
                tracing::warn!(issuer = %self.issuer, error = %err, "jwt-router: scheduled key refresh failed; keeping the current keys");
                self.options.min_refresh
            }
        }
    }
}

fn optional_url(raw: Option<String>) -> Result<Option<Url>, IssuerError> {
    raw.as_deref().map(checked_url).transpose()
}

/// Refreshes the keys until the issuer is dropped; holds it only while refreshing.
async fn refresh_periodically(issuer: Weak<Inner>, mut delay: Duration) {
    loop {
        tokio::time::sleep(delay).await;
        let Some(inner) = issuer.upgrade() else {
            return;
        };
        delay = inner.refresh_scheduled().await;
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(refresher) = self.refresher.get() {
            refresher.abort();
        }
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .field("jwks_uri", &self.inner.jwks_uri.as_str())
            .field("keys", &self.inner.keys.load().len())
            .finish_non_exhaustive()
    }
}
