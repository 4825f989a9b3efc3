//! [`JwtRoutes`]: the built configuration. Mounts the declared handlers behind the guard and
//! mints and verifies tokens.

use std::fmt;
use std::sync::Arc;

use axum::Router;

use crate::Entity;
use crate::builder::JwtRoutesBuilder;
use crate::context::{Context, Settings};
use crate::entity::{Entities, EntityReg};
use crate::error::AuthError;
use crate::guard::GuardLayer;
use crate::router::GuardedRouter;
use crate::table::{MountedRoute, RouteInfo, RouteTable};
use crate::token::Claims;

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
        self.routes
            .iter()
            .fold(Router::new(), |router, MountedRoute { decl, path }| {
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
