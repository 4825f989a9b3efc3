//! The `JwtRoutes` builder: secret, API prefix, expiry, entities; startup validation; mounting.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::response::Response;

use crate::Entity;
use crate::entity::{Entities, EntityReg};
use crate::error::{AuthError, Responder};
use crate::guard::{Context, GuardLayer, Policies, Rule, Settings};
use crate::router::GuardedRouter;
use crate::table::{Policy, ROUTES, RouteDecl, RouteInfo, RouteTable};
use crate::token::{Claims, TokenKeys};

/// HS256 needs a key at least as long as its output (RFC 7518 §3.2).
const MIN_SECRET_BYTES: usize = 32;
const DEFAULT_EXPIRE: Duration = Duration::from_secs(30 * 24 * 60 * 60);
const DEFAULT_MAX_TOKEN_BYTES: usize = 4096;

/// Configures [`JwtRoutes`]; start with [`JwtRoutes::builder`]. `S` is the router's state type.
#[must_use]
pub struct JwtRoutesBuilder<S> {
    secret: Vec<u8>,
    api_name: String,
    expire: Duration,
    leeway: Duration,
    max_token_bytes: usize,
    query_token: bool,
    modules: Vec<String>,
    entities: Vec<EntityReg<S>>,
    responder: Responder,
}

impl<S: Clone + Send + Sync + 'static> JwtRoutesBuilder<S> {
    /// The HMAC secret that signs and verifies tokens (flask's `SECRET_KEY`). Required: an empty,
    /// short (< 32 bytes) or all-one-byte secret makes [`build`](Self::build) fail.
    pub fn secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secret = secret.as_ref().to_vec();
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
        check_secret(&self.secret, &mut problems);
        let prefix = normalize_prefix(&self.api_name, &mut problems);
        if self.expire.as_secs() == 0 {
            problems.push("the token expiry must be at least one second".to_owned());
        }
        check_entities(&self.entities, &mut problems);
        let routes: Vec<(&'static RouteDecl, String)> = ROUTES
            .iter()
            .filter(|d| self.modules.is_empty() || self.modules.iter().any(|m| d.is_in(m)))
            .map(|d| (d, full_path(&prefix, d)))
            .collect();
        check_routes::<S>(&routes, &self.entities, &mut problems);
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        let mut policies = Policies::default();
        for (decl, path) in &routes {
            let rule = Rule {
                policy: decl.policy,
                entity: decl.entity,
            };
            policies.insert(path, decl.method, rule);
        }
        let keys = TokenKeys::new(
            &self.secret,
            self.expire,
            self.leeway,
            self.max_token_bytes,
            self.entities.iter().map(|reg| reg.table).collect(),
        );
        Ok(JwtRoutes {
            settings: Arc::new(Settings {
                keys,
                query_token: self.query_token,
                policies,
                responder: self.responder,
            }),
            routes: routes.into(),
            entities: self.entities.into(),
        })
    }
}

fn check_secret(secret: &[u8], problems: &mut Vec<String>) {
    if secret.is_empty() {
        problems.push("the secret is empty: set one with .secret(...)".to_owned());
    } else if secret.len() < MIN_SECRET_BYTES {
        problems.push(format!(
            "the secret is {} bytes; HS256 needs at least {MIN_SECRET_BYTES} random bytes",
            secret.len()
        ));
    } else if secret.iter().all(|&b| b == secret[0]) {
        problems.push("the secret is one byte repeated: use random bytes".to_owned());
    }
}

fn normalize_prefix(api_name: &str, problems: &mut Vec<String>) -> String {
    let prefix = api_name.trim_end_matches('/');
    if !prefix.is_empty() && !prefix.starts_with('/') {
        problems.push(format!(
            "api_name {api_name:?} must start with '/', e.g. \"/api/v1\""
        ));
    }
    if prefix.contains(['{', '}', '?', '#', ' ']) {
        problems.push(format!(
            "api_name {api_name:?} must be a plain path, e.g. \"/api/v1\""
        ));
    }
    prefix.to_owned()
}

/// The path axum mounts: public and authed routes under the prefix, ignored ones as declared.
fn full_path(prefix: &str, decl: &RouteDecl) -> String {
    match decl.policy {
        Policy::Ignored => decl.path.to_owned(),
        _ if decl.path == "/" && !prefix.is_empty() => prefix.to_owned(),
        _ => format!("{prefix}{}", decl.path),
    }
}

fn check_entities<S>(entities: &[EntityReg<S>], problems: &mut Vec<String>) {
    for (i, reg) in entities.iter().enumerate() {
        if let Some(first) = entities[..i].iter().find(|r| r.table == reg.table) {
            problems.push(format!(
                "entity table \"{}\" is registered twice ({} and {})",
                reg.table, first.type_name, reg.type_name
            ));
        }
    }
}

fn check_routes<S: 'static>(
    routes: &[(&'static RouteDecl, String)],
    entities: &[EntityReg<S>],
    problems: &mut Vec<String>,
) {
    check_conflicts(routes, problems);
    let mut seen: HashMap<(crate::Method, &str), &RouteDecl> = HashMap::new();
    for (decl, path) in routes {
        if let Some(first) = seen.insert((decl.method, path.as_str()), decl) {
            problems.push(format!(
                "{} {path} is declared twice: `{}` at {} and `{}` at {}",
                decl.method,
                first.handler,
                first.location(),
                decl.handler,
                decl.location()
            ));
        }
        if let Some(table) = decl.entity
            && !entities.iter().any(|reg| reg.table == table)
        {
            problems.push(format!(
                "`{}` at {} declares entity = \"{table}\", but no entity with that table is registered: add .entity::<{}>() to the builder",
                decl.handler,
                decl.location(),
                decl.entity_type.unwrap_or("YourType"),
            ));
        }
        let state = (decl.state)();
        if state.id != TypeId::of::<()>() && state.id != TypeId::of::<S>() {
            problems.push(format!(
                "`{}` at {} takes state `{}`, but the router's state is `{}`; if it is reached by FromRef, declare it on the handler: `state = {}`",
                decl.handler,
                decl.location(),
                state.name,
                std::any::type_name::<S>(),
                std::any::type_name::<S>(),
            ));
        }
    }
}

/// Paths axum's router (matchit) can't hold side by side, e.g. `/users/{id}` and `/users/{name}`:
/// axum would panic when mounting them, so they are reported here with their locations.
fn check_conflicts(routes: &[(&'static RouteDecl, String)], problems: &mut Vec<String>) {
    let mut paths = matchit::Router::new();
    let mut first_at: HashMap<&str, &RouteDecl> = HashMap::new();
    for (decl, path) in routes {
        if first_at.contains_key(path.as_str()) {
            continue; // the same path with another method: axum merges them
        }
        match paths.insert(path.as_str(), ()) {
            Ok(()) => {
                first_at.insert(path, decl);
            }
            Err(matchit::InsertError::Conflict { with }) => {
                let other = first_at
                    .get(with.as_str())
                    .map(|d| format!(" (`{}` at {})", d.handler, d.location()))
                    .unwrap_or_default();
                problems.push(format!(
                    "{path} (`{}` at {}) conflicts with {with}{other}: axum can't route both",
                    decl.handler,
                    decl.location()
                ));
            }
            Err(err) => problems.push(format!(
                "{path} (`{}` at {}) is not a valid axum path: {err}",
                decl.handler,
                decl.location()
            )),
        }
    }
}

/// What [`JwtRoutesBuilder::build`] found wrong. `Display` and `Debug` both list every problem
/// on its own line, so `build()?` in a `main` that returns an error prints a readable list.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigError {
    problems: Vec<String>,
}

impl ConfigError {
    /// Each problem, one sentence each.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "jwt-router configuration is invalid:")?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

/// The same text as `Display`: `main` prints its error with `Debug`.
impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for ConfigError {}

/// The configured route guard: mounts the declared handlers, guards them, and mints tokens.
///
/// Cheap to clone. Built by [`JwtRoutes::builder`].
pub struct JwtRoutes<S> {
    settings: Arc<Settings>,
    routes: Arc<[(&'static RouteDecl, String)]>,
    entities: Arc<[EntityReg<S>]>,
}

impl<S> Clone for JwtRoutes<S> {
    fn clone(&self) -> Self {
        Self {
            settings: Arc::clone(&self.settings),
            routes: Arc::clone(&self.routes),
            entities: Arc::clone(&self.entities),
        }
    }
}

impl<S> fmt::Debug for JwtRoutes<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtRoutes")
            .field("routes", &self.routes.len())
            .field("query_token", &self.settings.query_token)
            .finish_non_exhaustive()
    }
}

impl<S: Clone + Send + Sync + 'static> JwtRoutes<S> {
    /// A builder with the defaults: no prefix, 30-day tokens, no leeway, header tokens only.
    pub fn builder() -> JwtRoutesBuilder<S> {
        JwtRoutesBuilder {
            secret: Vec::new(),
            api_name: String::new(),
            expire: DEFAULT_EXPIRE,
            leeway: Duration::ZERO,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            query_token: false,
            modules: Vec::new(),
            entities: Vec::new(),
            responder: Responder::default(),
        }
    }

    /// Every declared handler, mounted and guarded, with `state` applied. Add your own routes,
    /// nested routers, services, a fallback and layers to the [`GuardedRouter`] it returns, in
    /// any order: each goes in behind the guard (deny by default), and the state is applied to
    /// their handlers too.
    pub fn router(&self, state: S) -> GuardedRouter<S> {
        let guard = self.layer(&state);
        let declared = self.declared_routes_unguarded(&state);
        GuardedRouter::new(declared, state, guard, self.route_table())
    }

    /// The declared handlers mounted *without* the guard, for assembling a router yourself:
    /// add [`layer`](Self::layer) after every route (axum applies a layer only to the routes
    /// added before it). [`router`](Self::router) does this for you and can't be got wrong.
    pub fn declared_routes_unguarded(&self, state: &S) -> Router {
        self.routes
            .iter()
            .fold(Router::new(), |router, (decl, path)| {
                match (decl.mount)(state, decl.method) {
                    Some(method_router) => router.route(path, method_router),
                    // `build` refused every declaration whose state type is neither () nor S.
                    None => router,
                }
            })
    }

    /// The guard as a layer, for routers you assemble yourself. Add it last: axum applies a
    /// layer only to the routes (and fallback) added before it. Prefer [`router`](Self::router).
    pub fn layer(&self, state: &S) -> GuardLayer {
        GuardLayer {
            ctx: Arc::new(Context {
                settings: Arc::clone(&self.settings),
                entities: Entities::bind(&self.entities, state),
            }),
        }
    }

    /// The mounted routes: method, full path, policy, entity, handler and source location.
    /// `Display` prints a table, e.g. for a startup log.
    pub fn route_table(&self) -> RouteTable {
        let mut rows: Vec<RouteInfo> = self
            .routes
            .iter()
            .map(|(d, path)| RouteInfo {
                method: Some(d.method),
                path: path.clone(),
                policy: d.policy,
                entity: d.entity,
                handler: d.handler,
                module: d.module,
                file: d.file,
                line: d.line,
            })
            .collect();
        rows.sort_by(|a, b| (&a.path, a.method).cmp(&(&b.path, b.method)));
        RouteTable(rows)
    }

    /// A fresh token for the entity `E` with this id (flask's `create_token`).
    pub fn create_token<E: Entity>(&self, id: &E::Id) -> Result<String, AuthError> {
        self.settings.keys.issue_for::<E>(id)
    }

    /// A fresh token for the same entity as `claims`, with a new expiry (flask's `update_token`).
    pub fn update_token(&self, claims: &Claims) -> Result<String, AuthError> {
        self.settings
            .keys
            .issue(&claims.table_name, claims.sub.clone())
    }

    /// Verifies a token as the guard does and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        self.settings.keys.verify(token)
    }
}
