use jwt_router::public;

use axum::extract::FromRequestParts;

#[public(GET, "/health")]
async fn health(_: impl FromRequestParts<()>) {}

fn main() {}
