//! The routes outside the API: a home page and a health check, both `ignored` (no guard at all).

use axum::Json;
use axum::response::Html;
use jwt_router::ignored;
use serde_json::{Value, json};

/// `GET /`: a page that says what this is.
#[ignored(GET, "/")]
async fn home() -> Html<&'static str> {
    Html(HOME)
}

/// The path of [`health`], which the connection cap's reserve still serves.
pub(crate) const HEALTH_PATH: &str = "/health";

/// `GET /health`: 200 `{"status": "ok"}` while the server is up (the same path as [`HEALTH_PATH`]:
/// the attribute takes a literal).
#[ignored(GET, "/health")]
async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

const HOME: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Bookstore</title></head>
<body>
<h1>Bookstore</h1>
<p>A jwt-router example: users register, log in, and manage their own books.
Every route under <code>/api/v1</code> needs a bearer token unless it is declared public.</p>
<ul>
<li><code>POST /api/v1/users</code> <code>{"name","email","password"}</code>: register, get a token</li>
<li><code>POST /api/v1/users/login</code> <code>{"email","password"}</code>: a token</li>
<li><code>GET /api/v1/users/me</code>: your account and a refreshed token</li>
<li><code>POST /api/v1/books</code> <code>{"title","author","description"}</code>,
<code>GET /api/v1/books</code>, <code>GET|PUT|DELETE /api/v1/books/{id}</code>: your books</li>
<li><code>POST /api/v1/teachers</code>, <code>POST /api/v1/teachers/login</code>,
<code>GET /api/v1/teachers/me</code>: teachers, another kind of account</li>
</ul>
<p>Send the token as <code>Authorization: Bearer &lt;token&gt;</code> or as <code>?auth=&lt;token&gt;</code>.</p>
</body>
</html>
"#;
