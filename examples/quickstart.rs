//! A complete small app: users register and log in on public routes, then reach their profile
//! on an authed route that receives the `User` directly. In-memory store, no database.
//!
//! Run: `SECRET_KEY=$(head -c 32 /dev/urandom | base64) cargo run --example quickstart`, then
//!
//! ```text
//! curl -s -XPOST localhost:3000/api/v1/register -H 'content-type: application/json' -d '{"name":"ada"}'
//! curl -s localhost:3000/api/v1/me -H "Authorization: Bearer <token from above>"
//! ```

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use jwt_router::{AuthError, Entity, JwtRoutes, StoreError, Tokens, authed, ignored, public};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The app state: here just the user store.
#[derive(Clone, Default)]
struct Users(Arc<RwLock<HashMap<u64, User>>>);

#[derive(Clone, Serialize)]
struct User {
    id: u64,
    name: String,
}

impl Entity for User {
    const TABLE_NAME: &'static str = "users";
    type Id = u64;
    type Store = Users;

    fn id(&self) -> u64 {
        self.id
    }

    async fn load(users: &Users, id: &u64) -> Result<Option<Self>, StoreError> {
        let users = users
            .0
            .read()
            .map_err(|_| StoreError::new("user store poisoned"))?;
        Ok(users.get(id).cloned())
    }
}

#[derive(Deserialize)]
struct Register {
    name: String,
}

/// Never prefixed, never guarded.
#[ignored(GET, "/")]
async fn home() -> &'static str {
    "jwt-router quickstart: POST /api/v1/register {\"name\": ...}\n"
}

/// No token needed; answers with a token for the new user.
#[public(POST, "/register")]
async fn register(
    State(users): State<Users>,
    tokens: Tokens,
    Json(body): Json<Register>,
) -> Result<(StatusCode, Json<Value>), AuthError> {
    let user = {
        let mut users = users.0.write().map_err(|_| AuthError::StoreUnavailable)?;
        let id = users.len() as u64 + 1;
        let user = User {
            id,
            name: body.name,
        };
        users.insert(id, user.clone());
        user
    };
    let token = tokens.create_token::<User>(&user.id)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "data": user, "token": token })),
    ))
}

/// Needs a `users` token; the user is loaded and passed in, with a refreshed token.
#[authed(GET, "/me", entity = "users")]
async fn me(user: User, tokens: Tokens) -> Result<Json<Value>, AuthError> {
    Ok(Json(
        json!({ "data": user, "token": tokens.update_token()? }),
    ))
}

/// Not declared public: a token is required even though no entity is needed.
#[authed(GET, "/ping")]
async fn ping() -> &'static str {
    "pong\n"
}

/// Added by hand below, with no attribute: guarded all the same (deny by default).
async fn count(State(users): State<Users>) -> Result<String, AuthError> {
    let users = users.0.read().map_err(|_| AuthError::StoreUnavailable)?;
    Ok(format!("{} users\n", users.len()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("SECRET_KEY").map_err(|_| {
        "set SECRET_KEY to 32 or more random bytes: SECRET_KEY=$(head -c 32 /dev/urandom | base64)"
    })?;
    let jwt = JwtRoutes::builder()
        .secret(secret)
        .api_name("/api/v1")
        .expire_days(30)
        .entity::<User>()
        .build()?;
    let app = jwt
        .router(Users::default())
        .route("/api/v1/count", get(count)); // any order, any axum method: still guarded
    println!("{}", app.route_table());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
