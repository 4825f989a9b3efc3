//! [`JwtRoutesBuilder`]: secret, API prefix, expiry, entities; everything checked at `build`.

use std::fmt;
use std::time::Duration;

use axum::extract::FromRef;
use axum::response::Response;

use crate::Entity;
use crate::config_error::{ConfigError, Problem};
use crate::context::Settings;
use crate::entity::EntityReg;
use crate::error::{AuthError, Responder};
use crate::guard::{Policies, Rule};
use crate::jwt_routes::JwtRoutes;
use crate::table;
use crate::token::TokenKeys;

/// HS256 needs a key at least as long as its output (RFC 7518 §3.2).
pub(crate) const MIN_SECRET_BYTES: usize = 32;
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
        let mut problems = check_secret(&self.secret);
        let prefix = normalize_prefix(&self.api_name, &mut problems);
        if self.expire.as_secs() == 0 {
            problems.push(Problem::ZeroExpiry);
        }
        check_entities(&self.entities, &mut problems);
        let routes = table::select(&prefix, &self.modules);
        let tables: Vec<&'static str> = self.entities.iter().map(|reg| reg.table).collect();
        table::check::<S>(&routes, &tables, &mut problems);
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        let mut policies = Policies::default();
        for route in &routes {
            let rule = Rule {
                policy: route.decl.policy,
                entity: route.decl.entity,
            };
            policies.insert(&route.path, route.decl.method, rule);
        }
        let keys = TokenKeys::new(
            &self.secret,
            self.expire,
            self.leeway,
            self.max_token_bytes,
            tables,
        );
        let settings = Settings {
            keys,
            query_token: self.query_token,
            policies,
            responder: self.responder,
        };
        Ok(JwtRoutes::new(settings, routes, self.entities))
    }
}

impl<S> JwtRoutesBuilder<S> {
    /// The defaults: no prefix, 30-day tokens, no leeway, header tokens only.
    pub(crate) fn new() -> Self {
        Self {
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
}

impl<S> fmt::Debug for JwtRoutesBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtRoutesBuilder")
            .field("secret", &"<redacted>")
            .field("api_name", &self.api_name)
            .field("expire", &self.expire)
            .field("leeway", &self.leeway)
            .field("max_token_bytes", &self.max_token_bytes)
            .field("query_token", &self.query_token)
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

fn check_secret(secret: &[u8]) -> Vec<Problem> {
    let problem = if secret.is_empty() {
        Problem::EmptySecret
    } else if secret.len() < MIN_SECRET_BYTES {
        Problem::ShortSecret {
            bytes: secret.len(),
        }
    } else if secret.iter().all(|&b| b == secret[0]) {
        Problem::RepeatedSecret
    } else {
        return Vec::new();
    };
    vec![problem]
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
