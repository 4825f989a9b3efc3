//! [`GuardedRouter`]: the router `JwtRoutes::router` hands back. Every way of adding a route
//! goes through the guard, in any order, so deny by default survives composition.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context as TaskContext, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use axum::routing::{MethodRouter, Route, any};
use axum::{BoxError, Router};
use tower_layer::Layer;
use tower_service::Service;

use crate::error::Refusal;
use crate::guard::GuardLayer;
use crate::table::{Policy, RouteInfo, RouteTable};

/// The declared handlers and the routes you add, every one of them guarded: deny by default for
/// anything not declared `public` or `ignored`, however the router is composed.
///
/// It mirrors `axum::Router`'s composition methods (`route`, `route_service`, `nest`,
/// `nest_service`, `merge`, `fallback`, `fallback_service`, `layer`, `route_layer`) and takes
/// handlers with the router's state type `S` (the state given to
/// [`JwtRoutes::router`](crate::JwtRoutes::router) is applied to them). The guard is put in
/// front of everything when the router is assembled, so no order of calls leaves a route
/// unguarded. Routes added here always need a valid token, whatever their path or method: a
/// hand-added `HEAD` handler at a public `GET` path does not inherit the `GET` route's policy.
/// It is a `tower::Service` and can be passed to `axum::serve` as it is:
///
/// ```no_run
/// # extern crate jwt_router_runtime as jwt_router;
/// use axum::routing::get;
/// use jwt_router::JwtRoutes;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let jwt = JwtRoutes::<()>::builder().secret(std::env::var("SECRET_KEY")?).build()?;
/// let app = jwt
///     .router(())
///     .route("/reports", get(|| async { "needs a token" })) // guarded: deny by default
///     .fallback(|| async { "no such page" });                // guarded too
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await?;
/// # Ok(()) }
/// ```
///
/// Layers: [`layer`](Self::layer) wraps the guard (a CORS layer answers preflights itself, a
/// log sees refusals); [`route_layer`](Self::route_layer) runs inside it, after
/// authentication, so its middleware can take [`Claims`](crate::Claims).
///
/// A refusal never reveals what exists: it carries no `Allow` header, so a path that exists and
/// one that does not get the same answer. An [`AuthError`](crate::AuthError) a handler returns is
/// rendered by [`error_response`](crate::JwtRoutesBuilder::error_response) like the guard's own.
/// An answer from a handler that minted a token with [`Tokens`](crate::Tokens) gets
/// `Cache-Control: no-store` (RFC 6749 §5.1).
///
/// To serve a route without the guard, say so outside it: `Router::new().route("/metrics",
/// get(metrics)).fallback_service(app)`, or assemble your own router from
/// [`declared_routes_unguarded`](crate::JwtRoutes::declared_routes_unguarded) and
/// [`layer`](crate::JwtRoutes::layer).
#[must_use]
pub struct GuardedRouter<S = ()> {
    /// The declared handlers, state applied, not yet guarded.
    declared: Router,
    /// What was added by hand, state applied, not yet guarded.
    parts: Vec<Part>,
    /// The fallback set with `fallback` or `fallback_service`, not yet guarded.
    fallback: Option<Part>,
    /// Every `layer`, in order; each wraps the parts added before it.
    layers: Vec<OuterLayer>,
    /// Decides declared routes by the route table.
    declared_guard: GuardLayer,
    /// Decides routes added by hand: always a valid token.
    hand_guard: GuardLayer,
    state: S,
    table: Vec<RouteInfo>,
    /// Everything above assembled, rebuilt by each call so axum's panics (overlapping routes,
    /// two fallbacks) point at the call that caused them.
    service: GuardedService,
}

/// Routes added in one call, and how many `layer`s there were before it.
#[derive(Clone)]
struct Part {
    routes: Router,
    layers_before: usize,
}

/// A `layer` given to the router, kept to be applied when the router is assembled.
type OuterLayer = Arc<dyn Fn(Router) -> Router + Send + Sync>;

impl<S: Clone> Clone for GuardedRouter<S> {
    fn clone(&self) -> Self {
        Self {
            declared: self.declared.clone(),
            parts: self.parts.clone(),
            fallback: self.fallback.clone(),
            layers: self.layers.clone(),
            declared_guard: self.declared_guard.clone(),
            hand_guard: self.hand_guard.clone(),
            state: self.state.clone(),
            table: self.table.clone(),
            service: self.service.clone(),
        }
    }
}

impl<S> fmt::Debug for GuardedRouter<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedRouter")
            .field("routes", &self.table.len())
            .field("layers", &self.layers.len())
            .finish_non_exhaustive()
    }
}

impl<S: Clone + Send + Sync + 'static> GuardedRouter<S> {
    /// `declared` (the declared handlers, state applied) behind `guard`.
    pub(crate) fn new(declared: Router, state: S, guard: GuardLayer, table: RouteTable) -> Self {
        let service = GuardedService {
            router: declared.clone().layer(guard.clone()),
        };
        Self {
            declared,
            parts: Vec::new(),
            fallback: None,
            layers: Vec::new(),
            hand_guard: guard.hand_added(),
            declared_guard: guard,
            state,
            table: table.0,
            service,
        }
    }

    /// The router as served: each part behind its guard, then the layers added after it. The
    /// fallback (axum's default, or the one set) gets the layers added after it too.
    fn assemble(mut self) -> Self {
        let outer = |router: Router, layers_before: usize| {
            self.layers[layers_before..]
                .iter()
                .fold(router, |router, layer| layer(router))
        };
        // The fallback goes in last, into every merge: axum keeps the fallback of the router
        // merged in when the other one has axum's default.
        let mut router = match &self.fallback {
            Some(part) => outer(
                part.routes.clone().layer(self.hand_guard.clone()),
                part.layers_before,
            ),
            None => outer(Router::new().layer(self.hand_guard.clone()), 0),
        };
        for part in self.parts.iter().rev() {
            let guarded = part.routes.clone().layer(self.hand_guard.clone());
            router = outer(guarded, part.layers_before).merge(router);
        }
        let declared = self.declared.clone().layer(self.declared_guard.clone());
        self.service.router = outer(declared, 0).merge(router);
        self
    }

    /// Adds `routes` and lists them in the route table, with the line that added them.
    #[track_caller]
    fn add(mut self, routes: Router, path: String, added_by: &'static str) -> Self {
        let at = Location::caller();
        self.parts.push(Part {
            routes,
            layers_before: self.layers.len(),
        });
        self.table.push(RouteInfo {
            method: None,
            path,
            policy: Policy::Authed,
            entity: None,
            roles: &[],
            scopes: &[],
            fresh: false,
            handler: added_by,
            module: "",
            file: at.file(),
            line: at.line(),
        });
        self.assemble()
    }

    /// Adds a route, as `axum::Router::route` does; it needs a valid token.
    ///
    /// # Panics
    /// As `axum::Router::route`: on an invalid path, or a method already routed at this path.
    #[track_caller]
    pub fn route(self, path: &str, method_router: MethodRouter<S>) -> Self {
        let routes = Router::new().route(path, method_router.with_state(self.state.clone()));
        self.add(routes, path.to_owned(), ".route()")
    }

    /// Adds a service at `path`, as `axum::Router::route_service` does; it needs a valid token.
    ///
    /// # Panics
    /// As `axum::Router::route_service`.
    #[track_caller]
    pub fn route_service<T>(self, path: &str, service: T) -> Self
    where
        T: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        T::Response: IntoResponse,
        T::Future: Send + 'static,
    {
        let routes = Router::new().route_service(path, service);
        self.add(routes, path.to_owned(), ".route_service()")
    }

    /// Nests `router` under `path`, as `axum::Router::nest` does; its routes and its fallback
    /// need a valid token.
    ///
    /// # Panics
    /// As `axum::Router::nest`.
    #[track_caller]
    pub fn nest(self, path: &str, router: Router<S>) -> Self {
        let routes = Router::new().nest(path, router.with_state(self.state.clone()));
        self.add(routes, nested_path(path), ".nest()")
    }

    /// Nests a service under `path`, as `axum::Router::nest_service` does (a `ServeDir`, say);
    /// it needs a valid token.
    ///
    /// # Panics
    /// As `axum::Router::nest_service`.
    #[track_caller]
    pub fn nest_service<T>(self, path: &str, service: T) -> Self
    where
        T: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        T::Response: IntoResponse,
        T::Future: Send + 'static,
    {
        let routes = Router::new().nest_service(path, service);
        self.add(routes, nested_path(path), ".nest_service()")
    }

    /// Merges the routes (and fallback) of `router`, as `axum::Router::merge` does; they need a
    /// valid token.
    ///
    /// # Panics
    /// As `axum::Router::merge`: on overlapping routes, or when both have a fallback.
    #[track_caller]
    pub fn merge(self, router: Router<S>) -> Self {
        let routes = router.with_state(self.state.clone());
        self.add(routes, "*".to_owned(), ".merge()")
    }

    /// Answers requests no route matches, as `axum::Router::fallback` does (replacing an
    /// earlier fallback); a valid token is needed to reach it, so an unknown path without one
    /// is a 401 like any protected path.
    ///
    /// # Panics
    /// When a merged router has a fallback too.
    #[track_caller]
    pub fn fallback<H, T>(self, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let routes = Router::new().fallback_service(any(handler).with_state(self.state.clone()));
        self.set_fallback(routes, ".fallback()")
    }

    /// A service as the fallback, as `axum::Router::fallback_service` does; guarded like
    /// [`fallback`](Self::fallback).
    ///
    /// # Panics
    /// When a merged router has a fallback too.
    #[track_caller]
    pub fn fallback_service<T>(self, service: T) -> Self
    where
        T: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        T::Response: IntoResponse,
        T::Future: Send + 'static,
    {
        self.set_fallback(
            Router::new().fallback_service(service),
            ".fallback_service()",
        )
    }

    #[track_caller]
    fn set_fallback(mut self, routes: Router, added_by: &'static str) -> Self {
        let at = Location::caller();
        self.fallback = Some(Part {
            routes,
            layers_before: self.layers.len(),
        });
        // One fallback at a time: the row of the one it replaces goes.
        self.table
            .retain(|row| row.path != "*" || !row.handler.starts_with(".fallback"));
        self.table.push(RouteInfo {
            method: None,
            path: "*".to_owned(),
            policy: Policy::Authed,
            entity: None,
            roles: &[],
            scopes: &[],
            fresh: false,
            handler: added_by,
            module: "",
            file: at.file(),
            line: at.line(),
        });
        self.assemble()
    }

    /// Wraps every route and the fallback added so far, as `axum::Router::layer` does, outside
    /// the guard: a CORS layer answers preflights itself, a log sees refusals.
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.layers
            .push(Arc::new(move |router: Router| router.layer(layer.clone())));
        self.assemble()
    }

    /// Wraps the routes added so far (not the fallback), as `axum::Router::route_layer` does,
    /// inside the guard: it runs only for requests the guard let through, so its middleware can
    /// take [`Claims`](crate::Claims), and an early answer from it can't tell a caller without a
    /// token which paths exist.
    pub fn route_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.declared = self.declared.route_layer(layer.clone());
        for part in &mut self.parts {
            part.routes = part.routes.clone().route_layer(layer.clone());
        }
        self.assemble()
    }

    /// Every route: the declared ones, then those added by hand (method `*`, policy authed,
    /// the composition method as the handler, and the line that added it).
    pub fn route_table(&self) -> RouteTable {
        RouteTable(self.table.clone())
    }
}

/// How a nested router or service appears in the route table.
fn nested_path(path: &str) -> String {
    format!("{}/*", path.trim_end_matches('/'))
}

impl<S, B> Service<axum::http::Request<B>> for GuardedRouter<S>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = GuardedRouterFuture;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        self.service.call(req)
    }
}

/// `axum::serve(listener, app)` takes a `GuardedRouter` as it takes an `axum::Router`.
impl<S, L> Service<axum::serve::IncomingStream<'_, L>> for GuardedRouter<S>
where
    L: axum::serve::Listener,
{
    type Response = GuardedService;
    type Error = Infallible;
    type Future = std::future::Ready<Result<GuardedService, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _stream: axum::serve::IncomingStream<'_, L>) -> Self::Future {
        std::future::ready(Ok(self.service.clone()))
    }
}

impl<S> GuardedRouter<S> {
    /// The router as the service that answers requests, without the route table and state it
    /// was built with (what `axum::serve` runs per connection; for servers you drive yourself).
    pub fn into_service(self) -> GuardedService {
        self.service
    }
}

/// A [`GuardedRouter`] ready to answer requests: cheap to clone, one per connection.
#[derive(Clone)]
pub struct GuardedService {
    router: Router,
}

impl fmt::Debug for GuardedService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedService").finish_non_exhaustive()
    }
}

impl<B> Service<axum::http::Request<B>> for GuardedService
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = GuardedRouterFuture;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: axum::http::Request<B>) -> Self::Future {
        let minted = MintedToken::default();
        req.extensions_mut().insert(minted.clone());
        GuardedRouterFuture {
            head: req.method() == Method::HEAD,
            inner: Service::call(&mut self.router, req),
            minted,
        }
    }
}

/// Set by [`Tokens`](crate::Tokens) when a handler mints a token, so its answer is not cached.
#[derive(Clone, Default)]
pub(crate) struct MintedToken(Arc<AtomicBool>);

impl MintedToken {
    pub(crate) fn mark(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The answer of a [`GuardedRouter`]: the router's, with refusals made uniform (see there).
pub struct GuardedRouterFuture {
    inner: RouteFuture<Infallible>,
    head: bool,
    minted: MintedToken,
}

impl fmt::Debug for GuardedRouterFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedRouterFuture")
            .finish_non_exhaustive()
    }
}

impl Future for GuardedRouterFuture {
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let Ok(mut response) = std::task::ready!(Pin::new(&mut self.inner).poll(cx));
        if response.extensions_mut().remove::<Refusal>().is_some() {
            uniform(&mut response, self.head);
        }
        if self.minted.0.load(Ordering::Relaxed) {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        Poll::Ready(Ok(response))
    }
}

/// Makes a refusal the same whether axum answered it from a route (a path that exists, with
/// another method) or from the fallback (a path that does not): axum adds `Allow` and empties
/// HEAD bodies on the first path only. `Allow` would tell a caller without a token which
/// methods a path serves. (`Content-Length` is set where the refusal is made.)
fn uniform(response: &mut Response, head: bool) {
    response.headers_mut().remove(header::ALLOW);
    if head {
        *response.body_mut() = Body::empty();
    }
}
