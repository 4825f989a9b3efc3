//! Extractors for handlers: the verified [`Claims`] and [`Tokens`] to mint new tokens.

use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::Entity;
use crate::context::Context;
use crate::error::AuthError;
use crate::router::MintedToken;
use crate::sessions::{Revocation, Spend, store_failed};
use crate::token::{Claims, Grants, Kind, now, now_us, random_base64url, unregistered};
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
            .await
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
        ctx.caller(parts).await.map_err(|err| ctx.respond(&err))
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
        let kind = self.caller_session::<E>(id);
        let keys = &self.ctx.settings.keys;
        self.minted(keys.issue_for::<E>(id, Grants::default(), Map::new(), kind))
    }

    /// A fresh token for `entity` carrying its [`roles`](Entity::roles) and
    /// [`scopes`](Entity::scopes), which routes declared with `roles = [..]` or
    /// `scopes = [..]` require. [`create_token`](Self::create_token) mints none.
    pub fn create_token_for<E: Entity>(&self, entity: &E) -> Result<String, AuthError> {
        let kind = self.caller_session::<E>(&entity.id());
        self.minted(self.ctx.settings.keys.issue_entity(entity, kind))
    }

    /// A fresh token for `E` carrying the application's own claims (a struct or map that
    /// serializes to a JSON object), read back with [`Claims::get`]. Claims named like the ones
    /// jwt-router sets (`sub`, `exp`, ...) are refused.
    pub fn create_token_with<E: Entity, T: Serialize>(
        &self,
        id: &E::Id,
        custom: &T,
    ) -> Result<String, AuthError> {
        let kind = self.caller_session::<E>(id);
        self.minted(custom_claims(custom).and_then(|custom| {
            let grants = Grants::default();
            self.ctx
                .settings
                .keys
                .issue_for::<E>(id, grants, custom, kind)
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

    /// A login's pair for `entity` (with its roles and scopes): a short-lived access token and
    /// a refresh token, of one new session family. Needs a session store
    /// ([`sessions`](crate::JwtRoutesBuilder::sessions)).
    ///
    /// ```
    /// # extern crate jwt_router_runtime as jwt_router;
    /// use axum::Json;
    /// use jwt_router::{AuthError, TokenPair, Tokens};
    /// # struct User { id: i64 }
    /// # impl jwt_router::Entity for User { const TABLE_NAME: &'static str = "users";
    /// #   type Id = i64; type Store = (); fn id(&self) -> i64 { self.id }
    /// #   async fn load(_: &(), _: &i64) -> Result<Option<Self>, jwt_router::StoreError> { Ok(None) } }
    ///
    /// async fn login(tokens: Tokens) -> Result<Json<TokenPair>, AuthError> {
    ///     let user = User { id: 1 }; // after checking the password
    ///     Ok(Json(tokens.create_pair_for(&user)?))
    /// }
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Refresh { refresh_token: String }
    ///
    /// async fn refresh(tokens: Tokens, Json(body): Json<Refresh>) -> Result<Json<TokenPair>, AuthError> {
    ///     Ok(Json(tokens.refresh(&body.refresh_token).await?))
    /// }
    /// ```
    pub fn create_pair_for<E: Entity>(&self, entity: &E) -> Result<TokenPair, AuthError> {
        self.pair::<E>(&entity.id(), Grants::of(entity)?)
    }

    /// A login's pair for the entity `E` with this id, without roles or scopes; see
    /// [`create_pair_for`](Self::create_pair_for).
    pub fn create_pair<E: Entity>(&self, id: &E::Id) -> Result<TokenPair, AuthError> {
        self.pair::<E>(id, Grants::default())
    }

    fn pair<E: Entity>(&self, id: &E::Id, grants: Grants) -> Result<TokenPair, AuthError> {
        let settings = &self.ctx.settings;
        settings.sessions()?;
        let keys = &settings.keys;
        let family = random_base64url::<16>()?;
        let kind = |refresh: bool| Kind {
            fresh: !refresh,
            ..family_kind(&family, refresh, None)
        };
        let access = keys.issue_for::<E>(id, grants.clone(), Map::new(), kind(false))?;
        let refresh = keys.issue_for::<E>(id, grants, Map::new(), kind(true))?;
        self.mark_minted();
        Ok(TokenPair { access, refresh })
    }

    /// A token minted for the caller's own entity renews the caller's: it stays in the caller's
    /// session (a logout of that session revokes it too) and is not fresh. Any other is a
    /// login's.
    fn caller_session<E: Entity>(&self, id: &E::Id) -> Kind {
        match &self.caller {
            Some(caller) if caller.table_name == E::TABLE_NAME && caller.sub == id.to_string() => {
                Kind {
                    family: caller.fam.clone(),
                    since_us: Some(caller.session_us()),
                    ..Kind::default()
                }
            }
            _ => Kind::login(),
        }
    }

    /// Exchanges a refresh token for a new pair of its family, and spends it (rotation). The
    /// new refresh token keeps the expiry of the old one: a session ends when its login's
    /// refresh lifetime does. A spent refresh token presented again revokes its whole family,
    /// access tokens included, and is refused (401 `token_revoked`): two parties hold it, and
    /// the server can't tell the thief. An access token is refused here (401 `invalid_token`),
    /// as a refresh token is everywhere else. The store failing is 503 `store_unavailable`.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AuthError> {
        let settings = &self.ctx.settings;
        let store = settings.sessions()?;
        let claims = settings.keys.verify(refresh_token)?;
        let (true, Some(jti), Some(family)) = (claims.refresh, &claims.jti, &claims.fam) else {
            return Err(AuthError::InvalidToken("this is not a refresh token"));
        };
        settings.check_revoked(&claims).await?;
        let spent = store.spend(jti, claims.exp).await.map_err(store_failed)?;
        if spent == Spend::Again {
            tracing::warn!(
                table = %claims.table_name,
                sub = %claims.sub,
                "jwt-router: a spent refresh token was replayed; its session is revoked"
            );
            let family = Revocation::Family {
                family,
                until: claims.exp,
            };
            store.revoke(family).await.map_err(store_failed)?;
            return Err(AuthError::TokenRevoked);
        }
        let keys = &settings.keys;
        let access = keys.successor(&claims, family_kind(family, false, None))?;
        let refresh = keys.successor(&claims, family_kind(family, true, Some(claims.exp)))?;
        self.mark_minted();
        Ok(TokenPair { access, refresh })
    }

    /// Logs the caller out: this access token and every token of its login's family (its
    /// refresh token among them) are refused from now on (401 `token_revoked`).
    /// [`AuthError::MissingToken`] without a caller; a token minted without an id (`jti`) can
    /// only be cut off by [`logout_everywhere`](Self::logout_everywhere).
    pub async fn logout(&self) -> Result<(), AuthError> {
        let settings = &self.ctx.settings;
        let store = settings.sessions()?;
        let caller = self.caller.as_ref().ok_or(AuthError::MissingToken)?;
        let jti = caller.jti.as_deref().ok_or(AuthError::InvalidRequest(
            "this token has no id (`jti`) to revoke: log out everywhere instead",
        ))?;
        let token = Revocation::Token {
            jti,
            until: caller.exp,
        };
        store.revoke(token).await.map_err(store_failed)?;
        if let Some(family) = &caller.fam {
            // The family's refresh tokens live at most this long after the login.
            let until = caller
                .iat
                .saturating_add(settings.keys.refresh_expire.as_secs());
            let family = Revocation::Family { family, until };
            store.revoke(family).await.map_err(store_failed)?;
        }
        Ok(())
    }

    /// Logs the entity `E` with this id out everywhere: every token issued for it until now,
    /// access and refresh, with or without an id, is refused from now on (401
    /// `token_revoked`). New logins are unaffected.
    pub async fn logout_everywhere<E: Entity>(&self, id: &E::Id) -> Result<(), AuthError> {
        let settings = &self.ctx.settings;
        let store = settings.sessions()?;
        let keys = &settings.keys;
        if !keys.tables.contains(&E::TABLE_NAME) {
            return Err(unregistered::<E>());
        }
        let lifetime = keys.expire.max(keys.refresh_expire).as_secs();
        let sub = id.to_string();
        let everywhere = Revocation::Entity {
            table: E::TABLE_NAME,
            sub: &sub,
            before_us: now_us(),
            until: now().saturating_add(lifetime),
        };
        store.revoke(everywhere).await.map_err(store_failed)
    }

    /// A browser session for `entity` (feature `cookies`): a login's access token (with its
    /// roles and scopes) in an HttpOnly cookie, and a CSRF token bound to it in a cookie the
    /// site's scripts read and send back in `X-CSRF-Token`. Return the [`CookieSession`] as part
    /// of the response to set both; they live as long as the token. Needs
    /// [`cookies`](crate::JwtRoutesBuilder::cookies) on the builder.
    ///
    /// [`CookieSession`]: crate::CookieSession
    #[cfg(feature = "cookies")]
    pub fn cookie_session_for<E: Entity>(
        &self,
        entity: &E,
    ) -> Result<crate::CookieSession, AuthError> {
        let settings = &self.ctx.settings;
        let cookies = settings.cookies.as_ref().ok_or(AuthError::Misconfigured(
            "cookie sessions need JwtRoutes::builder().cookies(..)",
        ))?;
        let csrf = random_base64url::<32>()?;
        let kind = Kind {
            // A family, so a logout (with a session store) revokes the session.
            family: Some(random_base64url::<16>()?),
            csrf: Some(csrf.clone()),
            ..Kind::login()
        };
        let token = settings.keys.issue_entity(entity, kind)?;
        let session = cookies.session(&token, csrf, settings.keys.expire.as_secs())?;
        self.mark_minted();
        Ok(session)
    }

    /// `Set-Cookie` headers that remove the session cookies, for a logout's answer (feature
    /// `cookies`).
    #[cfg(feature = "cookies")]
    pub fn clear_cookies(&self) -> Result<crate::ClearCookies, AuthError> {
        let cookies = self
            .ctx
            .settings
            .cookies
            .as_ref()
            .ok_or(AuthError::Misconfigured(
                "cookie sessions need JwtRoutes::builder().cookies(..)",
            ))?;
        cookies.clear()
    }

    /// The caller's claims as verified before this extractor ran: by the guard on an authed
    /// route, or by a `Claims` extractor before it on a public one. `Tokens` itself never
    /// verifies, so a login handler still works when the client sends a stale token.
    pub fn caller(&self) -> Option<&Claims> {
        self.caller.as_ref()
    }

    fn minted(&self, token: Result<String, AuthError>) -> Result<String, AuthError> {
        if token.is_ok() {
            self.mark_minted();
        }
        token
    }

    /// The answer carries a token: `Cache-Control: no-store`.
    fn mark_minted(&self) {
        if let Some(minted) = &self.minted {
            minted.mark();
        }
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

/// A login's two tokens, as [`Tokens::create_pair_for`] and [`Tokens::refresh`] answer them;
/// serializes as `{"token": .., "refresh_token": ..}`.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TokenPair {
    /// The access token, for `Authorization: Bearer`.
    #[serde(rename = "token")]
    pub access: String,
    /// The refresh token, for [`Tokens::refresh`] only.
    #[serde(rename = "refresh_token")]
    pub refresh: String,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair").finish_non_exhaustive()
    }
}

/// A token of the session `family`: the refresh token, or the access token beside it (not
/// fresh: a login's access token says so itself).
fn family_kind(family: &str, refresh: bool, exp: Option<u64>) -> Kind {
    Kind {
        family: Some(family.to_owned()),
        refresh,
        exp,
        ..Kind::default()
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
