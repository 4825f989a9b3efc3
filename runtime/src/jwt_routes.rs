//! [`JwtRoutes`]: the built configuration. Mounts the declared handlers behind the guard and
//! mints and verifies tokens.

use std::fmt;
use std::sync::Arc;

use axum::Router;
#[cfg(feature = "asymmetric")]
use axum::http::header;

use crate::Entity;
use crate::builder::JwtRoutesBuilder;
use crate::context::{Context, Settings};
use crate::entity::{Entities, EntityReg};
use crate::error::AuthError;
use crate::guard::GuardLayer;
use crate::router::GuardedRouter;
use crate::table::{Method, MountedRoute, Policy, RouteInfo, RouteTable};
use crate::token::{Claims, Grants, Kind};
use serde::Serialize;
use serde_json::Map;

/// Where [`JwtRoutesBuilder::jwks_route`] serves the key set (RFC 8615 well-known location).
pub(crate) const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The configured route guard: mounts the declared handlers, guards them, and mints tokens.
///
/// Cheap to clone. Built by [`JwtRoutes::builder`].
pub struct JwtRoutes<S> {
    settings: Arc<Settings>,
    routes: Arc<[MountedRoute]>,
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

impl<S> JwtRoutes<S> {
    pub(crate) fn new(
        settings: Settings,
        routes: Vec<MountedRoute>,
        entities: Vec<EntityReg<S>>,
    ) -> Self {
        Self {
            settings: Arc::new(settings),
            routes: routes.into(),
            entities: entities.into(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> JwtRoutes<S> {
    /// A builder with the defaults: no prefix, 30-day tokens, no leeway, header tokens only.
    pub fn builder() -> JwtRoutesBuilder<S> {
        JwtRoutesBuilder::new()
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
        let routes = self.jwks_router();
        self.routes
            .iter()
            .fold(routes, |router, MountedRoute { decl, path }| {
                match (decl.mount)(state, decl.method) {
                    Some(method_router) => router.route(path, method_router),
                    // `build` refused every declaration whose state type is neither () nor S.
                    None => router,
                }
            })
    }

    /// The guard as a layer, for routers you assemble yourself. Add it last: axum applies a
    /// layer only to the routes (and fallback) added before it. Prefer [`router`](Self::router):
    /// a router assembled by hand also lacks what [`GuardedRouter`] adds around the guard (no
    /// `Allow` on refusals, `Cache-Control: no-store` on answers that minted a token).
    pub fn layer(&self, state: &S) -> GuardLayer {
        GuardLayer::new(Arc::new(Context {
            settings: Arc::clone(&self.settings),
            entities: Entities::bind(&self.entities, state),
        }))
    }

    /// The mounted routes: method, full path, policy, entity, handler and source location.
    /// `Display` prints a table, e.g. for a startup log.
    pub fn route_table(&self) -> RouteTable {
        let mut rows: Vec<RouteInfo> = self
            .routes
            .iter()
            .map(|MountedRoute { decl: d, path }| RouteInfo {
                method: Some(d.method),
                path: path.clone(),
                policy: d.policy,
                entity: d.entity,
                roles: d.roles,
                scopes: d.scopes,
                fresh: d.fresh,
                handler: d.handler,
                module: d.module,
                file: d.file,
                line: d.line,
            })
            .collect();
        if self.settings.jwks_route {
            rows.push(RouteInfo {
                method: Some(Method::Get),
                path: JWKS_PATH.to_owned(),
                policy: Policy::Ignored,
                entity: None,
                roles: &[],
                scopes: &[],
                fresh: false,
                handler: "jwks",
                module: "jwt_router",
                file: file!(),
                line: line!(),
            });
        }
        rows.sort_by(|a, b| (&a.path, a.method).cmp(&(&b.path, b.method)));
        RouteTable(rows)
    }

    /// The JWKS route, when the builder asked for it.
    fn jwks_router(&self) -> Router {
        #[cfg(feature = "asymmetric")]
        if self.settings.jwks_route {
            let document =
                axum::body::Bytes::from(serde_json::to_vec(&self.jwks()).unwrap_or_default());
            let answer = move || {
                let document = document.clone();
                async move {
                    let headers = [
                        (header::CONTENT_TYPE, "application/jwk-set+json"),
                        (header::CACHE_CONTROL, "public, max-age=300"),
                    ];
                    (headers, document)
                }
            };
            return Router::new().route(JWKS_PATH, axum::routing::get(answer));
        }
        Router::new()
    }

    /// The public half of the key set as a JWKS document (RFC 7517): every ES256 and EdDSA key
    /// this server signs with (the signing key and old ones kept for rotation), with its `kid`;
    /// never an HMAC secret, never a public key given to verify others' tokens.
    #[cfg(feature = "asymmetric")]
    pub fn jwks(&self) -> jsonwebtoken::jwk::JwkSet {
        jsonwebtoken::jwk::JwkSet {
            keys: self
                .settings
                .keys
                .keys()
                .iter()
                // Our keys only: a public key kept to verify another service's tokens is not
                // ours to vouch for.
                .filter(|key| key.can_sign())
                .filter_map(crate::Key::public_jwk)
                .collect(),
        }
    }

    /// A fresh token for the entity `E` with this id (flask's `create_token`).
    pub fn create_token<E: Entity>(&self, id: &E::Id) -> Result<String, AuthError> {
        self.settings
            .keys
            .issue_for::<E>(id, Grants::default(), Map::new(), Kind::login())
    }

    /// A fresh token for `entity` with its roles and scopes; see
    /// [`Tokens::create_token_for`](crate::Tokens::create_token_for).
    pub fn create_token_for<E: Entity>(&self, entity: &E) -> Result<String, AuthError> {
        self.settings.keys.issue_entity(entity, Kind::login())
    }

    /// A fresh token for `E` carrying the application's own claims; see
    /// [`Tokens::create_token_with`](crate::Tokens::create_token_with).
    pub fn create_token_with<E: Entity, T: Serialize>(
        &self,
        id: &E::Id,
        custom: &T,
    ) -> Result<String, AuthError> {
        let custom = crate::extract::custom_claims(custom)?;
        self.settings
            .keys
            .issue_for::<E>(id, Grants::default(), custom, Kind::login())
    }

    /// A fresh token for the same entity as `claims`, with its roles, scopes and custom claims
    /// and a new expiry (flask's `update_token`).
    pub fn update_token(&self, claims: &Claims) -> Result<String, AuthError> {
        self.settings.keys.renew(claims)
    }

    /// Verifies a token as the guard does and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        self.settings.verify(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entity, StoreError};

    struct User;

    impl Entity for User {
        const TABLE_NAME: &'static str = "users";
        type Id = i64;
        type Store = ();

        fn id(&self) -> i64 {
            1
        }

        async fn load(_: &(), _: &i64) -> Result<Option<Self>, StoreError> {
            Ok(None)
        }
    }

    /// The integration tests show a cached token passes every check a fresh one does; this
    /// shows a hit is served from the cache at all: claims planted for a token's exact bytes
    /// (which no request can do: only a verified token goes in) come back from `verify`.
    #[test]
    fn a_token_seen_before_is_answered_from_the_verified_cache() {
        let jwt = JwtRoutes::<()>::builder()
            .secret("a secret of at least thirty-two bytes!")
            .entity::<User>()
            .verified_cache(4)
            .build()
            .expect("valid configuration");
        let token = jwt.create_token::<User>(&1).expect("signs");
        let verified = jwt.verify(&token).expect("verifies");
        assert_eq!(verified.sub, "1");
        let mut planted = verified;
        planted.sub = "2".to_owned();
        let cache = jwt.settings.verified.as_ref().expect("a cache");
        cache.insert(&token, &planted);
        assert_eq!(jwt.verify(&token).expect("a hit").sub, "2");
    }
}
