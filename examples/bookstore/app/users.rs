//! Users: the `users` entity, registration, login, their own account, and the admins' list.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jwt_router::{Entity, StoreError, Tokens, authed, public};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::AppState;
use super::accounts::{Login, Registration, normalize_email, valid_name};
use super::db::Db;
use super::error::ApiError;
use super::extract::JsonBody;
use super::reply::{Data, WithPair, WithToken};

/// A row of `users`, as every response shows it: `{"id", "name", "email", "admin"}`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct User {
    pub(crate) id: i64,
    name: String,
    email: String,
    admin: bool,
    /// Set by `DELETE /users/me`; the account's tokens then get 403.
    #[serde(skip)]
    disabled: bool,
}

/// By hand for the flags, 0/1 integers in both engines (see `db`).
impl sqlx::FromRow<'_, AnyRow> for User {
    fn from_row(row: &AnyRow) -> sqlx::Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            admin: row.try_get::<i64, _>("admin")? != 0,
            disabled: row.try_get::<i64, _>("disabled")? != 0,
        })
    }
}

impl Entity for User {
    const TABLE_NAME: &'static str = "users";
    type Id = i64;
    type Store = Db;

    fn id(&self) -> i64 {
        self.id
    }

    async fn load(db: &Db, id: &i64) -> Result<Option<Self>, StoreError> {
        sqlx::query_as("SELECT id, name, email, admin, disabled FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await
            .map_err(StoreError::new)
    }

    /// By email, for sign-in with the identity provider and its ID tokens as bearer tokens.
    async fn load_by_claim(db: &Db, claim: &str, email: &str) -> Result<Option<Self>, StoreError> {
        if claim != "email" {
            return Ok(None);
        }
        by_email(db, &normalize_email(email))
            .await
            .map_err(StoreError::new)
    }

    fn is_active(&self) -> bool {
        !self.disabled
    }

    /// Minted into the token: `GET /users` declares `roles = ["admin"]`.
    fn roles(&self) -> Vec<String> {
        if self.admin {
            vec!["admin".to_owned()]
        } else {
            Vec::new()
        }
    }
}

/// A user's row with the password hash, for login only.
#[derive(sqlx::FromRow)]
struct Credentials {
    #[sqlx(flatten)]
    user: User,
    password_hash: Option<String>,
}

/// The user with this (normalized) email.
pub(crate) async fn by_email(db: &Db, email: &str) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, email, admin, disabled FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(db.pool())
        .await
}

/// `POST /api/v1/users`: 201 `{"data": User, "token"}`; the email given as `ADMIN_EMAIL` makes
/// an admin.
#[public(POST, "/users")]
async fn register(
    State(app): State<AppState>,
    tokens: Tokens,
    JsonBody(body): JsonBody<Registration>,
) -> Result<(StatusCode, Json<WithPair<User>>), ApiError> {
    let new = body.validate()?;
    let admin = app.admin_email.as_deref() == Some(new.email.as_str());
    let hash = app.passwords.hash(new.password).await?;
    let user: User = sqlx::query_as(
        "INSERT INTO users (name, email, password_hash, admin) VALUES ($1, $2, $3, $4) \
         RETURNING id, name, email, admin, disabled",
    )
    .bind(&new.name)
    .bind(&new.email)
    .bind(&hash)
    .bind(i64::from(admin))
    .fetch_one(app.db.pool())
    .await
    .map_err(|err| {
        ApiError::unique_or_database(
            err,
            ApiError::conflict("email_taken", "a user with this email already exists"),
        )
    })?;
    tracing::info!(user = user.id, admin, "user registered");
    let pair = tokens.create_pair_for(&user)?;
    Ok((StatusCode::CREATED, Json(WithPair { data: user, pair })))
}

/// `POST /api/v1/users/login`: 200 `{"token", "refresh_token"}`, 401 for a wrong email or
/// password, 403 for a disabled account (with the right password), 429 after too many
/// failures. With `?session=cookie` (built with `--features cookies`): 200 `{"csrf_token"}`,
/// the token in an HttpOnly cookie and the CSRF token in a readable one.
#[public(POST, "/users/login")]
async fn login(
    State(app): State<AppState>,
    tokens: Tokens,
    RawQuery(query): RawQuery,
    JsonBody(body): JsonBody<Login>,
) -> Result<Response, ApiError> {
    let cookie_session = match query.as_deref() {
        None | Some("") => false,
        Some("session=cookie") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "the only query this route takes is `session=cookie`",
            ));
        }
    };
    let email = body.email()?;
    let login = async {
        // No hash (a user of the identity provider) is checked like an unknown account: 401.
        let row: Option<Credentials> = sqlx::query_as(
            "SELECT id, name, email, admin, disabled, password_hash FROM users WHERE email = $1",
        )
        .bind(&email)
        .fetch_optional(app.db.pool())
        .await?;
        let (user, hash) = match row {
            Some(row) => (Some(row.user), row.password_hash),
            None => (None, None),
        };
        let matches = app.passwords.verify(body.password, hash).await?;
        let Some(user) = user.filter(|_| matches) else {
            return Ok(None);
        };
        if user.disabled {
            return Err(ApiError::forbidden(
                "account_disabled",
                "this account is disabled",
            ));
        }
        Ok(Some(user))
    };
    let user = app.logins.login(User::TABLE_NAME, &email, login).await?;
    if cookie_session {
        return cookie_login(&tokens, &user);
    }
    Ok(Json(tokens.create_pair_for(&user)?).into_response())
}

/// A browser session: `{"csrf_token"}` and both cookies.
#[cfg(feature = "cookies")]
fn cookie_login(tokens: &Tokens, user: &User) -> Result<Response, ApiError> {
    let session = tokens.cookie_session_for(user)?;
    let body = serde_json::json!({ "csrf_token": session.csrf_token() });
    Ok((session, Json(body)).into_response())
}

#[cfg(not(feature = "cookies"))]
fn cookie_login(_: &Tokens, _: &User) -> Result<Response, ApiError> {
    Err(ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_configured",
        "cookie sessions are not configured on this server (build with `--features cookies`)",
    ))
}

/// `GET /api/v1/users/me`: 200 `{"data": User, "token"}`, a fresh token minted from the user
/// as loaded now (so a role taken away is gone from it). The caller may hold the identity
/// provider's ID token, which `update_token` never renews: this app swaps a verified one for
/// its own, as sign-in does.
#[authed(GET, "/users/me", entity = "users")]
async fn me(user: User, tokens: Tokens) -> Result<Json<WithToken<User>>, ApiError> {
    let token = tokens.create_token_for(&user)?;
    Ok(Json(WithToken { data: user, token }))
}

/// The body of `PATCH /users/me`.
#[derive(Deserialize)]
struct Rename {
    name: String,
}

/// `PATCH /api/v1/users/me` with `{"name"}`: 200 `{"data": User}`.
#[authed(PATCH, "/users/me", entity = "users")]
async fn rename(
    user: User,
    State(app): State<AppState>,
    JsonBody(body): JsonBody<Rename>,
) -> Result<Json<Data<User>>, ApiError> {
    let name = valid_name(&body.name)?;
    let user: User = sqlx::query_as(
        "UPDATE users SET name = $1 WHERE id = $2 RETURNING id, name, email, admin, disabled",
    )
    .bind(&name)
    .bind(user.id)
    .fetch_one(app.db.pool())
    .await?;
    Ok(Json(Data { data: user }))
}

/// `DELETE /api/v1/users/me`: 204; the account is disabled and its tokens get 403 from now on.
#[authed(DELETE, "/users/me", entity = "users")]
async fn disable(user: User, State(app): State<AppState>) -> Result<StatusCode, ApiError> {
    sqlx::query("UPDATE users SET disabled = 1 WHERE id = $1")
        .bind(user.id)
        .execute(app.db.pool())
        .await?;
    tracing::info!(user = user.id, "user disabled their account");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/users`: 200 `{"data": [User]}` for admins; the guard answers everyone else
/// 403 `insufficient_scope` from the token's roles, before the caller is loaded.
#[authed(GET, "/users", entity = "users", roles = ["admin"])]
async fn list(
    _admin: User,
    State(app): State<AppState>,
) -> Result<Json<Data<Vec<User>>>, ApiError> {
    let users = sqlx::query_as("SELECT id, name, email, admin, disabled FROM users ORDER BY id")
        .fetch_all(app.db.pool())
        .await?;
    Ok(Json(Data { data: users }))
}
