//! Sign-in with Google or any OpenID Connect provider: `POST /auth/oidc` exchanges the code the
//! client brought back, and a first sign-in creates a user without a password.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jwt_router::{Tokens, public};
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::JsonBody;
use super::reply::WithPair;
use super::users::User;

/// `{"code", "redirect_uri", "code_verifier"?}`: what the client's redirect produced.
#[derive(Deserialize)]
// Read only by sign-in, which needs the `oidc` feature.
#[cfg_attr(not(feature = "oidc"), allow(dead_code))]
struct CodeBody {
    code: String,
    redirect_uri: String,
    code_verifier: Option<String>,
}

/// `POST /api/v1/auth/oidc`: 200 `{"data": User, "token"}`; 401 when the provider refuses the
/// code or its ID token fails a check, 502 when it can't be reached, 404 `not_configured`
/// without `OIDC_CLIENT_ID`.
#[public(POST, "/auth/oidc")]
async fn sign_in(
    State(app): State<AppState>,
    tokens: Tokens,
    JsonBody(body): JsonBody<CodeBody>,
) -> Result<Json<WithPair<User>>, ApiError> {
    #[cfg(feature = "oidc")]
    if let Some(provider) = &app.oidc {
        return signed_in(&app, provider, &tokens, &body).await;
    }
    let _ = (app, tokens, body);
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_configured",
        "sign-in with an identity provider is not configured on this server",
    ))
}

#[cfg(feature = "oidc")]
async fn signed_in(
    app: &AppState,
    provider: &jwt_router::Provider,
    tokens: &Tokens,
    body: &CodeBody,
) -> Result<Json<WithPair<User>>, ApiError> {
    let mut exchange = jwt_router::Exchange::code(&body.code).redirect_uri(&body.redirect_uri);
    if let Some(verifier) = &body.code_verifier {
        exchange = exchange.code_verifier(verifier);
    }
    let signed = provider
        .sign_in_or_create::<User, _, _>(tokens, &app.db, exchange, |claims| create(app, claims))
        .await?;
    if signed.created {
        tracing::info!(
            user = signed.entity.id,
            "user created by sign-in with the identity provider"
        );
    }
    // The session starts here: a pair, in place of the single token sign-in minted.
    let pair = tokens.create_pair_for(&signed.entity)?;
    Ok(Json(WithPair {
        data: signed.entity,
        pair,
    }))
}

/// A user for a first sign-in: no password, named by the provider (or by the email's local
/// part), an admin if the email is `ADMIN_EMAIL`. A concurrent first sign-in of the same email
/// inserts nothing and both get the one row.
#[cfg(feature = "oidc")]
async fn create(
    app: &AppState,
    claims: jwt_router::IssuerClaims,
) -> Result<User, jwt_router::StoreError> {
    use jwt_router::StoreError;

    let email = super::accounts::normalize_email(claims.verified_email().map_err(StoreError::new)?);
    let name = claims
        .raw
        .get("name")
        .and_then(|name| name.as_str())
        .and_then(|name| super::accounts::valid_name(name).ok())
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
    let admin = app.admin_email.as_deref() == Some(email.as_str());
    sqlx::query(
        "INSERT INTO users (name, email, admin) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING",
    )
    .bind(&name)
    .bind(&email)
    .bind(i64::from(admin))
    .execute(app.db.pool())
    .await
    .map_err(StoreError::new)?;
    super::users::by_email(&app.db, &email)
        .await
        .map_err(StoreError::new)?
        .ok_or_else(|| StoreError::new("the user signing in was deleted meanwhile"))
}
