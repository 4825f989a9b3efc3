//! Teachers: a second entity type (table `teachers`, keyed by `teacher_id`) with its own tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jwt_router::{Entity, StoreError, TokenPair, Tokens, authed, public};
use serde::Serialize;

use super::AppState;
use super::accounts::{Login, Registration};
use super::db::Db;
use super::error::ApiError;
use super::extract::JsonBody;
use super::reply::{Data, WithPair};

/// A row of `teachers`: `{"id", "name", "email"}` (`id` is the `teacher_id` column).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub(crate) struct Teacher {
    id: i64,
    name: String,
    email: String,
}

impl Entity for Teacher {
    const TABLE_NAME: &'static str = "teachers";
    type Id = i64;
    type Store = Db;

    fn id(&self) -> i64 {
        self.id
    }

    async fn load(db: &Db, id: &i64) -> Result<Option<Self>, StoreError> {
        sqlx::query_as("SELECT teacher_id AS id, name, email FROM teachers WHERE teacher_id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await
            .map_err(StoreError::new)
    }
}

/// `POST /api/v1/teachers`: 201 `{"data": Teacher, "token"}`.
#[public(POST, "/teachers")]
async fn register(
    State(app): State<AppState>,
    tokens: Tokens,
    JsonBody(body): JsonBody<Registration>,
) -> Result<(StatusCode, Json<WithPair<Teacher>>), ApiError> {
    let new = body.validate()?;
    let hash = app.passwords.hash(new.password).await?;
    let teacher: Teacher = sqlx::query_as(
        "INSERT INTO teachers (name, email, password_hash) VALUES ($1, $2, $3) \
         RETURNING teacher_id AS id, name, email",
    )
    .bind(&new.name)
    .bind(&new.email)
    .bind(&hash)
    .fetch_one(app.db.pool())
    .await
    .map_err(|err| {
        ApiError::unique_or_database(
            err,
            ApiError::conflict("email_taken", "a teacher with this email already exists"),
        )
    })?;
    tracing::info!(teacher = teacher.id, "teacher registered");
    let pair = tokens.create_pair::<Teacher>(&teacher.id)?;
    Ok((
        StatusCode::CREATED,
        Json(WithPair {
            data: teacher,
            pair,
        }),
    ))
}

/// `POST /api/v1/teachers/login`: 200 `{"token", "refresh_token"}`, 401 for a wrong email or password, 429 after
/// too many failures.
#[public(POST, "/teachers/login")]
async fn login(
    State(app): State<AppState>,
    tokens: Tokens,
    JsonBody(body): JsonBody<Login>,
) -> Result<Json<TokenPair>, ApiError> {
    let email = body.email()?;
    let login = async {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT teacher_id, password_hash FROM teachers WHERE email = $1")
                .bind(&email)
                .fetch_optional(app.db.pool())
                .await?;
        let (id, hash) = row.unzip();
        let matches = app.passwords.verify(body.password, hash).await?;
        Ok(id.filter(|_| matches))
    };
    let id = app.logins.login(Teacher::TABLE_NAME, &email, login).await?;
    Ok(Json(tokens.create_pair::<Teacher>(&id)?))
}

/// `GET /api/v1/teachers/me`: 200 `{"data": Teacher}`; a users token gets 403.
#[authed(GET, "/teachers/me", entity = "teachers")]
async fn me(teacher: Teacher) -> Json<Data<Teacher>> {
    Json(Data { data: teacher })
}
