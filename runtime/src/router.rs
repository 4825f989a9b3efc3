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
use axum::routing::{MethodRouter, Route, any, any_service};
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
/// `nest_service`, `merge`, `fallback`, `fallback_service`, `layer`, `route_layer`), takes
/// handlers with the router's state type `S` (the state given to
/// [`JwtRoutes::router`](crate::JwtRoutes::router) is applied to them), and puts the guard in
/// front of each piece as it is added, so no order of calls leaves a route unguarded. It is a
/// `tower::Service` and can be passed to `axum::serve` as it is:
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
    service: GuardedService,
    state: S,
    table: Vec<RouteInfo>,
}

impl<S: Clone> Clone for GuardedRouter<S> {
    fn clone(&self) -> Self {
        Self {
            service: self.service.clone(),
            state: self.state.clone(),
            table: self.table.clone(),
        }
    }
}

impl<S> fmt::Debug for GuardedRouter<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedRouter")
            .field("routes", &self.table.len())
            .finish_non_exhaustive()
    }
}

impl<S: Clone + Send + Sync + 'static> GuardedRouter<S> {
    /// `declared` (the declared handlers, state applied) behind `guard`.
    pub(crate) fn new(declared: Router, state: S, guard: GuardLayer, table: RouteTable) -> Self {
        Self {
            service: GuardedService {
                router: declared.layer(guard.clone()),
                guard,
            },
            state,
            table: table.0,
        }
    }

    /// Lists a route added by hand in the route table, with the line that added it.
    #[track_caller]
    fn listed(mut self, path: String, added_by: &'static str) -> Self {
        let at = Location::caller();
        self.table.push(RouteInfo {
            method: None,
            path,
            policy: Policy::Authed,
            entity: None,
            handler: added_by,
            module: "",
            file: at.file(),
            line: at.line(),
        });
        self
    }

    /// `service` behind the guard, as one route.
    fn guarded<T>(&self, service: T) -> MethodRouter
    where
        T: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        T::Response: IntoResponse + 'static,
        T::Future: Send + 'static,
    {
        any_service(service).layer(self.service.guard.clone())
    }

    /// Adds a route, as `axum::Router::route` does; it needs a valid token.
    ///
    /// # Panics
    /// As `axum::Router::route`: on an invalid path, or a method already routed at this path.
    #[track_caller]
    pub fn route(mut self, path: &str, method_router: MethodRouter<S>) -> Self {
        let route = method_router
            .with_state(self.state.clone())
            .layer(self.service.guard.clone());
        self.service.router = self.service.router.route(path, route);
        self.listed(path.to_owned(), ".route()")
    }

    /// Adds a service at `path`, as `axum::Router::route_service` does; it needs a valid token.
    ///
    /// # Panics
    /// As `axum::Router::route_service`.
    #[track_caller]
    pub fn route_service<T>(mut self, path: &str, service: T) -> Self
    where
        T: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        T::Response: IntoResponse + 'static,
        T::Future: Send + 'static,
    {
        let guarded = self.guarded(service);
        self.service.router = self.service.router.route_service(path, guarded);
        self.listed(path.to_owned(), ".route_service()")
    }

    /// Nests `router` under `path`, as `axum::Router::nest` does; its routes and its fallback
    /// need a valid token.
    ///
    /// # Panics
    /// As `axum::Router::nest`.
    #[track_caller]
    pub fn nest(mut self, path: &str, router: Router<S>) -> Self {
        let nested = router
            .with_state(self.state.clone())
            .layer(self.service.guard.clone());
        self.service.router = self.service.router.nest(path, nested);
        self.listed(nested_path(path), ".nest()")
    }

    /// Nests a service under `path`, as `axum::Router::nest_service` does (a `ServeDir`, say);
    /// it needs a valid token.
    ///
    /// # Panics
    /// As `axum::Router::nest_service`.
    #[track_caller]
    pub fn nest_service<T>(mut self, path: &str, service: T) -> Self
    where
        T: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        T::Response: IntoResponse + 'static,
        T::Future: Send + 'static,
    {
        let guarded = self.guarded(service);
        self.service.router = self.service.router.nest_service(path, guarded);
        self.listed(nested_path(path), ".nest_service()")
    }

    /// Merges the routes (and fallback) of `router`, as `axum::Router::merge` does; they need a
    /// valid token.
    ///
    /// # Panics
    /// As `axum::Router::merge`: on overlapping routes, or when both have a fallback.
    #[track_caller]
    pub fn merge(mut self, router: Router<S>) -> Self {
        let merged = router
            .with_state(self.state.clone())
            .layer(self.service.guard.clone());
        self.service.router = self.service.router.merge(merged);
        self.listed("*".to_owned(), ".merge()")
    }

    /// Answers requests no route matches, as `axum::Router::fallback` does (replacing an
    /// earlier fallback); a valid token is needed to reach it, so an unknown path without one
    /// is a 401 like any protected path.
    #[track_caller]
    pub fn fallback<H, T>(mut self, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let fallback = any(handler)
            .with_state(self.state.clone())
            .layer(self.service.guard.clone());
        self.service.router = self.service.router.fallback_service(fallback);
        self.listed("*".to_owned(), ".fallback()")
    }

    /// A service as the fallback, as `axum::Router::fallback_service` does; guarded like
    /// [`fallback`](Self::fallback).
    #[track_caller]
    pub fn fallback_service<T>(mut self, service: T) -> Self
    where
        T: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        T::Response: IntoResponse + 'static,
        T::Future: Send + 'static,
    {
        let guarded = self.guarded(service);
        self.service.router = self.service.router.fallback_service(guarded);
        self.listed("*".to_owned(), ".fallback_service()")
    }

    /// Wraps every route and the fallback added so far, as `axum::Router::layer` does. The
    /// layer sits outside the guard: a CORS layer answers preflights itself, a log sees refusals.
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.service.router = self.service.router.layer(layer);
        self
    }

    /// Wraps the routes added so far but not the fallback, as `axum::Router::route_layer` does.
    pub fn route_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.service.router = self.service.router.route_layer(layer);
        self
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
    guard: GuardLayer,
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
            guard: self.guard.clone(),
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
    guard: GuardLayer,
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
        if let Some(refusal) = response.extensions_mut().remove::<Refusal>() {
            let responder = &self.guard.ctx.settings.responder;
            if let Refusal::Unrendered(err) = refusal
                && responder.is_custom()
            {
                response = responder.render(&err);
            }
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
/// another method) or from the fallback (a path that does not): axum adds `Allow` and
/// `Content-Length`, and empties HEAD bodies, on the first path only. `Allow` would tell a
/// caller without a token which methods a path serves.
fn uniform(response: &mut Response, head: bool) {
    response.headers_mut().remove(header::ALLOW);
    if let Some(length) = response.body().size_hint().exact()
        && !response.headers().contains_key(header::CONTENT_LENGTH)
    {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    if head {
        *response.body_mut() = Body::empty();
    }
}
