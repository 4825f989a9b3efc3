//! Entity injection without the route table, extractors, sub-states, custom errors, test helpers.

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use jwt_router::testing::{headers_for, token_for};
use jwt_router::{
    AuthError, Authed, Claims, Entity, GuardedRouter, JwtRoutes, StoreError, Tokens, authed, public,
};
use serde_json::{Value, json};

use crate::common::{Db, SECRET, Teacher, User, ada, get as get_uri, request, send, turing};

/// Declared without a route: mounted by hand below, entity still injected and checked.
#[authed(entity = "users")]
async fn profile(user: User, tokens: Tokens) -> Json<Value> {
    Json(json!({ "name": user.name, "token": tokens.update_token().ok() }))
}

/// The extractor form, for handlers written without the macros.
async fn plain(Authed(teacher): Authed<Teacher>, claims: Claims) -> String {
    format!("{} via {}", teacher.name, claims.table_name)
}

async fn maybe_claims(claims: Option<Claims>) -> String {
    claims.map_or_else(|| "anonymous".to_owned(), |c| c.sub)
}

/// A sub-state reached from the app state through `FromRef`.
#[derive(Clone)]
struct Greeting(&'static str);

#[derive(Clone)]
struct AppState {
    db: Db,
    greeting: Greeting,
}

impl FromRef<AppState> for Db {
    fn from_ref(app: &AppState) -> Db {
        app.db.clone()
    }
}

impl FromRef<AppState> for Greeting {
    fn from_ref(app: &AppState) -> Greeting {
        app.greeting.clone()
    }
}

#[public(GET, "/hello", state = AppState)]
async fn hello(State(greeting): State<Greeting>) -> &'static str {
    greeting.0
}

#[authed(GET, "/hello/me", entity = "users", state = AppState)]
async fn hello_me(user: User, State(greeting): State<Greeting>) -> String {
    format!("{} {}", greeting.0, user.name)
}

fn jwt() -> JwtRoutes<AppState> {
    JwtRoutes::builder()
        .secret(SECRET)
        .entity::<User>()
        .entity::<Teacher>()
        .module(module_path!())
        .build()
        .expect("valid configuration")
}

fn app() -> GuardedRouter<AppState> {
    let state = AppState {
        db: Db::seeded(),
        greeting: Greeting("hello"),
    };
    jwt()
        .router(state)
        .route("/profile", get(profile))
        .route("/plain", get(plain))
        .route("/maybe", get(maybe_claims))
}

#[tokio::test]
async fn routeless_authed_handler_mounted_by_hand_gets_its_entity() {
    let reply = send(&app(), {
        let mut req = request("GET", "/profile", None);
        req.headers_mut().extend(headers_for(&jwt(), &ada()));
        req
    })
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["name"], "ada");
    let renewed = reply.body["token"].as_str().expect("refreshed token");
    assert_eq!(jwt().verify(renewed).map(|c| c.sub), Ok("1".to_owned()));
}

#[tokio::test]
async fn routeless_authed_handler_refuses_another_entity_type() {
    let reply = get_uri(&app(), "/profile", Some(&token_for(&jwt(), &turing()))).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::FORBIDDEN, "wrong_entity")
    );
}

#[tokio::test]
async fn extractors_work_without_the_macros() {
    let reply = get_uri(&app(), "/plain", Some(&token_for(&jwt(), &turing()))).await;
    assert_eq!(reply.body.as_str(), Some("turing via teachers"));
    let reply = get_uri(&app(), "/plain", Some(&token_for(&jwt(), &ada()))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = get_uri(&app(), "/maybe", Some(&token_for(&jwt(), &ada()))).await;
    assert_eq!(reply.body.as_str(), Some("1"));
}

#[tokio::test]
async fn handlers_reach_sub_states_through_from_ref() {
    let reply = get_uri(&app(), "/hello", None).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("hello"))
    );
    let reply = get_uri(&app(), "/hello/me", Some(&token_for(&jwt(), &ada()))).await;
    assert_eq!(reply.body.as_str(), Some("hello ada"));
}

#[tokio::test]
async fn custom_error_response_replaces_the_json_and_keeps_the_challenge() {
    let jwt = JwtRoutes::<AppState>::builder()
        .secret(SECRET)
        .entity::<User>()
        .entity::<Teacher>()
        .module(module_path!())
        .error_response(|err: &AuthError| -> Response {
            (err.status(), format!("custom: {}", err.code())).into_response()
        })
        .build()
        .expect("valid");
    let app = jwt.router(AppState {
        db: Db::seeded(),
        greeting: Greeting("hi"),
    });
    let reply = get_uri(&app, "/hello/me", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body.as_str(), Some("custom: missing_token"));
    assert_eq!(reply.challenge(), "Bearer");
}

/// An entity that can be switched off, like a disabled account.
struct Member {
    id: u64,
}

impl Entity for Member {
    const TABLE_NAME: &'static str = "members";
    type Id = u64;
    type Store = ();

    fn id(&self) -> u64 {
        self.id
    }

    async fn load(_: &(), id: &u64) -> Result<Option<Self>, StoreError> {
        Ok(Some(Member { id: *id }))
    }

    fn is_active(&self) -> bool {
        self.id != 13
    }
}

#[tokio::test]
async fn inactive_entity_is_403_account_disabled() {
    let jwt = JwtRoutes::<()>::builder()
        .secret(SECRET)
        .entity::<Member>()
        .module("no handlers here")
        .build()
        .expect("valid");
    let app = jwt.router(()).route(
        "/m",
        get(|Authed(m): Authed<Member>| async move { m.id.to_string() }),
    );
    let reply = get_uri(&app, "/m", Some(&token_for(&jwt, &Member { id: 13 }))).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::FORBIDDEN, "account_disabled")
    );
    let reply = get_uri(&app, "/m", Some(&token_for(&jwt, &Member { id: 12 }))).await;
    assert_eq!(reply.body.as_str(), Some("12"));
}

#[tokio::test]
async fn extractor_without_the_guard_is_a_500_not_a_pass() {
    let app: Router =
        Router::new().route("/x", get(|Authed(u): Authed<User>| async move { u.name }));
    let reply = get_uri(&app, "/x", None).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::INTERNAL_SERVER_ERROR, "misconfigured")
    );
}
