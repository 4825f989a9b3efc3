//! Parameters, catch-alls, prefixed parameters and escaped braces.

use axum::extract::Path;
use jwt_router::{JwtRoutes, authed, ignored, public};

#[public(GET, "/books/{id}")]
async fn book(Path(id): Path<u64>) -> String {
    id.to_string()
}

#[public(GET, "/books/{id}/pages/{page}")]
async fn page(Path((id, page)): Path<(u64, u32)>) -> String {
    format!("{id}/{page}")
}

#[public(GET, "/v{version}/status")]
async fn status(Path(version): Path<u32>) -> String {
    version.to_string()
}

#[ignored(GET, "/assets/{*file}")]
async fn asset(Path(file): Path<String>) -> String {
    file
}

#[authed(GET, "/raw/{{literal}}")]
async fn literal_braces() {}

#[authed(GET, r"/raw/{_id2}/{*rest}")]
async fn raw_string(Path((id, rest)): Path<(String, String)>) -> String {
    id + &rest
}

fn main() {
    let jwt = JwtRoutes::<()>::builder()
        .secret("ui-test-secret-0123456789abcdefghij")
        .build()
        .expect("valid configuration");
    let mut paths: Vec<String> = jwt
        .route_table()
        .into_iter()
        .map(|row| row.path)
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/assets/{*file}",
            "/books/{id}",
            "/books/{id}/pages/{page}",
            "/raw/{_id2}/{*rest}",
            "/raw/{{literal}}",
            "/v{version}/status",
        ]
    );
    let _router = jwt.router(());
}
