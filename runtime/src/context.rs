//! What every request needs from jwt-router: the settings fixed by `build` and the entity
//! loaders bound to the router's state. The guard leaves it in each request it lets through.

use std::sync::Arc;

use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::response::Response;

use crate::credentials::request_token;
use crate::entity::Entities;
use crate::error::{AuthError, Responder};
use crate::guard::Policies;
use crate::sessions::{Presented, SessionStore, store_failed};
use crate::token::{Claims, TokenKeys, check_times, now};
use crate::verified::Verified;

/// What the guard decides with, fixed by `build`: shared by a `JwtRoutes` and every router
/// it makes, so none of it is copied per router or per request.
pub(crate) struct Settings {
    pub(crate) keys: TokenKeys,
    pub(crate) query_token: bool,
    /// Whether `/.well-known/jwks.json` is served.
    pub(crate) jwks_route: bool,
    /// External issuers whose tokens are accepted too.
    #[cfg(feature = "oidc")]
    pub(crate) issuers: Vec<crate::external::ExternalIssuer>,
    pub(crate) policies: Policies,
    pub(crate) responder: Responder,
    /// Access tokens verified before, by their bytes (`verified_cache`); `None`: every token
    /// is verified in full.
    pub(crate) verified: Option<Verified>,
    /// Where refresh families and revocations live; `None`: stateless tokens.
    pub(crate) sessions: Option<Arc<dyn SessionStore>>,
    /// The session cookie, when browsers may send the token that way.
    #[cfg(feature = "cookies")]
    pub(crate) cookies: Option<crate::Cookies>,
}

impl Settings {
    /// Verifies an access token of ours or, when its key is not one of ours, of an external
    /// issuer. Refresh tokens are refused: they only buy a new pair. With the verified-token
    /// cache, a token of ours seen before is taken from it, its times checked again.
    pub(crate) fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        // A token over the size limit is never cached: refused by `keys.verify` without being
        // hashed for a lookup, so its length costs nothing (the public `JwtRoutes::verify` may
        // be handed any string).
        if let Some(cache) = &self.verified
            && token.len() <= self.keys.max_token_bytes
            && let Some(claims) = cache.get(token)
        {
            check_times(&claims, now(), self.keys.leeway)?;
            return Ok(claims);
        }
        let (claims, ours) = match self.keys.verify(token) {
            #[cfg(feature = "oidc")]
            Err(AuthError::UnknownKey) if !self.issuers.is_empty() => {
                (crate::external::verify(&self.issuers, token)?, false)
            }
            verified => (verified?, true),
        };
        if claims.refresh {
            return Err(AuthError::InvalidToken(
                "a refresh token is not an access token",
            ));
        }
        if let (true, Some(cache)) = (ours, &self.verified) {
            cache.insert(token, &claims);
        }
        Ok(claims)
    }

    /// The session store, or the error that says none is configured.
    pub(crate) fn sessions(&self) -> Result<&dyn SessionStore, AuthError> {
        self.sessions.as_deref().ok_or(AuthError::Misconfigured(
            "sessions need a store: JwtRoutes::builder().sessions(..)",
        ))
    }

    /// `Ok` unless the store says `claims`' token, family or entity is revoked (401
    /// `token_revoked`) or can't answer (503 `store_unavailable`). Free without a store.
    pub(crate) async fn check_revoked(&self, claims: &Claims) -> Result<(), AuthError> {
        let Some(store) = &self.sessions else {
            return Ok(());
        };
        match store.is_revoked(presented(claims)).await {
            Ok(false) => Ok(()),
            Ok(true) => Err(AuthError::TokenRevoked),
            Err(err) => Err(store_failed(err)),
        }
    }
}

/// What the store needs to know of `claims` to check them.
pub(crate) fn presented(claims: &Claims) -> Presented<'_> {
    Presented {
        jti: claims.jti.as_deref(),
        family: claims.fam.as_deref(),
        table: &claims.table_name,
        sub: &claims.sub,
        issued_us: claims.session_us(),
    }
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
    pub(crate) async fn caller(&self, parts: &mut Parts) -> Result<Option<Claims>, AuthError> {
        if let Some(claims) = parts.extensions.get::<Claims>() {
            return Ok(Some(claims.clone()));
        }
        let claims = match self.verified(&parts.method, &parts.headers, parts.uri.query()) {
            Ok(claims) => claims,
            Err(AuthError::MissingToken) => return Ok(None),
            Err(err) => return Err(err),
        };
        self.settings.check_revoked(&claims).await?;
        parts.extensions.insert(claims.clone());
        Ok(Some(claims))
    }

    pub(crate) fn respond(&self, err: &AuthError) -> Response {
        self.settings.responder.respond(err)
    }

    /// The claims of the request's token, verified: from `Authorization: Bearer`, the `auth`
    /// query parameter when enabled, or else the session cookie when enabled, whose unsafe
    /// requests must carry the session's CSRF token. [`AuthError::MissingToken`] without one.
    #[cfg_attr(not(feature = "cookies"), allow(unused_variables))]
    pub(crate) fn verified(
        &self,
        method: &Method,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<Claims, AuthError> {
        let settings = &self.settings;
        let max_bytes = settings.keys.max_token_bytes;
        match request_token(headers, query, settings.query_token, max_bytes) {
            Ok(token) => settings.verify(&token),
            #[cfg(feature = "cookies")]
            Err(AuthError::MissingToken) => match &settings.cookies {
                Some(cookies) => {
                    let token = cookies
                        .access_token(headers, max_bytes)?
                        .ok_or(AuthError::MissingToken)?;
                    let claims = settings.verify(token)?;
                    cookies.check_csrf(method, headers, &claims)?;
                    Ok(claims)
                }
                None => Err(AuthError::MissingToken),
            },
            Err(err) => Err(err),
        }
    }
}
