//! The guard: one policy decision per request, by the route template axum matched.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use axum::extract::{MatchedPath, NestedPath};
use axum::http::Request;
use axum::response::Response;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::context::Context;
use crate::error::AuthError;
use crate::table::{Method, Policy};
use crate::token::Claims;

/// A route's rule: its policy, the entity table it is for, and the roles (any of) and scopes
/// (all of) its token needs. Static slices from the declarations: copying one allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    pub(crate) policy: Policy,
    pub(crate) entity: Option<&'static str>,
    pub(crate) roles: &'static [&'static str],
    pub(crate) scopes: &'static [&'static str],
    /// Only a token minted by a login.
    pub(crate) fresh: bool,
}

impl Rule {
    /// Whether `claims` hold one of the rule's roles (if it names any) and all of its scopes.
    /// Nothing is allocated: the `scope` claim is split in place.
    fn grants(&self, claims: &Claims) -> bool {
        let roles = claims.roles.as_deref().unwrap_or_default();
        let scope = claims.scope.as_deref().unwrap_or_default();
        (self.roles.is_empty() || roles.iter().any(|role| self.roles.contains(&role.as_str())))
            && self
                .scopes
                .iter()
                .all(|needed| scope.split(' ').any(|held| held == *needed))
    }
}

/// Deny by default: what every route that is not in the table gets.
pub(crate) const AUTHED: Rule = Rule {
    policy: Policy::Authed,
    entity: None,
    roles: &[],
    scopes: &[],
    fresh: false,
};

/// (matched template, method) -> rule, built once at startup; one hash lookup per request.
#[derive(Debug, Default)]
pub(crate) struct Policies(HashMap<Box<str>, [Option<Rule>; Method::ALL.len()]>);

impl Policies {
    pub(crate) fn insert(&mut self, path: &str, method: Method, rule: Rule) {
        self.0.entry(path.into()).or_default()[method as usize] = Some(rule);
    }

    pub(crate) fn rule(&self, method: &axum::http::Method, template: Option<&str>) -> Rule {
        let (Some(row), Some(method)) = (
            template.and_then(|t| self.0.get(t)),
            Method::from_http(method),
        ) else {
            return AUTHED;
        };
        let head_as_get = (method == Method::Head).then(|| row[Method::Get as usize]);
        row[method as usize]
            .or(head_as_get.flatten())
            .unwrap_or(AUTHED)
    }
}

/// Decides the request: `Ok` lets it through (with the verified claims in its extensions).
///
/// OPTIONS follows the route's policy like any method, CORS preflights included: a
/// preflight's headers are the client's to forge, and forwarding it would run `any()`
/// routes, nested services and fallbacks without a token. A CORS layer therefore goes
/// outside the guard (`jwt.router(state).layer(cors)`), where it answers preflights itself.
///
/// A guard for routes added by hand ([`GuardLayer::hand_added`]) does not look at the table:
/// such a route needs a valid token whatever its path, so a hand-added `HEAD` handler at a
/// public `GET` path does not inherit the `GET` route's policy.
fn admit<B>(ctx: &Arc<Context>, hand_added: bool, req: &mut Request<B>) -> Result<(), AuthError> {
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let rule = if hand_added {
        AUTHED
    } else {
        // Served under a prefix by an outer router (`nest_service("/v2", app)`), axum prefixes
        // our templates with the outer match: decide by the template this router declared.
        let nested = req.extensions().get::<NestedPath>().map(NestedPath::as_str);
        let own = template.map(|t| {
            nested
                .and_then(|prefix| t.strip_prefix(prefix.trim_end_matches('/')))
                .unwrap_or(t)
        });
        ctx.settings.policies.rule(req.method(), own)
    };
    tracing::debug!(
        method = %req.method(),
        route = template.unwrap_or("<unmatched>"),
        policy = rule.policy.as_str(),
        "jwt-router decision"
    );
    if rule.policy == Policy::Authed {
        let claims = ctx.verified(req.method(), req.headers(), req.uri().query())?;
        if let Some(expected) = rule.entity.filter(|table| *table != claims.table_name) {
            return Err(AuthError::WrongEntity {
                expected,
                found: claims.table_name,
            });
        }
        // Before the inner service: no extractor, store read or body read for a refusal.
        if !rule.grants(&claims) {
            return Err(AuthError::InsufficientScope {
                roles: rule.roles,
                scopes: rule.scopes,
            });
        }
        if rule.fresh && !claims.fresh {
            return Err(AuthError::FreshTokenRequired);
        }
        req.extensions_mut().insert(claims);
    } else {
        // Claims an outer router verified with its own keys are not this router's caller.
        req.extensions_mut().remove::<Claims>();
    }
    req.extensions_mut().insert(Arc::clone(ctx));
    Ok(())
}

/// The guard as a tower layer, for routers you build yourself: add it after your routes
/// (axum applies a layer only to the routes added before it). See [`JwtRoutes::layer`](crate::JwtRoutes::layer).
#[derive(Clone)]
pub struct GuardLayer {
    pub(crate) ctx: Arc<Context>,
    hand_added: bool,
}

impl GuardLayer {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Self {
            ctx,
            hand_added: false,
        }
    }

    /// The guard for routes added by hand: a valid token always, whatever the table says.
    pub(crate) fn hand_added(&self) -> Self {
        Self {
            ctx: Arc::clone(&self.ctx),
            hand_added: true,
        }
    }
}

impl fmt::Debug for GuardLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardLayer").finish_non_exhaustive()
    }
}

impl<I> Layer<I> for GuardLayer {
    type Service = Guard<I>;

    fn layer(&self, inner: I) -> Self::Service {
        Guard {
            inner,
            ctx: Arc::clone(&self.ctx),
            hand_added: self.hand_added,
        }
    }
}

/// The service [`GuardLayer`] wraps around each route.
#[derive(Clone)]
pub struct Guard<I> {
    inner: I,
    ctx: Arc<Context>,
    hand_added: bool,
}

impl<I: fmt::Debug> fmt::Debug for Guard<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<I, B> Service<Request<B>> for Guard<I>
where
    I: Service<Request<B>, Response = Response> + Clone,
{
    type Response = Response;
    type Error = I::Error;
    type Future = GuardFuture<I, B>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let ctx = Arc::clone(&self.ctx);
        let state = match admit(&self.ctx, self.hand_added, &mut req) {
            // With sessions, an authed request asks the store one question before the route
            // runs: its claims go to the check and come back into the request, and the inner
            // service that is ready goes with it (a clone stays for the next one).
            Ok(()) => match ctx.settings.sessions {
                Some(_) => match req.extensions_mut().remove::<Claims>() {
                    Some(claims) => {
                        let checking = Arc::clone(&ctx);
                        let ready = self.inner.clone();
                        State::Checking {
                            check: Box::pin(async move {
                                checking.settings.check_revoked(&claims).await?;
                                Ok(claims)
                            }),
                            inner: Some(std::mem::replace(&mut self.inner, ready)),
                            req: Some(req),
                            ctx,
                        }
                    }
                    None => admitted(&mut self.inner, req, ctx),
                },
                None => admitted(&mut self.inner, req, ctx),
            },
            Err(err) => refused(&ctx, &err),
        };
        GuardFuture { state }
    }
}

/// The request handed to the route.
fn admitted<I: Service<Request<B>>, B>(
    inner: &mut I,
    req: Request<B>,
    ctx: Arc<Context>,
) -> State<I, B> {
    State::Admitted {
        inner: inner.call(req),
        ctx,
    }
}

/// The refusal of `err`, rendered.
fn refused<I: Service<Request<B>>, B>(ctx: &Context, err: &AuthError) -> State<I, B> {
    tracing::debug!(code = err.code(), "jwt-router refused the request");
    State::Refused {
        response: Some(ctx.respond(err)),
    }
}

/// A revocation check in flight; it hands the claims back.
type Check = Pin<Box<dyn Future<Output = Result<Claims, AuthError>> + Send>>;

pin_project! {
    /// The answer of a [`Guard`]: the route's, or the refusal.
    pub struct GuardFuture<I, B>
    where
        I: Service<Request<B>>,
    {
        #[pin]
        state: State<I, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<I, B>
    where
        I: Service<Request<B>>,
    {
        Checking { check: Check, inner: Option<I>, req: Option<Request<B>>, ctx: Arc<Context> },
        Admitted { #[pin] inner: I::Future, ctx: Arc<Context> },
        Refused { response: Option<Response> },
    }
}

impl<I: Service<Request<B>>, B> fmt::Debug for GuardFuture<I, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardFuture").finish_non_exhaustive()
    }
}

impl<I, B> Future for GuardFuture<I, B>
where
    I: Service<Request<B>, Response = Response>,
{
    type Output = Result<Response, I::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        loop {
            let mut state = self.as_mut().project().state;
            let next = match state.as_mut().project() {
                StateProj::Checking {
                    check,
                    inner,
                    req,
                    ctx,
                } => {
                    let checked = std::task::ready!(check.as_mut().poll(cx));
                    match (checked, inner.take(), req.take()) {
                        (Ok(claims), Some(mut inner), Some(mut req)) => {
                            req.extensions_mut().insert(claims);
                            admitted(&mut inner, req, Arc::clone(ctx))
                        }
                        (Err(err), _, _) => refused(ctx, &err),
                        _ => panic!("GuardFuture polled after it completed"),
                    }
                }
                // Inside the app's layers, so what they add to the answer survives the rendering.
                StateProj::Admitted { inner, ctx } => {
                    return inner
                        .poll(cx)
                        .map_ok(|response| ctx.settings.responder.render_returned(response));
                }
                StateProj::Refused { response } => match response.take() {
                    Some(response) => return Poll::Ready(Ok(response)),
                    None => panic!("GuardFuture polled after it completed"),
                },
            };
            state.set(next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(roles: serde_json::Value, scope: serde_json::Value) -> Claims {
        let claims = serde_json::json!({
            "sub": "1", "table_name": "users", "iat": 0, "exp": 1, "roles": roles, "scope": scope,
        });
        serde_json::from_value(claims).expect("claims")
    }

    #[test]
    fn roles_are_any_of_and_scopes_all_of_matched_exactly() {
        let rule = Rule {
            roles: &["admin", "editor"],
            scopes: &["a", "b"],
            ..AUTHED
        };
        let null = serde_json::Value::Null;
        assert!(rule.grants(&claims(json!(["editor"]), json!("b a"))));
        assert!(rule.grants(&claims(json!(["x", "admin"]), json!("c  a b"))));
        assert!(!rule.grants(&claims(json!(["admin"]), json!("a"))));
        assert!(!rule.grants(&claims(json!(["admin"]), json!("ab"))));
        assert!(!rule.grants(&claims(json!(["administrator"]), json!("a b"))));
        assert!(!rule.grants(&claims(null.clone(), json!("a b"))));
        assert!(!rule.grants(&claims(json!(["admin"]), null.clone())));
        assert!(AUTHED.grants(&claims(null.clone(), null)));
    }

    #[test]
    fn head_follows_get_and_unknown_routes_are_authed() {
        let mut p = Policies::default();
        let public = Rule {
            policy: Policy::Public,
            ..AUTHED
        };
        p.insert("/a", Method::Get, public);
        assert_eq!(p.rule(&axum::http::Method::HEAD, Some("/a")), public);
        assert_eq!(p.rule(&axum::http::Method::POST, Some("/a")), AUTHED);
        assert_eq!(p.rule(&axum::http::Method::GET, Some("/b")), AUTHED);
        assert_eq!(p.rule(&axum::http::Method::GET, None), AUTHED);
        assert_eq!(p.rule(&axum::http::Method::TRACE, Some("/a")), AUTHED);
    }
}
