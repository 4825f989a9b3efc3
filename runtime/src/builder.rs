//! [`JwtRoutesBuilder`]: secret, API prefix, expiry, entities; everything checked at `build`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use axum::response::Response;

use crate::Entity;
use crate::config_error::{ConfigError, Problem};
use crate::context::Settings;
use crate::entity::EntityReg;
use crate::error::{AuthError, Responder};
use crate::guard::{AUTHED, Policies, Rule};
use crate::jwt_routes::{JWKS_PATH, JwtRoutes};
use crate::keys::Key;
use crate::sessions::SessionStore;
use crate::table::{self, Method, Policy};
use crate::token::{Rules, TokenKeys};
use crate::verified::Verified;

const DEFAULT_EXPIRE: Duration = Duration::from_secs(30 * 24 * 60 * 60);
const DEFAULT_MAX_TOKEN_BYTES: usize = 4096;

/// Configures [`JwtRoutes`]; start with [`JwtRoutes::builder`]. `S` is the router's state type.
#[must_use]
pub struct JwtRoutesBuilder<S> {
    /// Every key given, in order; the ones set as signing keys are marked.
    keys: Vec<(Key, bool)>,
    issuer: Option<String>,
    audience: Option<String>,
    api_name: String,
    expire: Duration,
    refresh_expire: Duration,
    sessions: Option<Arc<dyn SessionStore>>,
    #[cfg(feature = "cookies")]
    cookies: Option<crate::Cookies>,
    leeway: Duration,
    max_token_bytes: usize,
    query_token: bool,
    /// How many verified access tokens to remember; 0: none.
    verified_cache: usize,
    /// Serve the key set's public half at `/.well-known/jwks.json`.
    jwks_route: bool,
    #[cfg(feature = "oidc")]
    issuers: Vec<crate::external::ExternalIssuer>,
    modules: Vec<String>,
    entities: Vec<EntityReg<S>>,
    responder: Responder,
    /// Warn at build about authed routes without roles, in an app that uses roles.
    audit_roles: bool,
}

impl<S: Clone + Send + Sync + 'static> JwtRoutesBuilder<S> {
    /// The HMAC secret that signs and verifies tokens (flask's `SECRET_KEY`), as HS256: the
    /// one-line setup, the same as `.signing_key(Key::hs256(secret))`. An empty, short
    /// (< 32 bytes) or all-one-byte secret makes [`build`](Self::build) fail.
    pub fn secret(self, secret: impl AsRef<[u8]>) -> Self {
        self.signing_key(Key::hs256(secret))
    }

    /// The key that signs new tokens (and verifies them). One signing key: to rotate, make the
    /// new key the signing key and keep the old one with [`key`](Self::key) until its tokens
    /// have expired. With several keys, each token names its key by `kid`.
    pub fn signing_key(mut self, key: Key) -> Self {
        self.keys.push((key, true));
        self
    }

    /// A key that verifies tokens but signs none: an old key during rotation, or another
    /// service's public key. Repeat for several.
    pub fn key(mut self, key: Key) -> Self {
        self.keys.push((key, false));
        self
    }

    /// Serves the public half of the key set (the ES256 and EdDSA key pairs; never a secret,
    /// never a verify-only public key) as a
    /// JWKS document at `GET /.well-known/jwks.json`, unprefixed and without the guard like an
    /// ignored route, with `Cache-Control: public, max-age=300`, so other services can verify
    /// this server's tokens. [`JwtRoutes::jwks`] gives the same document.
    #[cfg(feature = "asymmetric")]
    pub fn jwks_route(mut self) -> Self {
        self.jwks_route = true;
        self
    }

    /// Also accepts the tokens of an OpenID Connect issuer (Google, Keycloak, Auth0, Entra
    /// ID), verified with its cached keys (see [`Issuer`](crate::Issuer)), as tokens of the
    /// entity `E`: found by the token's `sub` as its id, or by its verified email through
    /// [`Entity::load_by_claim`](crate::Entity::load_by_claim). `E` must be registered with
    /// [`entity`](Self::entity) too.
    ///
    /// ```no_run
    /// # extern crate jwt_router_runtime as jwt_router;
    /// # use jwt_router::{Entity, ExternalId, Issuer, JwtRoutes, StoreError};
    /// # #[derive(Clone)] struct Db;
    /// # struct User;
    /// # impl Entity for User { const TABLE_NAME: &'static str = "users"; type Id = i64;
    /// #   type Store = Db; fn id(&self) -> i64 { 1 }
    /// #   async fn load(_: &Db, _: &i64) -> Result<Option<Self>, StoreError> { Ok(None) } }
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let google = Issuer::discover("https://accounts.google.com", "my-client-id").await?;
    /// let jwt = JwtRoutes::<Db>::builder()
    ///     .secret(std::env::var("SECRET_KEY")?)
    ///     .entity::<User>()
    ///     .issuer::<User>(google, ExternalId::VerifiedEmail)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "oidc")]
    pub fn issuer<E: Entity>(mut self, issuer: crate::Issuer, id: crate::ExternalId) -> Self
    where
        E::Store: FromRef<S>,
    {
        self.issuers.push(crate::external::ExternalIssuer {
            issuer,
            table: E::TABLE_NAME,
            id,
            refreshing: Default::default(),
        });
        self
    }

    /// The issuer (`iss`) this server writes into its tokens and requires of them, e.g.
    /// `https://api.example.com`. Default: none written, none required.
    pub fn token_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The audience (`aud`) this server writes into its tokens and requires of them. A token
    /// with an `aud` is refused unless it names this audience (RFC 7519 §4.1.3), so a server
    /// with no audience refuses tokens meant for others. Default: none.
    pub fn token_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The prefix of public and authed routes, e.g. `/api/v1` (flask's `JWT_ROUTER_API_NAME`).
    /// Ignored routes are never prefixed. Default: none.
    pub fn api_name(mut self, prefix: impl Into<String>) -> Self {
        self.api_name = prefix.into();
        self
    }

    /// How long new tokens are valid, in days (flask's `JWT_EXPIRE_DAYS`). Default: 30.
    pub fn expire_days(self, days: u64) -> Self {
        self.expire_in(Duration::from_secs(days.saturating_mul(24 * 60 * 60)))
    }

    /// How long new tokens are valid, to the second.
    pub fn expire_in(mut self, expiry: Duration) -> Self {
        self.expire = expiry;
        self
    }

    /// Keeps sessions in `store`: refresh tokens ([`Tokens::create_pair_for`],
    /// [`Tokens::refresh`]) and revocation ([`Tokens::logout`],
    /// [`Tokens::logout_everywhere`]), checked by the guard on every authed request (401
    /// `token_revoked`). [`MemorySessions`](crate::MemorySessions) serves one process; a shared
    /// store, several replicas. The store fails closed: when it can't answer, refreshes and
    /// authed requests get 503 `store_unavailable`. Without it, tokens are stateless and
    /// nothing is revoked.
    ///
    /// [`Tokens::create_pair_for`]: crate::Tokens::create_pair_for
    /// [`Tokens::refresh`]: crate::Tokens::refresh
    /// [`Tokens::logout`]: crate::Tokens::logout
    /// [`Tokens::logout_everywhere`]: crate::Tokens::logout_everywhere
    pub fn sessions(mut self, store: impl SessionStore) -> Self {
        self.sessions = Some(Arc::new(store));
        self
    }

    /// Also accept the access token in a session cookie, for browser apps (feature `cookies`):
    /// mint one with [`Tokens::cookie_session_for`](crate::Tokens::cookie_session_for). A
    /// request with an `Authorization` header (or `auth` parameter) is authenticated by it and
    /// the cookie is ignored; one authenticated by the cookie needs the session's CSRF token in
    /// the `X-CSRF-Token` header for POST, PUT, PATCH and DELETE (403 `csrf_failed`). Off by
    /// default: without it, cookies are never read.
    #[cfg(feature = "cookies")]
    pub fn cookies(mut self, cookies: crate::Cookies) -> Self {
        self.cookies = Some(cookies);
        self
    }

    /// How long a login's refresh tokens are valid, from the login: a refresh keeps the
    /// expiry of the token it replaces, so a session ends this long after its login however
    /// often it is refreshed. Default: 30 days.
    pub fn refresh_expire_in(mut self, expiry: Duration) -> Self {
        self.refresh_expire = expiry;
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat`, whole seconds. Default: none.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Tokens longer than this are refused before any decoding. Default: 4096 bytes.
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.max_token_bytes = max;
        self
    }

    /// Remembers up to `capacity` access tokens of ours that passed verification, by their
    /// exact bytes, so a client's next requests with the same token skip the signature check
    /// and the claims' parse (BENCHMARKS.md measures what it saves). Off (0) by default.
    ///
    /// What still runs on every request: the time checks (a cached token expires on time),
    /// and everything after verification: the route's entity, roles, scopes and freshness,
    /// and the session store's revocation check. A token with other bytes (forged, altered)
    /// is verified in full and never stored; tokens of external issuers are not cached, since
    /// their key sets change at runtime. Each entry holds the token's bytes and the claims
    /// decoded from them, so its memory grows with `capacity` × `max_token_bytes`; the least
    /// useful entries are dropped when it is full.
    ///
    /// ```
    /// # extern crate jwt_router_runtime as jwt_router;
    /// # use jwt_router::JwtRoutes;
    /// let jwt = JwtRoutes::<()>::builder()
    ///     .secret("a secret of at least thirty-two bytes!")
    ///     .verified_cache(10_000)
    ///     .build()?;
    /// # Ok::<(), jwt_router::ConfigError>(())
    /// ```
    pub fn verified_cache(mut self, capacity: usize) -> Self {
        self.verified_cache = capacity;
        self
    }

    /// Also accept the token in the `auth` query parameter (`/video?auth=<token>`), for clients
    /// that cannot set headers. Off by default: URLs end up in logs and browser history.
    pub fn query_token(mut self, enabled: bool) -> Self {
        self.query_token = enabled;
        self
    }

    /// Registers an entity type (flask's `ENTITY_MODELS`). Its `Store` must be reachable from
    /// the router's state `S` by axum's `FromRef`, which the compiler checks here. Tokens are
    /// minted and accepted only for registered entity tables.
    pub fn entity<E: Entity>(mut self) -> Self
    where
        E::Store: FromRef<S>,
    {
        self.entities.push(EntityReg::of::<E>());
        self
    }

    /// Mounts only the handlers declared in `module` or below it (e.g. `module_path!()`), for
    /// binaries or test files that serve several apps. Repeat to add modules. Default: every
    /// declared handler in the binary.
    pub fn module(mut self, module: impl Into<String>) -> Self {
        self.modules.push(module.into());
        self
    }

    /// Once an app declares roles or scopes on some routes, an authed route without any is
    /// more often forgotten than meant: with this, [`build`](Self::build) logs a warning
    /// (`tracing`, target `jwt_router::audit`) for each such route, with its source. Off by
    /// default, and silent in an app that declares no roles.
    pub fn audit_roles(mut self) -> Self {
        self.audit_roles = true;
        self
    }

    /// Renders rejections with your own response instead of the JSON default. A 401 your
    /// renderer returns without `WWW-Authenticate` gets the RFC 6750 challenge added.
    pub fn error_response(
        mut self,
        render: impl Fn(&AuthError) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.responder = Responder::custom(render);
        self
    }

    /// Validates everything before a port is bound: the secret, the API prefix, and the
    /// selected routes (duplicates, unregistered entities, state types). Every problem is
    /// listed, each route with its source location.
    pub fn build(self) -> Result<JwtRoutes<S>, ConfigError> {
        let mut problems = Vec::new();
        let signing = check_keys(&self.keys, &mut problems);
        let prefix = normalize_prefix(&self.api_name, &mut problems);
        if self.expire.as_secs() == 0 {
            problems.push(Problem::ZeroExpiry);
        }
        check_entities(&self.entities, &mut problems);
        let routes = table::select(&prefix, &self.modules);
        let tables: Vec<&'static str> = self.entities.iter().map(|reg| reg.table).collect();
        #[cfg(feature = "oidc")]
        for external in &self.issuers {
            if !tables.contains(&external.table) {
                problems.push(Problem::IssuerEntityNotRegistered {
                    issuer: external.issuer.issuer().to_owned(),
                    table: external.table,
                });
            }
        }
        table::check::<S>(&routes, &tables, &mut problems);
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        if self.audit_roles {
            for route in table::without_roles(&routes) {
                let (file, line) = (route.decl.file, route.decl.line);
                tracing::warn!(
                    target: "jwt_router::audit",
                    method = %route.decl.method,
                    path = %route.path,
                    handler = route.decl.handler,
                    source = %format_args!("{file}:{line}"),
                    "jwt-router: an authed route declares no roles or scopes, in an app that uses them"
                );
            }
        }
        let mut policies = Policies::default();
        for route in &routes {
            let rule = Rule {
                policy: route.decl.policy,
                entity: route.decl.entity,
                roles: route.decl.roles,
                scopes: route.decl.scopes,
                fresh: route.decl.fresh,
            };
            policies.insert(&route.path, route.decl.method, rule);
        }
        if let Some(taken) = routes
            .iter()
            .find(|r| self.jwks_route && r.path == JWKS_PATH && r.decl.method == Method::Get)
        {
            // axum would panic mounting both: say so here, with the declaration's location.
            return Err(ConfigError {
                problems: vec![Problem::DuplicateRoute {
                    method: Method::Get,
                    path: JWKS_PATH.to_owned(),
                    first: crate::config_error::Source {
                        handler: "jwks_route",
                        file: "jwt-router",
                        line: 0,
                    },
                    second: crate::config_error::Source::of(taken.decl),
                }],
            });
        }
        if self.jwks_route {
            let rule = Rule {
                policy: Policy::Ignored,
                ..AUTHED
            };
            policies.insert(JWKS_PATH, Method::Get, rule);
        }
        let rules = Rules {
            expire: self.expire,
            refresh_expire: self.refresh_expire,
            leeway: self.leeway,
            max_token_bytes: self.max_token_bytes,
            tables,
            issuer: self.issuer,
            audience: self.audience,
        };
        let keys = self.keys.into_iter().map(|(key, _)| key).collect();
        let keys = TokenKeys::new(keys, signing, rules);
        let settings = Settings {
            keys,
            query_token: self.query_token,
            verified: (self.verified_cache > 0).then(|| Verified::new(self.verified_cache)),
            jwks_route: self.jwks_route,
            #[cfg(feature = "oidc")]
            issuers: self.issuers,
            policies,
            responder: self.responder,
            sessions: self.sessions,
            #[cfg(feature = "cookies")]
            cookies: self.cookies,
        };
        Ok(JwtRoutes::new(settings, routes, self.entities))
    }
}

impl<S> JwtRoutesBuilder<S> {
    /// The defaults: no prefix, 30-day tokens, no leeway, header tokens only.
    pub(crate) fn new() -> Self {
        Self {
            keys: Vec::new(),
            issuer: None,
            audience: None,
            api_name: String::new(),
            expire: DEFAULT_EXPIRE,
            refresh_expire: DEFAULT_EXPIRE,
            sessions: None,
            #[cfg(feature = "cookies")]
            cookies: None,
            leeway: Duration::ZERO,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            query_token: false,
            verified_cache: 0,
            jwks_route: false,
            #[cfg(feature = "oidc")]
            issuers: Vec::new(),
            modules: Vec::new(),
            entities: Vec::new(),
            responder: Responder::default(),
            audit_roles: false,
        }
    }
}

impl<S> fmt::Debug for JwtRoutesBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtRoutesBuilder")
            .field("keys", &self.keys)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("api_name", &self.api_name)
            .field("expire", &self.expire)
            .field("refresh_expire", &self.refresh_expire)
            .field("sessions", &self.sessions.is_some())
            .field("leeway", &self.leeway)
            .field("max_token_bytes", &self.max_token_bytes)
            .field("query_token", &self.query_token)
            .field("verified_cache", &self.verified_cache)
            .field("modules", &self.modules)
            .field(
                "entities",
                &self
                    .entities
                    .iter()
                    .map(|reg| reg.table)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// The keys' problems; the index of the signing key, if there is exactly one.
fn check_keys(keys: &[(Key, bool)], problems: &mut Vec<Problem>) -> Option<usize> {
    if keys.is_empty() {
        problems.push(Problem::EmptySecret);
    }
    problems.extend(keys.iter().filter_map(|(key, _)| key.problem()));
    for (i, (key, _)) in keys.iter().enumerate() {
        let twin = keys[..i].iter().any(|(other, _)| other.kid == key.kid);
        if twin {
            problems.push(Problem::DuplicateKid {
                kid: key.kid.clone(),
            });
        }
    }
    let mut signing = keys.iter().enumerate().filter(|(_, (_, signs))| *signs);
    let first = signing.next().map(|(i, _)| i);
    if signing.next().is_some() {
        problems.push(Problem::SeveralSigningKeys);
    }
    if let Some(i) = first
        && !keys[i].0.can_sign()
    {
        problems.push(Problem::SigningKeyCannotSign {
            kid: keys[i].0.kid.clone(),
        });
    }
    first
}

fn normalize_prefix(api_name: &str, problems: &mut Vec<Problem>) -> String {
    let prefix = api_name.trim_end_matches('/');
    if !prefix.is_empty() && !prefix.starts_with('/') {
        problems.push(Problem::ApiNameWithoutSlash {
            api_name: api_name.to_owned(),
        });
    }
    if prefix.contains(['{', '}', '?', '#', ' ']) {
        problems.push(Problem::ApiNameNotAPath {
            api_name: api_name.to_owned(),
        });
    }
    prefix.to_owned()
}

fn check_entities<S>(entities: &[EntityReg<S>], problems: &mut Vec<Problem>) {
    for (i, reg) in entities.iter().enumerate() {
        if let Some(first) = entities[..i].iter().find(|r| r.table == reg.table) {
            problems.push(Problem::DuplicateEntity {
                table: reg.table,
                first: first.type_name,
                second: reg.type_name,
            });
        }
    }
}
