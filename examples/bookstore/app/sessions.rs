//! Sessions: `POST /auth/refresh` trades a refresh token for a new pair, `POST /auth/logout`
//! ends this session, `POST /auth/logout-all` every session of the caller's account.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jwt_router::{AuthError, Claims, Entity, TokenPair, Tokens, authed, public};
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::JsonBody;
use super::teachers::Teacher;
use super::users::User;

/// `{"refresh_token"}`.
#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

/// `POST /api/v1/auth/refresh`: 200 `{"token", "refresh_token"}`; the refresh token sent is
/// spent. 401 for an unknown, expired or spent one; a spent one sent again also revokes every
/// token of its login.
#[public(POST, "/auth/refresh")]
async fn refresh(
    tokens: Tokens,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Json<TokenPair>, ApiError> {
    Ok(Json(tokens.refresh(&body.refresh_token).await?))
}

/// `POST /api/v1/auth/logout`: 204; this token and every token of its login (its refresh
/// token among them) are refused from now on. A browser session's cookies are cleared.
#[authed(POST, "/auth/logout")]
async fn logout(tokens: Tokens) -> Result<Response, ApiError> {
    tokens.logout().await?;
    #[cfg(feature = "cookies")]
    return Ok((tokens.clear_cookies()?, StatusCode::NO_CONTENT).into_response());
    #[cfg(not(feature = "cookies"))]
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/auth/logout-all`: 204; every token of the caller's account issued until now
/// is refused. A users token of the identity provider names the user by email.
#[authed(POST, "/auth/logout-all")]
async fn logout_all(
    State(app): State<AppState>,
    claims: Claims,
    tokens: Tokens,
) -> Result<StatusCode, ApiError> {
    let id = || {
        claims
            .sub
            .parse::<i64>()
            .map_err(|_| AuthError::InvalidToken("the token's `sub` is not an id"))
    };
    if claims.table_name == Teacher::TABLE_NAME {
        tokens.logout_everywhere::<Teacher>(&id()?).await?;
    } else if let Some(claim) = claims.lookup() {
        let user = User::load_by_claim(&app.db, claim, &claims.sub)
            .await
            .map_err(|_| AuthError::StoreUnavailable)?
            .ok_or(AuthError::EntityNotFound)?;
        tokens.logout_everywhere::<User>(&user.id).await?;
    } else {
        tokens.logout_everywhere::<User>(&id()?).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
