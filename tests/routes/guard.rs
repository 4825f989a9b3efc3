//! The route decision: public, ignored, authed, and deny by default for everything else.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode};
use axum::routing::get;
use jwt_router::testing::token_for;
use jwt_router::{GuardedRouter, JwtRoutes, JwtRoutesBuilder, Tokens, authed, ignored, public};
use tower_http::cors::CorsLayer;

use crate::common::{
    Db, SECRET, Teacher, User, ada, get as get_uri, now, request, send, sign, turing,
};

#[ignored(GET, "/")]
async fn home() -> &'static str {
    "home"
}

#[public(POST, "/register")]
async fn register(tokens: Tokens) -> String {
    tokens.create_token::<User>(&1).unwrap_or_default()
}

#[public(GET, "/open/{id}")]
async fn open(Path(id): Path<u64>) -> String {
    format!("open {id}")
}

#[authed(GET, "/books")]
async fn books() -> &'static str {
    "books"
}

#[authed(GET, "/me", entity = "users")]
async fn me(user: User) -> String {
    format!("me {}", user.name)
}

#[authed(GET, "/teacher", entity = "teachers")]
async fn teacher(teacher: Teacher, State(db): State<Db>) -> String {
    format!("teacher {} of {}", teacher.name, db.teachers.len())
}

fn builder() -> JwtRoutesBuilder<Db> {
    JwtRoutes::builder()
        .secret(SECRET)
        .api_name("/api/v1")
        .entity::<User>()
        .entity::<Teacher>()
        .module(module_path!())
}

fn jwt(query_token: bool) -> JwtRoutes<Db> {
    let jwt = builder().query_token(query_token).build();
    jwt.expect("valid configuration")
}

/// The app remembering up to `capacity` verified tokens.
fn cached_app(capacity: usize) -> GuardedRouter<Db> {
    let jwt = builder().verified_cache(capacity).build();
    jwt.expect("valid configuration").router(Db::seeded())
}

fn app_with(db: Db, query_token: bool) -> GuardedRouter<Db> {
    jwt(query_token)
        .router(db)
        .route("/hand", get(|| async { "hand" }))
        .nest_service("/static", get(|| async { "static file" }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such route") })
}

fn app() -> GuardedRouter<Db> {
    app_with(Db::seeded(), false)
}

fn user_token() -> String {
    token_for(&jwt(false), &ada())
}

#[tokio::test]
async fn ignored_route_is_served_unprefixed_without_token() {
    let reply = get_uri(&app(), "/", None).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("home"))
    );
    let prefixed = get_uri(&app(), "/api/v1/", None).await;
    assert_eq!(prefixed.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn public_route_is_prefixed_and_needs_no_token() {
    let reply = send(&app(), request("POST", "/api/v1/register", None)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let token = reply.body.as_str().expect("a token");
    assert_eq!(jwt(false).verify(token).map(|c| c.sub), Ok("1".to_owned()));
    let unprefixed = send(&app(), request("POST", "/register", None)).await;
    assert_eq!(unprefixed.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn authed_route_without_token_is_401_json_with_bearer_challenge() {
    let reply = get_uri(&app(), "/api/v1/books", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "missing_token");
    assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(reply.challenge(), "Bearer");
}

#[tokio::test]
async fn authed_route_with_valid_token_is_served() {
    let reply = get_uri(&app(), "/api/v1/books", Some(&user_token())).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("books"))
    );
}

#[tokio::test]
async fn invalid_token_gets_invalid_token_challenge() {
    let reply = get_uri(&app(), "/api/v1/books", Some("not.a.token")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.error_code(), "invalid_token");
    assert_eq!(reply.challenge(), "Bearer error=\"invalid_token\"");
}

#[tokio::test]
async fn layer_guards_a_router_the_user_assembles() {
    let db = Db::seeded();
    let jwt = jwt(false);
    let app: Router = jwt
        .declared_routes_unguarded(&db)
        .route("/own", get(|| async { "own" }))
        .layer(jwt.layer(&db));
    assert_eq!(get_uri(&app, "/", None).await.body.as_str(), Some("home"));
    assert_eq!(
        get_uri(&app, "/own", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get_uri(&app, "/api/v1/me", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let reply = get_uri(&app, "/api/v1/me", Some(&user_token())).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("me ada"))
    );
    let reply = get_uri(&app, "/own", Some(&user_token())).await;
    assert_eq!(reply.body.as_str(), Some("own"));
}

#[tokio::test]
async fn hand_added_route_is_denied_by_default() {
    assert_eq!(
        get_uri(&app(), "/hand", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let reply = get_uri(&app(), "/hand", Some(&user_token())).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("hand"))
    );
}

#[tokio::test]
async fn fallback_never_passes_as_public() {
    let reply = get_uri(&app(), "/nowhere", None).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::UNAUTHORIZED, "missing_token")
    );
    let reply = get_uri(&app(), "/nowhere", Some(&user_token())).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn nested_service_is_protected() {
    assert_eq!(
        get_uri(&app(), "/static/a.css", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let reply = get_uri(&app(), "/static/a.css", Some(&user_token())).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("static file"))
    );
}

#[tokio::test]
async fn undeclared_method_on_a_public_path_is_authed() {
    let reply = send(&app(), request("DELETE", "/api/v1/open/3", None)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = send(
        &app(),
        request("DELETE", "/api/v1/open/3", Some(&user_token())),
    )
    .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn head_follows_its_get_route() {
    assert_eq!(
        send(&app(), request("HEAD", "/api/v1/open/3", None))
            .await
            .status,
        StatusCode::OK
    );
    let reply = send(&app(), request("HEAD", "/api/v1/books", None)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

fn preflight() -> Request<Body> {
    Request::builder()
        .method("OPTIONS")
        .uri("/api/v1/books")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "GET")
        .body(Body::empty())
        .expect("request")
}

#[tokio::test]
async fn cors_preflight_is_answered_by_a_cors_layer_outside_the_guard() {
    let app = app().layer(CorsLayer::permissive());
    let reply = send(&app, preflight()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers.contains_key("access-control-allow-origin"));
    let mut real = request("GET", "/api/v1/books", None);
    real.headers_mut()
        .insert("origin", "https://app.example".parse().expect("header"));
    let reply = send(&app, real).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::UNAUTHORIZED, "missing_token")
    );
}

#[tokio::test]
async fn options_follows_the_route_policy_even_dressed_as_a_preflight() {
    // Preflight headers are the client's to forge: without a CORS layer they open nothing.
    assert_eq!(
        send(&app(), preflight()).await.status,
        StatusCode::UNAUTHORIZED
    );
    let plain = send(&app(), request("OPTIONS", "/api/v1/books", None)).await;
    assert_eq!(plain.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn entity_is_injected_as_first_parameter() {
    let reply = get_uri(&app(), "/api/v1/me", Some(&user_token())).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("me ada"))
    );
    let token = token_for(&jwt(false), &turing());
    let reply = get_uri(&app(), "/api/v1/teacher", Some(&token)).await;
    assert_eq!(reply.body.as_str(), Some("teacher turing of 1"));
}

#[tokio::test]
async fn token_of_another_entity_type_is_403() {
    let teacher_token = token_for(&jwt(false), &turing());
    let reply = get_uri(&app(), "/api/v1/me", Some(&teacher_token)).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::FORBIDDEN, "wrong_entity")
    );
    let reply = get_uri(&app(), "/api/v1/teacher", Some(&user_token())).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn token_of_a_deleted_entity_is_401() {
    let token = jwt(false).create_token::<User>(&99).expect("token");
    let reply = get_uri(&app(), "/api/v1/me", Some(&token)).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::UNAUTHORIZED, "unknown_entity")
    );
    assert_eq!(reply.challenge(), "Bearer error=\"invalid_token\"");
}

#[tokio::test]
async fn failing_store_is_503_never_a_pass() {
    let db = Db::seeded();
    db.failing.store(true, std::sync::atomic::Ordering::SeqCst);
    let reply = get_uri(&app_with(db, false), "/api/v1/me", Some(&user_token())).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
    );
}

#[tokio::test]
async fn panicking_store_is_a_500_json_and_the_router_keeps_serving() {
    let db = Db::seeded();
    db.panicking
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let app = app_with(db.clone(), false);
    let reply = get_uri(&app, "/api/v1/me", Some(&user_token())).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
    );
    db.panicking
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let reply = get_uri(&app, "/api/v1/me", Some(&user_token())).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("me ada"))
    );
}

#[tokio::test]
async fn entity_is_loaded_only_when_the_handler_asks() {
    let db = Db::seeded();
    let app = app_with(db.clone(), false);
    assert_eq!(
        get_uri(&app, "/api/v1/books", Some(&user_token()))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(db.loads.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(
        get_uri(&app, "/api/v1/me", Some(&user_token()))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(db.loads.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn query_token_is_refused_when_off() {
    let uri = format!("/api/v1/books?auth={}", user_token());
    let reply = get_uri(&app(), &uri, None).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::UNAUTHORIZED, "missing_token")
    );
}

#[tokio::test]
async fn query_token_is_accepted_when_on_but_not_with_a_header_too() {
    let app = app_with(Db::seeded(), true);
    let uri = format!("/api/v1/me?auth={}", user_token());
    let reply = get_uri(&app, &uri, None).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("me ada"))
    );
    let reply = get_uri(&app, &uri, Some(&user_token())).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::UNAUTHORIZED, "invalid_request")
    );
}

#[tokio::test]
async fn a_cached_token_still_meets_every_check_after_verification() {
    let app = cached_app(16);
    let user = user_token();
    let me = |token: String| {
        let app = app.clone();
        async move { get_uri(&app, "/api/v1/me", Some(&token)).await }
    };
    assert_eq!(me(user.clone()).await.status, StatusCode::OK);
    // Verified and remembered by that request; on a route for another entity it is refused.
    let reply = get_uri(&app, "/api/v1/teacher", Some(&user)).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::FORBIDDEN, "wrong_entity")
    );
    // Other bytes are another token, verified in full: an altered signature or claim fails.
    let (signed, signature) = user.rsplit_once('.').expect("three segments");
    let last = if signature.ends_with('A') { "B" } else { "A" };
    let resigned = format!("{signed}.{}{last}", &signature[..signature.len() - 1]);
    let (header, rest) = user.split_once('.').expect("three segments");
    let payload = rest.split('.').next().expect("payload");
    let first = if payload.starts_with('e') { "f" } else { "e" };
    let altered = format!("{header}.{first}{}", &rest[1..]);
    for forged in [resigned, altered, format!("{user}x")] {
        let reply = me(forged).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (StatusCode::UNAUTHORIZED, "invalid_token")
        );
    }
    assert_eq!(me(user).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_cached_token_expires_on_time() {
    let exp = now() + 2;
    let claims = serde_json::json!({ "sub": "1", "table_name": "users", "iat": now(), "exp": exp });
    let token = sign(jsonwebtoken::Algorithm::HS256, &claims);
    let app = cached_app(16);
    assert_eq!(
        get_uri(&app, "/api/v1/me", Some(&token)).await.status,
        StatusCode::OK
    );
    while now() < exp {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let reply = get_uri(&app, "/api/v1/me", Some(&token)).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::UNAUTHORIZED, "token_expired")
    );
}

#[tokio::test]
async fn a_full_verified_cache_drops_tokens_and_keeps_serving_them() {
    let app = cached_app(2);
    // Every token minted has its own `jti`: twenty tokens for two places.
    let tokens: Vec<String> = (0..20).map(|_| user_token()).collect();
    for _ in 0..2 {
        for token in &tokens {
            let reply = get_uri(&app, "/api/v1/me", Some(token)).await;
            assert_eq!(reply.body.as_str(), Some("me ada"));
        }
    }
    // Nothing is reserved up front: any capacity builds and serves.
    let reply = get_uri(&cached_app(usize::MAX), "/api/v1/me", Some(&tokens[0])).await;
    assert_eq!(reply.body.as_str(), Some("me ada"));
}
