//! The guard: one policy decision per request, by the route template axum matched.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use axum::extract::MatchedPath;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Request, header};
use axum::response::Response;
use futures_util::future::{Either, Ready, ready};
use tower_layer::Layer;
use tower_service::Service;

use crate::entity::Entities;
use crate::error::{AuthError, Responder};
use crate::table::{Method, Policy};
use crate::token::{Claims, TOO_LARGE, TokenKeys};

/// The query parameter that carries a token when [`query_token`](crate::JwtRoutesBuilder::query_token) is on.
pub(crate) const QUERY_PARAM: &str = "auth";

/// A route's rule: its policy and the entity table it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    pub(crate) policy: Policy,
    pub(crate) entity: Option<&'static str>,
}

/// Deny by default: what every route that is not in the table gets.
const AUTHED: Rule = Rule {
    policy: Policy::Authed,
    entity: None,
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

/// What the guard decides with, fixed by `build`: shared by a `JwtRoutes` and every router
/// it makes, so none of it is copied per router or per request.
pub(crate) struct Settings {
    pub(crate) keys: TokenKeys,
    pub(crate) query_token: bool,
    pub(crate) policies: Policies,
    pub(crate) responder: Responder,
}

/// Everything a request needs from jwt-router: the settings, and the entity loaders bound to
/// the router's state. The guard puts it in each request it lets through, for the extractors.
pub(crate) struct Context {
    pub(crate) settings: Arc<Settings>,
    pub(crate) entities: Entities,
}

impl Context {
    /// The context the guard left in a request; an error if no guard ran for this route.
    pub(crate) fn of(parts: &Parts) -> Result<Arc<Context>, AuthError> {
        parts
            .extensions
            .get::<Arc<Context>>()
            .cloned()
            .ok_or(AuthError::Misconfigured(
                "the jwt-router guard layer is not installed on this route",
            ))
    }

    /// The caller's claims: the ones the guard verified or, on a route it let through without
    /// token work (public, ignored), the request's own token verified now and kept for the next
    /// extractor. `None` when the request carries no token; an error when it carries a bad one,
    /// so a client learns its token is refused instead of being served as anonymous.
    pub(crate) fn caller(&self, parts: &mut Parts) -> Result<Option<Claims>, AuthError> {
        if let Some(claims) = parts.extensions.get::<Claims>() {
            return Ok(Some(claims.clone()));
        }
        let claims = match self.token(&parts.headers, parts.uri.query()) {
            Ok(token) => self.settings.keys.verify(&token)?,
            Err(AuthError::MissingToken) => return Ok(None),
            Err(err) => return Err(err),
        };
        parts.extensions.insert(claims.clone());
        Ok(Some(claims))
    }

    pub(crate) fn respond(&self, err: &AuthError) -> Response {
        self.settings.responder.respond(err)
    }

    /// Decides the request: `Ok` lets it through (with the verified claims in its extensions).
    ///
    /// OPTIONS follows the route's policy like any method, CORS preflights included: a
    /// preflight's headers are the client's to forge, and forwarding it would run `any()`
    /// routes, nested services and fallbacks without a token. A CORS layer therefore goes
    /// outside the guard (`jwt.router(state).layer(cors)`), where it answers preflights itself.
    fn admit<B>(self: &Arc<Self>, req: &mut Request<B>) -> Result<(), AuthError> {
        let template = req
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        let Rule { policy, entity } = self.settings.policies.rule(req.method(), template);
        tracing::debug!(
            method = %req.method(),
            route = template.unwrap_or("<unmatched>"),
            policy = policy.as_str(),
            "jwt-router decision"
        );
        if policy == Policy::Authed {
            let token = self.token(req.headers(), req.uri().query())?;
            let claims = self.settings.keys.verify(&token)?;
            if let Some(expected) = entity.filter(|table| *table != claims.table_name) {
                return Err(AuthError::WrongEntity {
                    expected,
                    found: claims.table_name,
                });
            }
            req.extensions_mut().insert(claims);
        }
        req.extensions_mut().insert(Arc::clone(self));
        Ok(())
    }

    /// The request's token: `Authorization: Bearer`, or the `auth` query parameter when enabled.
    fn token<'r>(
        &self,
        headers: &'r HeaderMap,
        query: Option<&'r str>,
    ) -> Result<Cow<'r, str>, AuthError> {
        let max = self.settings.keys.max_token_bytes;
        let from_header = bearer(headers, max)?;
        let from_query = match query {
            Some(query) if self.settings.query_token => query_param(query, max)?,
            _ => None,
        };
        match (from_header, from_query) {
            (Some(_), Some(_)) => Err(AuthError::InvalidRequest(
                "send the token in the Authorization header or the `auth` query parameter, not both",
            )),
            (Some(token), None) => Ok(Cow::Borrowed(token)),
            (None, Some(token)) => Ok(token),
            (None, None) => Err(AuthError::MissingToken),
        }
    }
}

/// The token of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 7235 §2.1).
/// A value longer than any accepted token is refused before it is scanned.
fn bearer(headers: &HeaderMap, max_token_bytes: usize) -> Result<Option<&str>, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::InvalidRequest(
            "send one Authorization header, not several",
        ));
    }
    if value.len() > max_token_bytes.saturating_add(MAX_SCHEME_BYTES) {
        return Err(TOO_LARGE);
    }
    let malformed = AuthError::InvalidRequest("expected `Authorization: Bearer <token>`");
    let value = value.to_str().map_err(|_| malformed.clone())?;
    let (scheme, token) = value.split_once(' ').ok_or(malformed.clone())?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::InvalidRequest(
            "only the Bearer authorization scheme is accepted",
        ));
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() || token.contains(' ') {
        return Err(malformed);
    }
    Ok(Some(token))
}

/// Whether a raw `key=value` pair is the `auth` parameter; an encoded key (`%61uth`) counts too,
/// so a second, disguised `auth` is refused as a duplicate rather than left for the app to read.
fn is_auth_key(pair: &str) -> bool {
    let key = pair.split_once('=').map_or(pair, |(key, _)| key);
    if key.contains(['%', '+']) {
        form_urlencoded::parse(key.as_bytes()).any(|(key, _)| key == QUERY_PARAM)
    } else {
        key == QUERY_PARAM
    }
}

/// Room for `Bearer` and the spaces after it in a header that carries a token of the max size.
const MAX_SCHEME_BYTES: usize = 64;

/// The `auth` query parameter. Only that pair is percent-decoded, and only when its raw text
/// could hold a token of the allowed size (percent-encoding triples a byte at most).
fn query_param(query: &str, max_token_bytes: usize) -> Result<Option<Cow<'_, str>>, AuthError> {
    let mut found = query.split('&').filter(|pair| is_auth_key(pair));
    let Some(pair) = found.next() else {
        return Ok(None);
    };
    if found.next().is_some() {
        return Err(AuthError::InvalidRequest(
            "send one `auth` query parameter, not several",
        ));
    }
    if pair.len()
        > max_token_bytes
            .saturating_mul(3)
            .saturating_add(QUERY_PARAM.len() + 1)
    {
        return Err(TOO_LARGE);
    }
    Ok(form_urlencoded::parse(pair.as_bytes())
        .next()
        .map(|(_, value)| value))
}

/// The guard as a tower layer, for routers you build yourself: add it after your routes
/// (axum applies a layer only to the routes added before it). See [`JwtRoutes::layer`](crate::JwtRoutes::layer).
#[derive(Clone)]
pub struct GuardLayer {
    pub(crate) ctx: Arc<Context>,
}

impl<I> Layer<I> for GuardLayer {
    type Service = Guard<I>;

    fn layer(&self, inner: I) -> Self::Service {
        Guard {
            inner,
            ctx: Arc::clone(&self.ctx),
        }
    }
}

/// The service [`GuardLayer`] wraps around each route.
#[derive(Clone)]
pub struct Guard<I> {
    inner: I,
    ctx: Arc<Context>,
}

impl<I, B> Service<Request<B>> for Guard<I>
where
    I: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = I::Error;
    type Future = Either<I::Future, Ready<Result<Response, I::Error>>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        match self.ctx.admit(&mut req) {
            Ok(()) => Either::Left(self.inner.call(req)),
            Err(err) => {
                tracing::debug!(code = err.code(), "jwt-router refused the request");
                Either::Right(ready(Ok(self.ctx.respond(&err))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(header::AUTHORIZATION, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_strict() {
        assert_eq!(bearer(&headers(&["Bearer abc"]), 10), Ok(Some("abc")));
        assert_eq!(bearer(&headers(&["bEARER abc"]), 10), Ok(Some("abc")));
        assert_eq!(bearer(&headers(&[]), 10), Ok(None));
        for bad in [
            "Basic abc",
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "abc",
            "Bearerabc",
        ] {
            assert!(bearer(&headers(&[bad]), 10).is_err(), "{bad} accepted");
        }
        assert!(bearer(&headers(&["Bearer a", "Bearer a"]), 10).is_err());
    }

    #[test]
    fn oversized_header_is_refused_before_it_is_scanned() {
        let huge: &'static str =
            "Bearer aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        assert_eq!(bearer(&headers(&[huge]), 0), Err(TOO_LARGE));
        assert!(bearer(&headers(&[huge]), 100).is_ok());
    }

    #[test]
    fn query_param_decodes_only_its_own_pair_and_refuses_duplicates() {
        let token = |query: &str, max| query_param(query, max).map(|t| t.map(Cow::into_owned));
        assert_eq!(token("x=1&auth=t.o.k", 10), Ok(Some("t.o.k".to_owned())));
        assert_eq!(token("auth=%41%42", 10), Ok(Some("AB".to_owned())));
        assert!(token("auth=a&auth=b", 10).is_err());
        assert_eq!(token("authx=a&x=auth", 10), Ok(None));
        assert!(token("auth=a&%61uth=b", 10).is_err());
        assert_eq!(token("%61uth=a", 10), Ok(Some("a".to_owned())));
        assert_eq!(
            token(&format!("auth={}", "%41".repeat(10)), 10),
            Ok(Some("A".repeat(10)))
        );
        assert_eq!(
            token(&format!("auth={}", "a".repeat(31)), 10),
            Err(TOO_LARGE)
        );
    }

    #[test]
    fn head_follows_get_and_unknown_routes_are_authed() {
        let mut p = Policies::default();
        let public = Rule {
            policy: Policy::Public,
            entity: None,
        };
        p.insert("/a", Method::Get, public);
        assert_eq!(p.rule(&axum::http::Method::HEAD, Some("/a")), public);
        assert_eq!(p.rule(&axum::http::Method::POST, Some("/a")), AUTHED);
        assert_eq!(p.rule(&axum::http::Method::GET, Some("/b")), AUTHED);
        assert_eq!(p.rule(&axum::http::Method::GET, None), AUTHED);
        assert_eq!(p.rule(&axum::http::Method::TRACE, Some("/a")), AUTHED);
    }
}
