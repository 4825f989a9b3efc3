//! Optional authentication on public routes: `Option<Claims>` and `Option<Authed<E>>` are
//! `None` without a token, the caller with a valid one, and a refusal for a bad one.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use jwt_router::testing::token_for;
use jwt_router::{Authed, Claims, GuardedRouter, JwtRoutes, Tokens, public};
use serde_json::json;

use crate::common::{Db, SECRET, Teacher, User, ada, get, turing};

#[public(GET, "/maybe")]
async fn maybe(claims: Option<Claims>) -> String {
    claims.map_or_else(|| "anonymous".to_owned(), |c| format!("sub {}", c.sub))
}

#[public(GET, "/maybe-user")]
async fn maybe_user(user: Option<Authed<User>>) -> String {
    user.map_or_else(
        || "anonymous".to_owned(),
        |Authed(u)| format!("user {}", u.name),
    )
}

/// Two optional extractors: the token is verified once and both see the same caller.
#[public(GET, "/both")]
async fn both(claims: Option<Claims>, user: Option<Authed<User>>, tokens: Tokens) -> String {
    format!(
        "{:?} {:?} {:?}",
        claims.map(|c| c.sub),
        user.map(|Authed(u)| u.name),
        tokens.caller().map(|c| c.sub.clone())
    )
}

/// Asks for nothing: the guard does no token work here, so a bad token is not looked at.
#[public(GET, "/plain")]
async fn plain() -> &'static str {
    "plain"
}

/// A login-like handler: `Tokens` never verifies, so a stale token sent along is harmless.
#[public(POST, "/login")]
async fn login(tokens: Tokens) -> String {
    format!("caller {:?}", tokens.caller().map(|c| c.sub.clone()))
}

fn jwt() -> JwtRoutes<Db> {
    JwtRoutes::builder()
        .secret(SECRET)
        .entity::<User>()
        .entity::<Teacher>()
        .module(module_path!())
        .build()
        .expect("valid configuration")
}

fn app() -> GuardedRouter<Db> {
    jwt().router(Db::seeded())
}

fn expired_token() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = json!({ "sub": "1", "table_name": "users", "iat": now - 100, "exp": now - 10 });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("signs")
}

async fn body_of(uri: &str, token: Option<&str>) -> (StatusCode, String) {
    let reply = get(&app(), uri, token).await;
    let body = match reply.body.as_str() {
        Some(text) => text.to_owned(),
        None => reply.error_code().to_owned(),
    };
    (reply.status, body)
}

#[tokio::test]
async fn optional_claims_are_none_without_a_token() {
    assert_eq!(
        body_of("/maybe", None).await,
        (StatusCode::OK, "anonymous".into())
    );
}

#[tokio::test]
async fn optional_claims_are_the_callers_with_a_valid_token() {
    let token = token_for(&jwt(), &ada());
    assert_eq!(
        body_of("/maybe", Some(&token)).await,
        (StatusCode::OK, "sub 1".into())
    );
}

#[tokio::test]
async fn optional_claims_with_a_bad_token_are_401_not_anonymous() {
    for (token, code) in [
        ("not.a.token", "invalid_token"),
        (expired_token().as_str(), "token_expired"),
    ] {
        let reply = get(&app(), "/maybe", Some(token)).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (StatusCode::UNAUTHORIZED, code),
            "{token}"
        );
        assert_eq!(reply.challenge(), "Bearer error=\"invalid_token\"");
    }
}

#[tokio::test]
async fn optional_entity_is_none_without_a_token_and_loaded_with_one() {
    assert_eq!(
        body_of("/maybe-user", None).await,
        (StatusCode::OK, "anonymous".into())
    );
    let token = token_for(&jwt(), &ada());
    assert_eq!(
        body_of("/maybe-user", Some(&token)).await,
        (StatusCode::OK, "user ada".into())
    );
}

#[tokio::test]
async fn optional_entity_refuses_a_bad_token_and_another_entitys() {
    assert_eq!(
        body_of("/maybe-user", Some(&expired_token())).await,
        (StatusCode::UNAUTHORIZED, "token_expired".into())
    );
    let teacher = token_for(&jwt(), &turing());
    assert_eq!(
        body_of("/maybe-user", Some(&teacher)).await,
        (StatusCode::FORBIDDEN, "wrong_entity".into())
    );
}

#[tokio::test]
async fn optional_extractors_share_one_verified_caller() {
    let token = token_for(&jwt(), &ada());
    assert_eq!(
        body_of("/both", Some(&token)).await,
        (
            StatusCode::OK,
            "Some(\"1\") Some(\"ada\") Some(\"1\")".into()
        )
    );
    assert_eq!(
        body_of("/both", None).await,
        (StatusCode::OK, "None None None".into())
    );
}

#[tokio::test]
async fn public_route_that_asks_for_no_caller_ignores_the_token() {
    assert_eq!(
        body_of("/plain", Some("not.a.token")).await,
        (StatusCode::OK, "plain".into())
    );
    let reply = crate::common::send(
        &app(),
        crate::common::request("POST", "/login", Some(&expired_token())),
    )
    .await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("caller None"))
    );
}
