use axum::extract::Path;
use jwt_router::authed;

#[authed(POST, "/books/{id}")]
async fn rate(Path(_id): Path<i64>, _stars: u8) {}

fn main() {}
