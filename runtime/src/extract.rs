//! Extractors for handlers: the verified [`Claims`] and [`Tokens`] to mint new tokens.

use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::Entity;
use crate::context::Context;
use crate::error::AuthError;
use crate::router::MintedToken;
use crate::token::{Claims, Grants};
use serde::Serialize;
use serde_json::{Map, Value};

/// The caller's verified claims; 401 without a valid token. On a public route the request's
/// token, if any, is verified when a handler asks for it; `Option<Claims>` there is `None`
/// without a token and 401 with a bad one.
impl<S: Send + Sync> FromRequestParts<S> for Claims {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ctx = Context::of(parts).map_err(IntoResponse::into_response)?;
        ctx.caller(parts)
            .and_then(|claims| claims.ok_or(AuthError::MissingToken))
            .map_err(|err| ctx.respond(&err))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Claims {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let ctx = Context::of(parts).map_err(IntoResponse::into_response)?;
        ctx.caller(parts).map_err(|err| ctx.respond(&err))
    }
}

/// Mints tokens inside a handler: `create_token` for a new or logged-in entity, `update_token`
/// for the caller's own entity with a fresh expiry. Behind a
/// [`GuardedRouter`](crate::GuardedRouter), an answer whose handler minted a token gets
/// `Cache-Control: no-store`.
///
/// ```
/// # extern crate jwt_router_runtime as jwt_router;
/// use axum::Json;
/// use jwt_router::{AuthError, Tokens};
/// # struct User; impl jwt_router::Entity for User { const TABLE_NAME: &'static str = "users";
/// #   type Id = i64; type Store = (); fn id(&self) -> i64 { 1 }
/// #   async fn load(_: &(), _: &i64) -> Result<Option<Self>, jwt_router::StoreError> { Ok(None) } }
///
/// async fn login(tokens: Tokens) -> Result<Json<String>, AuthError> {
///     let user_id = 1; // after checking the password
///     Ok(Json(tokens.create_token::<User>(&user_id)?))
/// }
/// ```
pub struct Tokens {
    ctx: Arc<Context>,
    caller: Option<Claims>,
    minted: Option<MintedToken>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("caller", &self.caller)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// A fresh token for the entity `E` with this id; [`AuthError::UnregisteredEntity`] if `E`
    /// is not registered with the builder.
    pub fn create_token<E: Entity>(&self, id: &E::Id) -> Result<String, AuthError> {
        let grants = Grants::default();
        self.minted(
            self.ctx
                .settings
                .keys
                .issue_for::<E>(id, grants, Map::new()),
        )
    }

    /// A fresh token for `entity` carrying its [`roles`](Entity::roles) and
    /// [`scopes`](Entity::scopes), which routes declared with `roles = [..]` or
    /// `scopes = [..]` require. [`create_token`](Self::create_token) mints none.
    pub fn create_token_for<E: Entity>(&self, entity: &E) -> Result<String, AuthError> {
        self.minted(self.ctx.settings.keys.issue_entity(entity))
    }

    /// A fresh token for `E` carrying the application's own claims (a struct or map that
    /// serializes to a JSON object), read back with [`Claims::get`]. Claims named like the ones
    /// jwt-router sets (`sub`, `exp`, ...) are refused.
    pub fn create_token_with<E: Entity, T: Serialize>(
        &self,
        id: &E::Id,
        custom: &T,
    ) -> Result<String, AuthError> {
        self.minted(custom_claims(custom).and_then(|custom| {
            let grants = Grants::default();
            self.ctx.settings.keys.issue_for::<E>(id, grants, custom)
        }))
    }

    /// A fresh token for the caller's own entity, with the caller's roles, scopes and custom
    /// claims as they are (not re-read from the entity: see
    /// [`create_token_for`](Self::create_token_for) to drop a revoked role);
    /// [`AuthError::MissingToken`] on a route the caller reached without a token.
    pub fn update_token(&self) -> Result<String, AuthError> {
        let caller = self.caller.as_ref().ok_or(AuthError::MissingToken)?;
        self.minted(self.ctx.settings.keys.renew(caller))
    }

    /// The caller's claims as verified before this extractor ran: by the guard on an authed
    /// route, or by a `Claims` extractor before it on a public one. `Tokens` itself never
    /// verifies, so a login handler still works when the client sends a stale token.
    pub fn caller(&self) -> Option<&Claims> {
        self.caller.as_ref()
    }

    fn minted(&self, token: Result<String, AuthError>) -> Result<String, AuthError> {
        if let (Ok(_), Some(minted)) = (&token, &self.minted) {
            minted.mark();
        }
        token
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Tokens {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Tokens {
            ctx: Context::of(parts).map_err(IntoResponse::into_response)?,
            caller: parts.extensions.get::<Claims>().cloned(),
            minted: parts.extensions.get::<MintedToken>().cloned(),
        })
    }
}

/// The application's claims as a JSON object, for minting.
pub(crate) fn custom_claims<T: Serialize>(custom: &T) -> Result<Map<String, Value>, AuthError> {
    match serde_json::to_value(custom) {
        Ok(Value::Object(claims)) => Ok(claims),
        _ => Err(AuthError::Misconfigured(
            "custom claims must serialize to a JSON object",
        )),
    }
}
