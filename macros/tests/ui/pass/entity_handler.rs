//! Entity handlers: the entity first, then any extractors (state, path, patterns with `mut`),
//! with or without a return type; the wrapper keeps the name, visibility, docs and attributes,
//! and `#[cfg]` reaches every generated item.

#[path = "../common/mod.rs"]
mod common;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use common::{Db, Teacher, User};
use jwt_router::{JwtRoutes, authed};

/// Shows one book of the caller.
#[authed(GET, "/books/{id}", entity = "users")]
pub async fn show(user: User, State(_db): State<Db>, Path(id): Path<i64>) -> Json<(i64, i64)> {
    Json((user.id, id))
}

#[authed(DELETE, "/books/{id}", entity = "users")]
#[expect(
    unused_mut,
    reason = "lint attributes reach the body, which keeps the patterns"
)]
async fn remove(mut user: User, Path(mut id): Path<i64>) -> Result<String, StatusCode> {
    id += user.id;
    Ok(id.to_string())
}

#[authed(POST, "/grades", entity = "teachers")]
pub(crate) async fn grade(_: Teacher, Path(_id): Path<i64>, Json(body): Json<String>) -> String {
    body
}

#[authed(GET, "/me", entity = "users")]
async fn r#ref(user: User) -> String {
    user.id.to_string()
}

#[authed(GET, "/compiled-out", entity = "users")]
#[cfg(any())]
async fn compiled_out(user: NoSuchType) {}

fn main() {
    let jwt = JwtRoutes::<Db>::builder()
        .secret("ui-test-secret-0123456789abcdefghij")
        .entity::<User>()
        .entity::<Teacher>()
        .build()
        .expect("valid configuration");
    let table = jwt.route_table();
    assert_eq!(table.len(), 4);
    let me = table.iter().find(|row| row.path == "/me").expect("/me");
    assert_eq!((me.handler, me.entity), ("ref", Some("users")));
    let _router = jwt.router(Db);
}
