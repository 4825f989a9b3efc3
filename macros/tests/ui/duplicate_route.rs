#[path = "common/mod.rs"]
mod common;

use common::User;
use jwt_router::authed;

#[authed(GET, "/books", entity = "users")]
async fn books(_user: User) {}

#[authed(GET, "/books")]
async fn all_books() {}

fn main() {}
