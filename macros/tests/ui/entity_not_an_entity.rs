#[path = "common/mod.rs"]
mod common;

use common::Profile;
use jwt_router::authed;

#[authed(GET, "/me", entity = "users")]
async fn me(_profile: Profile) {}

fn main() {}
