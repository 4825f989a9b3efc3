//! Deny by default survives composition: every axum way of adding a route to the router
//! jwt-router hands back, in any order, yields a guarded route. Refusals reveal nothing.

use std::convert::Infallible;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jwt_router::testing::token_for;
use jwt_router::{GuardedRouter, JwtRoutes, Method, Policy, public};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::common::{App, Db, SECRET, User, ada, get as get_uri, request, send};

#[public(POST, "/open")]
async fn open() -> &'static str {
    "open"
}

fn jwt() -> JwtRoutes<Db> {
    JwtRoutes::builder()
        .secret(SECRET)
        .api_name("/api/v1")
        .entity::<User>()
        .module(module_path!())
        .build()
        .expect("valid configuration")
}

fn token() -> String {
    token_for(&jwt(), &ada())
}

/// A handler that takes the router's state, as hand-written handlers do.
async fn users(State(db): State<Db>) -> String {
    format!("{} users", db.users.len())
}

fn service(
    body: &'static str,
) -> impl tower::Service<Request, Response = Response, Error = Infallible, Future = impl Send>
+ Clone
+ Send
+ Sync
+ 'static {
    tower::service_fn(move |_: Request| async move { Ok(body.into_response()) })
}

/// `uri` is 401 `missing_token` without a token, and `body` with one.
async fn assert_guarded(app: &impl App, uri: &str, body: &str) {
    let refused = get_uri(app, uri, None).await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (StatusCode::UNAUTHORIZED, "missing_token"),
        "{uri} without a token"
    );
    let served = get_uri(app, uri, Some(&token())).await;
    assert_eq!(
        (served.status, served.body.as_str()),
        (StatusCode::OK, Some(body)),
        "{uri} with a token"
    );
}

#[tokio::test]
async fn route_added_after_the_router_is_guarded() {
    let app = jwt().router(Db::seeded()).route("/late", get(users));
    assert_guarded(&app, "/late", "2 users").await;
}

#[tokio::test]
async fn route_service_is_guarded() {
    let app = jwt()
        .router(Db::seeded())
        .route_service("/svc", service("svc"));
    assert_guarded(&app, "/svc", "svc").await;
}

#[tokio::test]
async fn nested_router_is_guarded_including_its_fallback() {
    let nested = Router::new()
        .route("/inner", get(users))
        .fallback(|| async { "nested fallback" });
    let app = jwt().router(Db::seeded()).nest("/nested", nested);
    assert_guarded(&app, "/nested/inner", "2 users").await;
    assert_guarded(&app, "/nested/elsewhere", "nested fallback").await;
}

#[tokio::test]
async fn nested_service_is_guarded() {
    let app = jwt()
        .router(Db::seeded())
        .nest_service("/files", service("file"));
    assert_guarded(&app, "/files/a/b.txt", "file").await;
}

#[tokio::test]
async fn merged_router_is_guarded_including_its_fallback() {
    let merged = Router::new()
        .route("/merged", get(users))
        .fallback(|| async { "merged fallback" });
    let app = jwt().router(Db::seeded()).merge(merged);
    assert_guarded(&app, "/merged", "2 users").await;
    assert_guarded(&app, "/nowhere", "merged fallback").await;
}

#[tokio::test]
async fn fallback_is_guarded() {
    let app = jwt()
        .router(Db::seeded())
        .fallback(|State(db): State<Db>| async move { format!("fallback of {}", db.users.len()) });
    assert_guarded(&app, "/nowhere", "fallback of 2").await;
}

#[tokio::test]
async fn fallback_service_is_guarded() {
    let app = jwt()
        .router(Db::seeded())
        .fallback_service(service("fallback service"));
    assert_guarded(&app, "/nowhere", "fallback service").await;
}

#[tokio::test]
async fn unknown_path_without_a_fallback_is_401_then_404() {
    let app = jwt().router(Db::seeded());
    let refused = get_uri(&app, "/nowhere", None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let with_token = get_uri(&app, "/nowhere", Some(&token())).await;
    assert_eq!(with_token.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn layers_wrap_the_guard_and_route_layers_run_inside_it() {
    let tag = |value| {
        SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("x-tag"),
            HeaderValue::from_static(value),
        )
    };
    let app = jwt()
        .router(Db::seeded())
        .route("/before", get(users))
        .layer(tag("outer"))
        .route("/after", get(users))
        .route_layer(tag("route"));
    assert_guarded(&app, "/before", "2 users").await;
    assert_guarded(&app, "/after", "2 users").await;
    // A layer wraps what was added before it, guard included: it sees (and tags) refusals.
    // A route layer runs inside the guard, for admitted requests only.
    let refused = get_uri(&app, "/before", None).await;
    assert_eq!(refused.headers["x-tag"], "outer");
    let refused_after = get_uri(&app, "/after", None).await;
    assert!(!refused_after.headers.contains_key("x-tag"));
    let served = get_uri(&app, "/after", Some(&token())).await;
    assert_eq!(served.headers["x-tag"], "route");
    let served_before = get_uri(&app, "/before", Some(&token())).await;
    assert_eq!(served_before.headers["x-tag"], "outer");
    let refused_fallback = get_uri(&app, "/nowhere", None).await;
    assert_eq!(
        (
            refused_fallback.status,
            refused_fallback.headers["x-tag"].to_str().ok()
        ),
        (StatusCode::UNAUTHORIZED, Some("outer"))
    );
}

#[tokio::test]
async fn declared_routes_keep_their_policy_after_composition() {
    let app = jwt()
        .router(Db::seeded())
        .route("/late", get(users))
        .merge(Router::new().route("/merged", get(users)))
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("x-tag"),
            HeaderValue::from_static("outer"),
        ));
    let reply = send(&app, request("POST", "/api/v1/open", None)).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("open"))
    );
}

#[tokio::test]
async fn hand_added_route_at_a_public_path_with_another_method_is_guarded() {
    let app = jwt().router(Db::seeded()).route("/api/v1/open", get(users));
    assert_guarded(&app, "/api/v1/open", "2 users").await;
}

#[test]
fn route_table_lists_hand_added_routes_as_authed_with_their_source() {
    let app = jwt()
        .router(Db::seeded())
        .route("/late", get(users))
        .nest("/nested", Router::new().route("/inner", get(users)))
        .fallback(|| async {});
    let table = app.route_table();
    let rows: Vec<_> = table
        .iter()
        .map(|r| (r.method, r.path.as_str(), r.policy, r.handler))
        .collect();
    assert_eq!(
        rows,
        [
            (Some(Method::Post), "/api/v1/open", Policy::Public, "open"),
            (None, "/late", Policy::Authed, ".route()"),
            (None, "/nested/*", Policy::Authed, ".nest()"),
            (None, "*", Policy::Authed, ".fallback()"),
        ]
    );
    let late = table.iter().nth(1).expect("a second row");
    assert_eq!(late.file, file!());
    let printed = table.to_string();
    assert!(
        printed.contains("/late  ") && printed.contains(".route()"),
        "{printed}"
    );
}

/// A refusal's status, headers and body.
async fn refusal(
    app: &GuardedRouter<Db>,
    method: &str,
    uri: &str,
) -> (StatusCode, Vec<(String, String)>, String) {
    let reply = send(app, request(method, uri, None)).await;
    let headers = reply
        .headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("?").to_owned()))
        .collect();
    (reply.status, headers, reply.body.to_string())
}

#[tokio::test]
async fn refusal_for_an_existing_path_and_a_missing_one_are_identical() {
    let app = jwt().router(Db::seeded()).route("/late", post(users));
    let missing = refusal(&app, "DELETE", "/api/v1/nowhere").await;
    assert_eq!(missing.0, StatusCode::UNAUTHORIZED);
    for (method, uri) in [
        ("DELETE", "/api/v1/open"), // a public path, another method
        ("GET", "/api/v1/open"),
        ("GET", "/late"), // a hand-added path, another method
        ("PUT", "/late"),
    ] {
        let existing = refusal(&app, method, uri).await;
        assert_eq!(existing, missing, "{method} {uri}");
        assert!(
            !existing.1.iter().any(|(name, _)| name == "allow"),
            "{method} {uri}: {existing:?}"
        );
    }
    let missing_head = refusal(&app, "HEAD", "/api/v1/nowhere").await;
    assert_eq!(missing_head.0, StatusCode::UNAUTHORIZED);
    assert_eq!(missing_head.2, "null", "a HEAD answer has no body");
    for uri in ["/api/v1/open", "/late"] {
        assert_eq!(refusal(&app, "HEAD", uri).await, missing_head, "HEAD {uri}");
    }
    // With a token the caller may learn the methods: that is axum's 405 with `Allow`.
    let reply = send(&app, request("DELETE", "/api/v1/open", Some(&token()))).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers[header::ALLOW], "POST");
}

#[tokio::test]
async fn an_outer_routers_claims_do_not_reach_an_inner_router() {
    let inner = JwtRoutes::<Db>::builder()
        .secret("the inner app's own secret, 32+ bytes")
        .entity::<User>()
        .module(format!("{}::nested_inner", env!("CARGO_CRATE_NAME")))
        .build()
        .expect("valid configuration")
        .router(Db::seeded());
    // The outer guard verifies the outer token (hand-added service: authed)...
    let app = jwt().router(Db::seeded()).nest_service("/inner", inner);
    // ...but the inner router decides with its own keys: that token is not one of its own.
    let reply = get_uri(&app, "/inner/maybe", Some(&token())).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
}
