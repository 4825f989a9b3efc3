//! Tokens: what `create_token`/`update_token` mint, and what verification refuses.

use std::time::Duration;

use axum::http::StatusCode;
use jsonwebtoken::Algorithm;
use jwt_router::{GuardedRouter, JwtRoutes, Problem, authed};
use serde_json::{Value, json};

use crate::common::{Db, SECRET, User, get, now, sign};

#[authed(GET, "/guarded")]
async fn guarded() -> &'static str {
    "ok"
}

fn jwt() -> JwtRoutes<Db> {
    JwtRoutes::builder()
        .secret(SECRET)
        .entity::<User>()
        .module(module_path!())
        .build()
        .expect("valid configuration")
}

fn app() -> GuardedRouter<Db> {
    jwt().router(Db::seeded())
}

fn claims_expiring_at(exp: u64) -> Value {
    json!({ "sub": "1", "table_name": "users", "iat": now() - 100, "exp": exp })
}

fn segments(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

fn b64(value: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn status_of(token: &str) -> (StatusCode, String) {
    let reply = get(&app(), "/guarded", Some(token)).await;
    (reply.status, reply.error_code().to_owned())
}

#[tokio::test]
async fn created_token_has_the_seed_claims_and_pinned_hs256() {
    let token = jwt().create_token::<User>(&1).expect("token");
    let header = jsonwebtoken::decode_header(&token).expect("header");
    assert_eq!(
        (header.alg, header.typ.as_deref()),
        (Algorithm::HS256, Some("JWT"))
    );
    let claims = jwt().verify(&token).expect("valid");
    assert_eq!(
        (claims.sub.as_str(), claims.table_name.as_str()),
        ("1", "users")
    );
    assert!(claims.iat.abs_diff(now()) <= 2);
    assert_eq!(claims.exp - claims.iat, 30 * 24 * 60 * 60);
}

#[tokio::test]
async fn update_token_renews_the_same_entity() {
    let short = JwtRoutes::<Db>::builder()
        .secret(SECRET)
        .entity::<User>()
        .expire_in(Duration::from_secs(60))
        .module(module_path!())
        .build()
        .expect("valid");
    let old = short
        .verify(&short.create_token::<User>(&7).expect("token"))
        .expect("valid");
    let renewed = jwt()
        .verify(&jwt().update_token(&old).expect("token"))
        .expect("valid");
    assert_eq!(
        (renewed.sub.as_str(), renewed.table_name.as_str()),
        ("7", "users")
    );
    assert!(renewed.exp >= old.exp + 30 * 24 * 60 * 60 - 60);
}

#[tokio::test]
async fn expired_token_is_401_token_expired() {
    assert_eq!(
        status_of(&sign(Algorithm::HS256, &claims_expiring_at(now() - 1))).await,
        (StatusCode::UNAUTHORIZED, "token_expired".to_owned())
    );
}

#[tokio::test]
async fn token_expired_within_jsonwebtokens_default_leeway_is_refused() {
    let token = sign(Algorithm::HS256, &claims_expiring_at(now() - 30));
    assert_eq!(status_of(&token).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn not_yet_valid_token_is_refused() {
    let mut claims = claims_expiring_at(now() + 600);
    claims["nbf"] = json!(now() + 60);
    assert_eq!(
        status_of(&sign(Algorithm::HS256, &claims)).await.1,
        "invalid_token"
    );
}

#[tokio::test]
async fn token_without_exp_is_refused() {
    let claims = json!({ "sub": "1", "table_name": "users", "iat": now() });
    assert_eq!(
        status_of(&sign(Algorithm::HS256, &claims)).await.1,
        "invalid_token"
    );
}

#[tokio::test]
async fn tampered_payload_is_refused() {
    let token = jwt().create_token::<User>(&1).expect("token");
    let parts = segments(&token);
    let forged =
        b64(&json!({ "sub": "2", "table_name": "users", "iat": now(), "exp": now() + 600 }));
    let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
    assert_eq!(status_of(&tampered).await.1, "invalid_token");
}

#[tokio::test]
async fn other_hmac_algorithm_with_the_right_secret_is_refused() {
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = sign(alg, &claims_expiring_at(now() + 600));
        assert_eq!(
            status_of(&token).await.1,
            "invalid_token",
            "{alg:?} accepted"
        );
    }
}

#[tokio::test]
async fn alg_none_is_refused() {
    let payload = b64(&claims_expiring_at(now() + 600));
    for alg in ["none", "None", "NONE"] {
        let header = b64(&json!({ "alg": alg, "typ": "JWT" }));
        for token in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}.c2ln"),
        ] {
            assert_eq!(
                status_of(&token).await.1,
                "invalid_token",
                "{token} accepted"
            );
        }
    }
}

#[tokio::test]
async fn token_for_an_unregistered_table_is_refused_and_never_minted() {
    let claims = json!({ "sub": "1", "table_name": "admins", "iat": now(), "exp": now() + 600 });
    assert_eq!(
        status_of(&sign(Algorithm::HS256, &claims)).await.1,
        "invalid_token"
    );
    let unregistered = JwtRoutes::<Db>::builder()
        .secret(SECRET)
        .module(module_path!())
        .build()
        .expect("valid");
    assert!(unregistered.create_token::<User>(&1).is_err());
}

#[test]
fn weak_secrets_are_startup_errors_that_say_why() {
    for (secret, problem, why) in [
        ("", Problem::EmptySecret, "empty"),
        (
            "short-secret",
            Problem::ShortSecret {
                bytes: 12,
                needed: 32,
            },
            "12 bytes",
        ),
        (
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            Problem::RepeatedSecret,
            "repeated",
        ),
    ] {
        let err = JwtRoutes::<Db>::builder()
            .secret(secret)
            .module(module_path!())
            .build()
            .expect_err("weak secret accepted");
        assert_eq!(err.problems(), [problem], "{err}");
        assert!(err.to_string().contains(why), "{err}");
    }
}

#[test]
fn api_name_must_be_a_plain_absolute_path() {
    let err = JwtRoutes::<Db>::builder()
        .secret(SECRET)
        .api_name("api/v1")
        .module(module_path!())
        .build()
        .expect_err("relative prefix accepted");
    assert_eq!(
        err.problems(),
        [Problem::ApiNameWithoutSlash {
            api_name: "api/v1".into()
        }]
    );
    assert!(err.to_string().contains("must start with '/'"), "{err}");
}
