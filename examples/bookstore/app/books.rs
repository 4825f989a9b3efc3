//! Books: each user manages their own; another user's book is a 404, as if it didn't exist.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jwt_router::authed;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiError;
use super::extract::{JsonBody, Path};
use super::reply::Data;
use super::text::{optional, required};
use super::users::User;

const MAX_TITLE_CHARS: usize = 300;
const MAX_AUTHOR_CHARS: usize = 300;
const MAX_DESCRIPTION_CHARS: usize = 10_000;

/// A row of `books`: `{"id", "title", "author", "description", "owner_id"}`.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub(crate) struct Book {
    id: i64,
    title: String,
    author: String,
    description: Option<String>,
    owner_id: i64,
}

/// The body of `POST /books` and `PUT /books/{id}`: `{"title", "author", "description"?}`.
#[derive(Deserialize)]
struct BookInput {
    title: String,
    author: String,
    #[serde(default)]
    description: Option<String>,
}

impl BookInput {
    /// Title and author trimmed and not empty; an empty description is no description.
    fn validate(self) -> Result<Self, ApiError> {
        Ok(Self {
            title: required("title", &self.title, MAX_TITLE_CHARS)?,
            author: required("author", &self.author, MAX_AUTHOR_CHARS)?,
            description: match &self.description {
                Some(text) => optional("description", text, MAX_DESCRIPTION_CHARS, true)?,
                None => None,
            },
        })
    }
}

fn title_taken(err: sqlx::Error) -> ApiError {
    ApiError::unique_or_database(
        err,
        ApiError::conflict("title_taken", "you already have a book with this title"),
    )
}

fn no_such_book() -> ApiError {
    ApiError::not_found("you have no book with this id")
}

/// `POST /api/v1/books`: 201 `{"data": Book}`, 409 for a title the caller already has.
#[authed(POST, "/books", entity = "users")]
async fn create(
    user: User,
    State(app): State<AppState>,
    JsonBody(body): JsonBody<BookInput>,
) -> Result<(StatusCode, Json<Data<Book>>), ApiError> {
    let book = body.validate()?;
    let book = sqlx::query_as(
        "INSERT INTO books (owner_id, title, author, description) VALUES ($1, $2, $3, $4) \
         RETURNING id, title, author, description, owner_id",
    )
    .bind(user.id)
    .bind(&book.title)
    .bind(&book.author)
    .bind(&book.description)
    .fetch_one(app.db.pool())
    .await
    .map_err(title_taken)?;
    Ok((StatusCode::CREATED, Json(Data { data: book })))
}

/// `GET /api/v1/books`: 200 `{"data": [Book]}`, the caller's own books, oldest first.
#[authed(GET, "/books", entity = "users")]
async fn list(user: User, State(app): State<AppState>) -> Result<Json<Data<Vec<Book>>>, ApiError> {
    let books = sqlx::query_as(
        "SELECT id, title, author, description, owner_id FROM books \
         WHERE owner_id = $1 ORDER BY id",
    )
    .bind(user.id)
    .fetch_all(app.db.pool())
    .await?;
    Ok(Json(Data { data: books }))
}

/// `GET /api/v1/books/{id}`: 200 `{"data": Book}`, 404 if the caller has no such book.
#[authed(GET, "/books/{id}", entity = "users")]
async fn show(
    user: User,
    State(app): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Data<Book>>, ApiError> {
    let book = sqlx::query_as(
        "SELECT id, title, author, description, owner_id FROM books \
         WHERE id = $1 AND owner_id = $2",
    )
    .bind(id)
    .bind(user.id)
    .fetch_optional(app.db.pool())
    .await?
    .ok_or_else(no_such_book)?;
    Ok(Json(Data { data: book }))
}

/// `PUT /api/v1/books/{id}`: replaces title, author and description; 200 `{"data": Book}`.
#[authed(PUT, "/books/{id}", entity = "users")]
async fn replace(
    user: User,
    State(app): State<AppState>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<BookInput>,
) -> Result<Json<Data<Book>>, ApiError> {
    let book = body.validate()?;
    let book = sqlx::query_as(
        "UPDATE books SET title = $1, author = $2, description = $3 \
         WHERE id = $4 AND owner_id = $5 \
         RETURNING id, title, author, description, owner_id",
    )
    .bind(&book.title)
    .bind(&book.author)
    .bind(&book.description)
    .bind(id)
    .bind(user.id)
    .fetch_optional(app.db.pool())
    .await
    .map_err(title_taken)?
    .ok_or_else(no_such_book)?;
    Ok(Json(Data { data: book }))
}

/// `DELETE /api/v1/books/{id}`: 204, 404 if the caller has no such book.
#[authed(DELETE, "/books/{id}", entity = "users")]
async fn delete(
    user: User,
    State(app): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let deleted = sqlx::query("DELETE FROM books WHERE id = $1 AND owner_id = $2")
        .bind(id)
        .bind(user.id)
        .execute(app.db.pool())
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(no_such_book());
    }
    Ok(StatusCode::NO_CONTENT)
}
