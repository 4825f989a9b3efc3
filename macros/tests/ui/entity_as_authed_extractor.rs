#[path = "common/mod.rs"]
mod common;

use common::User;
use jwt_router::{Authed, authed};

#[authed(GET, "/me", entity = "users")]
async fn me(Authed(user): Authed<User>) -> String {
    user.id.to_string()
}

fn main() {}
