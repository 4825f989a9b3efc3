#[path = "common/mod.rs"]
mod common;

use axum::extract::State;
use common::{Db, User};
use jwt_router::authed;

#[authed(GET, "/me", entity = "users")]
async fn me(State(_db): State<Db>, user: User) -> String {
    user.id.to_string()
}

fn main() {}
