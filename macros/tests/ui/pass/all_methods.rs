//! Every method, under each policy.

use jwt_router::{JwtRoutes, Method, Policy, authed, ignored, public};

#[public(GET, "/get")]
async fn get() {}

#[public(POST, "/post")]
async fn post() {}

#[public(PUT, "/put")]
async fn put() {}

#[public(PATCH, "/patch")]
async fn patch() {}

#[public(DELETE, "/delete")]
async fn delete() {}

#[public(HEAD, "/head")]
async fn head() {}

#[public(OPTIONS, "/options")]
async fn options() {}

#[ignored(GET, "/")]
async fn home() -> &'static str {
    "home"
}

#[authed(POST, "/")]
async fn api_root() {}

fn main() {
    let jwt = JwtRoutes::<()>::builder()
        .secret("ui-test-secret-0123456789abcdefghij")
        .api_name("/api")
        .build()
        .expect("valid configuration");
    let table = jwt.route_table();
    let row = |handler: &str| {
        let row = table
            .iter()
            .find(|row| row.handler == handler)
            .expect(handler);
        (row.method.expect("declared"), row.path.as_str(), row.policy)
    };
    assert_eq!(row("get"), (Method::Get, "/api/get", Policy::Public));
    assert_eq!(row("post"), (Method::Post, "/api/post", Policy::Public));
    assert_eq!(row("put"), (Method::Put, "/api/put", Policy::Public));
    assert_eq!(row("patch"), (Method::Patch, "/api/patch", Policy::Public));
    assert_eq!(
        row("delete"),
        (Method::Delete, "/api/delete", Policy::Public)
    );
    assert_eq!(row("head"), (Method::Head, "/api/head", Policy::Public));
    assert_eq!(
        row("options"),
        (Method::Options, "/api/options", Policy::Public)
    );
    assert_eq!(row("home"), (Method::Get, "/", Policy::Ignored));
    assert_eq!(row("api_root"), (Method::Post, "/api", Policy::Authed));
    assert_eq!(table.len(), 9);
    let _router = jwt.router(());
}
