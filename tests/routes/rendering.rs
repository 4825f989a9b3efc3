//! One error rendering: an `AuthError` a handler returns goes through the configured renderer
//! like the guard's own; an unregistered entity is a clear 500; minted tokens are not cached.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use jwt_router::testing::token_for;
use jwt_router::{AuthError, Entity, GuardedRouter, JwtRoutes, StoreError, Tokens, authed, public};
use serde_json::{Value, json};

use crate::common::{Db, SECRET, User, ada, get, request, send};

/// Never registered with the builder below.
pub struct Ghost;

impl Entity for Ghost {
    const TABLE_NAME: &'static str = "ghosts";
    type Id = u64;
    type Store = Db;

    fn id(&self) -> u64 {
        0
    }

    async fn load(_: &Db, _: &u64) -> Result<Option<Self>, StoreError> {
        Ok(None)
    }
}

#[public(POST, "/fails")]
async fn fails() -> Result<&'static str, AuthError> {
    Err(AuthError::StoreUnavailable)
}

#[public(POST, "/ghost-token")]
async fn ghost_token(tokens: Tokens) -> Result<String, AuthError> {
    tokens.create_token::<Ghost>(&1)
}

#[public(POST, "/login")]
async fn login(tokens: Tokens) -> Result<Json<Value>, AuthError> {
    Ok(Json(json!({ "token": tokens.create_token::<User>(&1)? })))
}

#[authed(GET, "/renew")]
async fn renew(tokens: Tokens) -> Result<String, AuthError> {
    tokens.update_token()
}

#[authed(GET, "/plain")]
async fn plain() -> &'static str {
    "plain"
}

fn builder() -> jwt_router::JwtRoutesBuilder<Db> {
    JwtRoutes::builder()
        .secret(SECRET)
        .entity::<User>()
        .module(module_path!())
}

fn custom() -> GuardedRouter<Db> {
    builder()
        .error_response(|err| {
            (err.status(), format!("custom {}: {err}", err.code())).into_response()
        })
        .build()
        .expect("valid configuration")
        .router(Db::seeded())
}

fn default() -> GuardedRouter<Db> {
    builder()
        .build()
        .expect("valid configuration")
        .router(Db::seeded())
}

#[tokio::test]
async fn error_returned_by_a_handler_uses_the_configured_renderer() {
    let reply = send(&custom(), request("POST", "/fails", None)).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("custom store_unavailable: the store is unavailable, try again")
        )
    );
    // The guard's refusals use it too, as before.
    let refused = get(&custom(), "/plain", None).await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("custom missing_token: this route needs a bearer token")
        )
    );
    assert_eq!(refused.challenge(), "Bearer");
}

#[tokio::test]
async fn error_returned_by_a_handler_is_default_json_without_a_renderer() {
    let reply = send(&default(), request("POST", "/fails", None)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.error_code(), "store_unavailable");
}

#[tokio::test]
async fn minting_for_an_unregistered_entity_is_a_500_naming_the_type() {
    let reply = send(&default(), request("POST", "/ghost-token", None)).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::INTERNAL_SERVER_ERROR, "misconfigured")
    );
    let message = reply.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("rendering::Ghost` is not a registered entity")
            && message.contains(".entity::<"),
        "{message}"
    );
    let custom = send(&custom(), request("POST", "/ghost-token", None)).await;
    assert!(
        custom
            .body
            .as_str()
            .is_some_and(|body| body.starts_with("custom misconfigured: `")),
        "{:?}",
        custom.body
    );
}

#[tokio::test]
async fn answers_carrying_a_minted_token_are_not_cached() {
    let login = send(&default(), request("POST", "/login", None)).await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(login.headers[header::CACHE_CONTROL], "no-store");
    let token = login.body["token"].as_str().expect("a token").to_owned();
    let renewed = get(&default(), "/renew", Some(&token)).await;
    assert_eq!(renewed.status, StatusCode::OK);
    assert_eq!(renewed.headers[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn answers_without_a_minted_token_keep_their_caching() {
    let token = token_for(&builder().build().expect("valid"), &ada());
    let plain = get(&default(), "/plain", Some(&token)).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(!plain.headers.contains_key(header::CACHE_CONTROL));
    // A failed mint is not a token answer either.
    let ghost = send(&default(), request("POST", "/ghost-token", None)).await;
    assert!(!ghost.headers.contains_key(header::CACHE_CONTROL));
}

#[public(POST, "/fails-with-cookies")]
async fn fails_with_cookies() -> (axum::http::HeaderMap, AuthError) {
    let mut headers = axum::http::HeaderMap::new();
    for cookie in ["a=1", "b=2"] {
        headers.append(
            header::SET_COOKIE,
            axum::http::HeaderValue::from_static(cookie),
        );
    }
    (headers, AuthError::StoreUnavailable)
}

#[tokio::test]
async fn a_rerendered_error_keeps_every_value_of_a_repeated_header() {
    let reply = send(&custom(), request("POST", "/fails-with-cookies", None)).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        reply
            .body
            .as_str()
            .is_some_and(|b| b.starts_with("custom store_unavailable")),
        "{:?}",
        reply.body
    );
    let cookies: Vec<_> = reply.headers.get_all(header::SET_COOKIE).iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
}
