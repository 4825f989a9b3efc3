//! The route table as OpenAPI: the app's own utoipa document, with jwt-router's security part
//! merged in, served as JSON and as a Scalar page.
//!
//! Run: `SECRET_KEY=$(head -c 32 /dev/urandom | base64) cargo run --example openapi --features
//! openapi`, then open <http://127.0.0.1:3000/docs>, or `curl 127.0.0.1:3000/openapi.json`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Html;
use jwt_router::{JwtRoutes, authed, ignored, public};
use utoipa::OpenApi;
use utoipa_scalar::Scalar;

/// The document and its page, built once at startup.
#[derive(Clone)]
struct Docs {
    json: Arc<str>,
    page: Arc<str>,
}

/// The app's own documentation (utoipa's derive); jwt-router adds who may call what.
#[derive(OpenApi)]
#[openapi(info(title = "books", version = "1.0.0"))]
struct ApiDoc;

#[public(POST, "/login")]
async fn login() -> &'static str {
    "a token, after checking the password"
}

#[authed(GET, "/books")]
async fn books() -> &'static str {
    "your books"
}

#[authed(DELETE, "/books/{id}", roles = ["admin"], scopes = ["books:write"])]
async fn delete_book() -> &'static str {
    "deleted"
}

#[ignored(GET, "/openapi.json")]
async fn spec(State(docs): State<Docs>) -> ([(&'static str, &'static str); 1], String) {
    (
        [("content-type", "application/json")],
        docs.json.to_string(),
    )
}

#[ignored(GET, "/docs")]
async fn page(State(docs): State<Docs>) -> Html<String> {
    Html(docs.page.to_string())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("SECRET_KEY").map_err(|_| {
        "set SECRET_KEY to 32 or more random bytes: SECRET_KEY=$(head -c 32 /dev/urandom | base64)"
    })?;
    let jwt = JwtRoutes::<Docs>::builder()
        .secret(secret)
        .api_name("/api")
        .build()?;
    let mut doc = ApiDoc::openapi();
    jwt.merge_openapi(&mut doc);
    let docs = Docs {
        json: doc.to_pretty_json()?.into(),
        page: Scalar::new(doc).to_html().into(),
    };
    let app = jwt.router(docs);
    println!("{}", app.route_table());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("docs at http://{}/docs", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
