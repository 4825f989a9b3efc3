//! Key sets with HMAC keys, rotation by `kid`, `iss`/`aud`, `jti` and the application's own
//! claims, through the router as a user builds it.

use axum::http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use jwt_router::testing::token_for;
use jwt_router::{Claims, JwtRoutes, JwtRoutesBuilder, Key, Problem, Tokens, authed, public};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::common::{Db, User, ada, get, now, request, send};

const OLD: &str = "the old secret of at least thirty-two bytes";
const NEW: &str = "the new secret of at least thirty-two bytes";

#[authed(GET, "/whoami")]
async fn whoami(claims: Claims) -> String {
    format!("sub {}", claims.sub)
}

#[derive(Serialize, Deserialize)]
struct Plan {
    plan: String,
}

#[public(POST, "/gold")]
async fn gold(tokens: Tokens) -> Result<String, jwt_router::AuthError> {
    tokens.create_token_with::<User, _>(
        &1,
        &Plan {
            plan: "gold".into(),
        },
    )
}

#[authed(GET, "/plan")]
async fn plan(claims: Claims) -> Result<String, jwt_router::AuthError> {
    Ok(claims.get::<Plan>()?.plan)
}

#[public(POST, "/bad-claims")]
async fn bad_claims(tokens: Tokens) -> Result<String, jwt_router::AuthError> {
    tokens.create_token_with::<User, _>(&1, &json!({ "exp": 1 }))
}

fn builder() -> JwtRoutesBuilder<Db> {
    JwtRoutes::builder().entity::<User>().module(module_path!())
}

fn header_of(token: &str) -> Header {
    jsonwebtoken::decode_header(token).expect("a header")
}

/// A token as another issuer would mint it: these claims, this header, this secret.
fn foreign(header: Header, claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("signs")
}

async fn whoami_status(jwt: &JwtRoutes<Db>, token: &str) -> (StatusCode, String) {
    let reply = get(&jwt.router(Db::seeded()), "/whoami", Some(token)).await;
    let body = match reply.body.as_str() {
        Some(text) => text.to_owned(),
        None => reply.error_code().to_owned(),
    };
    (reply.status, body)
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key() {
    let before = builder()
        .signing_key(Key::hs256(OLD).with_kid("2026-05"))
        .build()
        .expect("valid");
    let old_token = token_for(&before, &ada());
    let after = builder()
        .signing_key(Key::hs256(NEW).with_kid("2026-11"))
        .key(Key::hs256(OLD).with_kid("2026-05"))
        .build()
        .expect("valid");
    let new_token = token_for(&after, &ada());
    assert_eq!(header_of(&old_token).kid.as_deref(), Some("2026-05"));
    assert_eq!(header_of(&new_token).kid.as_deref(), Some("2026-11"));
    for token in [&old_token, &new_token] {
        assert_eq!(
            whoami_status(&after, token).await,
            (StatusCode::OK, "sub 1".into())
        );
    }
    // Once the old key is dropped, its tokens go; the new key's stay.
    let later = builder()
        .signing_key(Key::hs256(NEW).with_kid("2026-11"))
        .build()
        .expect("valid");
    assert_eq!(
        whoami_status(&later, &old_token).await,
        (StatusCode::UNAUTHORIZED, "unknown_key".into())
    );
    assert_eq!(whoami_status(&later, &new_token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_kid_cannot_borrow_another_keys_secret() {
    let jwt = builder()
        .signing_key(Key::hs256(NEW).with_kid("new"))
        .key(Key::hs256(OLD).with_kid("old"))
        .build()
        .expect("valid");
    let claims = json!({ "sub": "1", "table_name": "users", "iat": now(), "exp": now() + 60 });
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("new".into());
    let signed_with_old = foreign(header, &claims, OLD);
    assert_eq!(
        whoami_status(&jwt, &signed_with_old).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
    // No kid: only a key without one could verify it, and there is none.
    let no_kid = foreign(Header::new(Algorithm::HS256), &claims, NEW);
    assert_eq!(
        whoami_status(&jwt, &no_kid).await,
        (StatusCode::UNAUTHORIZED, "invalid_token".into())
    );
}

#[tokio::test]
async fn hs384_and_hs512_keys_sign_and_verify_and_pin_their_algorithm() {
    let hs384 = "a secret for HS384 that has at least forty-eight bytes!";
    let hs512 = "a secret for HS512 that has at least sixty-four bytes, which is long.";
    for (key, alg, secret) in [
        (Key::hs384(hs384), Algorithm::HS384, hs384),
        (Key::hs512(hs512), Algorithm::HS512, hs512),
    ] {
        let jwt = builder().signing_key(key).build().expect("valid");
        let token = token_for(&jwt, &ada());
        assert_eq!(header_of(&token).alg, alg);
        assert_eq!(whoami_status(&jwt, &token).await.0, StatusCode::OK);
        // The same secret with HS256: the key's algorithm is pinned.
        let claims = json!({ "sub": "1", "table_name": "users", "iat": now(), "exp": now() + 60 });
        let confused = foreign(Header::new(Algorithm::HS256), &claims, secret);
        assert_eq!(
            whoami_status(&jwt, &confused).await,
            (StatusCode::UNAUTHORIZED, "invalid_token".into())
        );
    }
}

#[test]
fn key_set_mistakes_fail_at_startup() {
    let problems = |b: JwtRoutesBuilder<Db>| b.build().expect_err("accepted").problems().to_vec();
    assert_eq!(
        problems(builder().signing_key(Key::hs384(
            "forty-seven bytes are one too few for HS384!!!!"
        ))),
        [Problem::ShortSecret {
            bytes: 47,
            needed: 48
        }]
    );
    assert_eq!(
        problems(
            builder()
                .signing_key(Key::hs256(NEW).with_kid("k"))
                .key(Key::hs256(OLD).with_kid("k"))
        ),
        [Problem::DuplicateKid {
            kid: Some("k".into())
        }]
    );
    assert_eq!(
        problems(builder().secret(NEW).key(Key::hs256(OLD))),
        [Problem::DuplicateKid { kid: None }]
    );
    assert_eq!(
        problems(
            builder()
                .secret(OLD)
                .signing_key(Key::hs256(NEW).with_kid("n"))
        ),
        [Problem::SeveralSigningKeys]
    );
    assert_eq!(problems(builder()), [Problem::EmptySecret]);
}

#[tokio::test]
async fn verify_only_key_set_verifies_but_mints_nothing() {
    let minter = builder()
        .signing_key(Key::hs256(OLD).with_kid("a"))
        .build()
        .expect("valid");
    let verifier = builder()
        .key(Key::hs256(OLD).with_kid("a"))
        .build()
        .expect("valid");
    let token = token_for(&minter, &ada());
    assert_eq!(whoami_status(&verifier, &token).await.0, StatusCode::OK);
    assert!(verifier.create_token::<User>(&1).is_err());
}

#[tokio::test]
async fn every_token_gets_a_fresh_jti() {
    let jwt = builder().secret(NEW).build().expect("valid");
    let a = jwt.verify(&token_for(&jwt, &ada())).expect("valid");
    let b = jwt.verify(&token_for(&jwt, &ada())).expect("valid");
    assert!(a.jti.is_some() && b.jti.is_some());
    assert_ne!(a.jti, b.jti);
}

#[tokio::test]
async fn issuer_and_audience_are_minted_and_required_when_configured() {
    let jwt = builder()
        .secret(NEW)
        .token_issuer("https://api.example.com")
        .token_audience("bookstore")
        .build()
        .expect("valid");
    let claims = jwt.verify(&token_for(&jwt, &ada())).expect("valid");
    assert_eq!(claims.iss.as_deref(), Some("https://api.example.com"));
    assert!(claims.aud.is_some_and(|aud| aud.contains("bookstore")));
    let base = json!({ "sub": "1", "table_name": "users", "iat": now(), "exp": now() + 60 });
    let with = |extra: Value| {
        let mut claims = base.clone();
        claims
            .as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        foreign(Header::new(Algorithm::HS256), &claims, NEW)
    };
    for (extra, expected) in [
        (
            json!({ "iss": "https://api.example.com", "aud": "bookstore" }),
            "sub 1",
        ),
        (
            json!({ "iss": "https://api.example.com", "aud": ["other", "bookstore"] }),
            "sub 1",
        ),
        (
            json!({ "iss": "https://evil.example.com", "aud": "bookstore" }),
            "wrong_issuer",
        ),
        (json!({ "aud": "bookstore" }), "wrong_issuer"),
        (
            json!({ "iss": "https://api.example.com", "aud": "other" }),
            "wrong_audience",
        ),
        (
            json!({ "iss": "https://api.example.com" }),
            "wrong_audience",
        ),
    ] {
        assert_eq!(
            whoami_status(&jwt, &with(extra.clone())).await.1,
            expected,
            "{extra}"
        );
    }
}

#[tokio::test]
async fn tokens_without_the_new_claims_stay_valid_and_tokens_for_others_are_refused() {
    let jwt = builder().secret(NEW).build().expect("valid");
    let now = now();
    let as_before = json!({ "sub": "1", "table_name": "users", "iat": now, "exp": now + 60 });
    let token = foreign(Header::new(Algorithm::HS256), &as_before, NEW);
    assert_eq!(
        whoami_status(&jwt, &token).await,
        (StatusCode::OK, "sub 1".into())
    );
    let for_others =
        json!({ "sub": "1", "table_name": "users", "iat": now, "exp": now + 60, "aud": "billing" });
    let token = foreign(Header::new(Algorithm::HS256), &for_others, NEW);
    assert_eq!(
        whoami_status(&jwt, &token).await,
        (StatusCode::UNAUTHORIZED, "wrong_audience".into())
    );
}

#[tokio::test]
async fn custom_claims_are_minted_and_read_back() {
    let app = builder()
        .secret(NEW)
        .build()
        .expect("valid")
        .router(Db::seeded());
    let minted = send(&app, request("POST", "/gold", None)).await;
    let token = minted.body.as_str().expect("a token").to_owned();
    let reply = get(&app, "/plan", Some(&token)).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("gold"))
    );
    // A token without the claim: the typed read is a 401, not a panic.
    let plain = token_for(&builder().secret(NEW).build().expect("valid"), &ada());
    let reply = get(&app, "/plan", Some(&plain)).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    // A custom claim named like one jwt-router sets is refused, not silently overridden.
    let reply = send(&app, request("POST", "/bad-claims", None)).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::INTERNAL_SERVER_ERROR, "misconfigured")
    );
}
