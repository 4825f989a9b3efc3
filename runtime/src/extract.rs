//! Extractors for handlers: the verified [`Claims`] and [`Tokens`] to mint new tokens.

use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::Entity;
use crate::error::AuthError;
use crate::guard::Context;
use crate::token::Claims;

impl<S: Send + Sync> FromRequestParts<S> for Claims {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ctx = Context::of(parts).map_err(IntoResponse::into_response)?;
        parts
            .extensions
            .get::<Claims>()
            .cloned()
            .ok_or_else(|| ctx.respond(&AuthError::MissingToken))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Claims {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Context::of(parts).map_err(IntoResponse::into_response)?;
        Ok(parts.extensions.get::<Claims>().cloned())
    }
}

/// Mints tokens inside a handler: `create_token` for a new or logged-in entity, `update_token`
/// for the caller's own entity with a fresh expiry.
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
}

impl Tokens {
    /// A fresh token for the entity `E` with this id.
    pub fn create_token<E: Entity>(&self, id: &E::Id) -> Result<String, AuthError> {
        self.ctx.settings.keys.issue_for::<E>(id)
    }

    /// A fresh token for the caller's own entity; [`AuthError::MissingToken`] on a route
    /// the caller reached without a token.
    pub fn update_token(&self) -> Result<String, AuthError> {
        let caller = self.caller.as_ref().ok_or(AuthError::MissingToken)?;
        self.ctx
            .settings
            .keys
            .issue(&caller.table_name, caller.sub.clone())
    }

    /// The caller's verified claims, if the route required a token.
    pub fn caller(&self) -> Option<&Claims> {
        self.caller.as_ref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Tokens {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Tokens {
            ctx: Context::of(parts).map_err(IntoResponse::into_response)?,
            caller: parts.extensions.get::<Claims>().cloned(),
        })
    }
}
