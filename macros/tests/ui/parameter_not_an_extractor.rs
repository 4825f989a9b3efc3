use axum::extract::Path;
use jwt_router::authed;

#[authed(GET, "/books/{id}")]
async fn book(_page: u32, Path(_id): Path<i64>) {}

fn main() {}
