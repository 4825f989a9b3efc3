//! Tokens of an external OpenID Connect issuer accepted by the guard (feature `testing`, which
//! brings `oidc`): mapped to an entity by verified email or by `sub`, verified with cached keys
//! (no provider call per request), refused with precise codes, stale keys kept when the
//! provider is down. Against the fake provider over real HTTP on 127.0.0.1.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use jwt_router::testing::provider::{Failure, FakeProvider};
use jwt_router::{
    Claims, Entity, ExternalId, Issuer, JwtRoutes, StoreError, authed, jwk::KeyAlgorithm,
};
use serde_json::{Value, json};

#[allow(dead_code, unreachable_pub)]
#[path = "routes/common.rs"]
mod common;

use common::get;

const AUDIENCE: &str = "bookstore-client";
const SECRET: &str = "our own secret, of at least thirty-two bytes";

/// Members by id, with their emails.
#[derive(Clone, Default)]
struct Members(Arc<HashMap<u64, String>>);

struct Member {
    id: u64,
    email: String,
}

impl Entity for Member {
    const TABLE_NAME: &'static str = "members";
    type Id = u64;
    type Store = Members;

    fn id(&self) -> u64 {
        self.id
    }

    async fn load(members: &Members, id: &u64) -> Result<Option<Self>, StoreError> {
        Ok(members.0.get(id).map(|email| Member {
            id: *id,
            email: email.clone(),
        }))
    }

    async fn load_by_claim(
        members: &Members,
        claim: &str,
        value: &str,
    ) -> Result<Option<Self>, StoreError> {
        if claim != "email" {
            return Ok(None);
        }
        Ok(members
            .0
            .iter()
            .find(|(_, email)| email.eq_ignore_ascii_case(value))
            .map(|(id, email)| Member {
                id: *id,
                email: email.clone(),
            }))
    }
}

#[authed(GET, "/me", entity = "members")]
async fn me(member: Member, claims: Claims) -> String {
    format!("{} {} via {:?}", member.id, member.email, claims.iss)
}

#[authed(GET, "/admin", entity = "members", roles = ["admin"])]
async fn admin(member: Member) -> String {
    format!("admin {}", member.id)
}

#[authed(GET, "/renew", entity = "members")]
async fn renew(
    _member: Member,
    tokens: jwt_router::Tokens,
) -> Result<String, jwt_router::AuthError> {
    tokens.update_token()
}

fn members() -> Members {
    Members(Arc::new(HashMap::from([
        (1, "ada@example.com".to_owned()),
        (2, "grace@example.com".to_owned()),
    ])))
}

async fn issuer(provider: &FakeProvider) -> Issuer {
    Issuer::builder(provider.issuer(), AUDIENCE)
        .cooldown(Duration::from_millis(300))
        .timeout(Duration::from_secs(2))
        .discover()
        .await
        .expect("discovery")
}

fn routes(issuer: Issuer, id: ExternalId) -> JwtRoutes<Members> {
    JwtRoutes::builder()
        .secret(SECRET)
        .entity::<Member>()
        .issuer::<Member>(issuer, id)
        .module(module_path!())
        .build()
        .expect("valid configuration")
}

fn email_claims(provider: &FakeProvider, email: &str, verified: Value) -> Value {
    let mut claims = provider.claims(AUDIENCE, "google-sub-1");
    claims["email"] = json!(email);
    claims["email_verified"] = verified;
    claims
}

async fn me_reply(jwt: &JwtRoutes<Members>, token: &str) -> (StatusCode, String) {
    let reply = get(&jwt.router(members()), "/me", Some(token)).await;
    let body = match reply.body.as_str() {
        Some(text) => text.to_owned(),
        None => reply.error_code().to_owned(),
    };
    (reply.status, body)
}

#[tokio::test]
async fn verified_email_token_reaches_its_entity_in_any_case() {
    let provider = FakeProvider::start().await.expect("provider");
    let jwt = routes(issuer(&provider).await, ExternalId::VerifiedEmail);
    let kid = provider.first_kid();
    let token = provider.sign(
        &kid,
        &email_claims(&provider, "Ada@Example.com", json!(true)),
    );
    let (status, body) = me_reply(&jwt, &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        format!("1 ada@example.com via Some(\"{}\")", provider.issuer())
    );
    // Our own tokens keep working beside the issuer's.
    let ours = jwt
        .create_token::<Member>(&2)
        .expect("our token for member 2");
    assert_eq!(me_reply(&jwt, &ours).await.0, StatusCode::OK);
}

#[tokio::test]
async fn issuer_tokens_are_refused_with_precise_codes() {
    let provider = FakeProvider::start().await.expect("provider");
    let jwt = routes(issuer(&provider).await, ExternalId::VerifiedEmail);
    let kid = provider.first_kid();
    let unverified = provider.sign(
        &kid,
        &email_claims(&provider, "ada@example.com", json!(false)),
    );
    let stranger = provider.sign(
        &kid,
        &email_claims(&provider, "eve@example.com", json!(true)),
    );
    let mut other_audience = email_claims(&provider, "ada@example.com", json!(true));
    other_audience["aud"] = json!("someone-else");
    let mut expired = email_claims(&provider, "ada@example.com", json!(true));
    expired["exp"] = json!(1);
    let mut other_issuer = email_claims(&provider, "ada@example.com", json!(true));
    other_issuer["iss"] = json!("https://evil.example.com");
    for (token, expected) in [
        (unverified, (StatusCode::UNAUTHORIZED, "email_not_verified")),
        (stranger, (StatusCode::UNAUTHORIZED, "unknown_entity")),
        (
            provider.sign(&kid, &other_audience),
            (StatusCode::UNAUTHORIZED, "wrong_audience"),
        ),
        (
            provider.sign(&kid, &expired),
            (StatusCode::UNAUTHORIZED, "token_expired"),
        ),
        (
            provider.sign(&kid, &other_issuer),
            (StatusCode::UNAUTHORIZED, "wrong_issuer"),
        ),
    ] {
        let (status, code) = me_reply(&jwt, &token).await;
        assert_eq!((status, code.as_str()), expected);
    }
}

#[tokio::test]
async fn subject_mapping_loads_by_id_and_no_request_calls_the_provider() {
    let provider = FakeProvider::start().await.expect("provider");
    let jwt = routes(issuer(&provider).await, ExternalId::Subject);
    let app = jwt.router(members());
    let token = provider.id_token(AUDIENCE, "2");
    let fetches = provider.requests();
    for _ in 0..50 {
        let reply = get(&app, "/me", Some(&token)).await;
        assert_eq!(reply.body.as_str().map(|b| &b[..1]), Some("2"));
    }
    assert_eq!(
        provider.requests(),
        fetches,
        "a request reached the provider"
    );
    // A subject that is not an id of ours is a 401, not a 500.
    let reply = get(&app, "/me", Some(&provider.id_token(AUDIENCE, "abc"))).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
}

#[tokio::test]
async fn a_new_provider_key_is_fetched_at_once_and_the_retry_passes() {
    let provider = FakeProvider::start().await.expect("provider");
    let issuer = issuer(&provider).await;
    let jwt = routes(issuer.clone(), ExternalId::Subject);
    let fetched = issuer.jwks_fetches();
    let kid = provider.add_key(jsonwebtoken::Algorithm::EdDSA);
    assert_eq!(
        provider.jwk(&kid).and_then(|k| k.common.key_algorithm),
        Some(KeyAlgorithm::EdDSA)
    );
    let token = provider.sign(&kid, &provider.claims(AUDIENCE, "1"));
    // The request that reveals the kid is refused without waiting on the provider...
    assert_eq!(
        me_reply(&jwt, &token).await,
        (StatusCode::UNAUTHORIZED, "unknown_key".into())
    );
    // ...and the refresh it started lets the retry through.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while issuer.jwks_fetches() == fetched && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(issuer.jwks_fetches(), fetched + 1);
    assert_eq!(me_reply(&jwt, &token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn cached_keys_keep_working_while_the_provider_is_down() {
    let provider = FakeProvider::start().await.expect("provider");
    let jwt = routes(issuer(&provider).await, ExternalId::Subject);
    let token = provider.id_token(AUDIENCE, "1");
    provider.fail_jwks(Some(Failure::ServerError));
    provider.fail_discovery(Some(Failure::ServerError));
    assert_eq!(me_reply(&jwt, &token).await.0, StatusCode::OK);
    // A forged kid while it is down: 401, never a 5xx.
    let forged = provider.sign_with_header(
        &provider.first_kid(),
        &json!({"alg": "ES256", "typ": "JWT", "kid": "forged"}),
        &provider.claims(AUDIENCE, "1"),
    );
    assert_eq!(
        me_reply(&jwt, &forged).await,
        (StatusCode::UNAUTHORIZED, "unknown_key".into())
    );
}

#[test]
fn an_issuer_for_an_unregistered_entity_fails_at_startup() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (issuer, _provider) = runtime.block_on(async {
        let provider = FakeProvider::start().await.expect("provider");
        (issuer(&provider).await, provider)
    });
    let err = JwtRoutes::<Members>::builder()
        .secret(SECRET)
        .issuer::<Member>(issuer, ExternalId::Subject)
        .module("no handlers here")
        .build()
        .expect_err("an unregistered entity accepted");
    assert!(
        matches!(
            err.problems(),
            [jwt_router::Problem::IssuerEntityNotRegistered {
                table: "members",
                ..
            }]
        ),
        "{err}"
    );
}

#[tokio::test]
async fn roles_in_an_issuer_token_grant_nothing() {
    let provider = FakeProvider::start().await.expect("provider");
    let jwt = routes(issuer(&provider).await, ExternalId::Subject);
    let mut claims = provider.claims(AUDIENCE, "1");
    claims["roles"] = json!(["admin"]);
    claims["scope"] = json!("admin");
    let token = provider.sign(&provider.first_kid(), &claims);
    let app = jwt.router(members());
    assert_eq!(get(&app, "/me", Some(&token)).await.status, StatusCode::OK);
    let reply = get(&app, "/admin", Some(&token)).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
}

#[tokio::test]
async fn an_issuer_token_is_never_renewed_into_one_of_ours() {
    let provider = FakeProvider::start().await.expect("provider");
    let jwt = routes(issuer(&provider).await, ExternalId::Subject);
    let reply = get(
        &jwt.router(members()),
        "/renew",
        Some(&provider.id_token(AUDIENCE, "1")),
    )
    .await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::UNAUTHORIZED, "invalid_request")
    );
    let ours = jwt.create_token::<Member>(&1).expect("our token");
    assert_eq!(
        get(&jwt.router(members()), "/renew", Some(&ours))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn two_clients_of_one_provider_and_a_retired_key_of_ours() {
    let provider = FakeProvider::start().await.expect("provider");
    let web = issuer(&provider).await;
    let mobile = Issuer::builder(provider.issuer(), "mobile-client")
        .discover()
        .await
        .expect("discovery");
    let jwt = JwtRoutes::builder()
        .signing_key(jwt_router::Key::hs256(SECRET).with_kid("current"))
        .entity::<Member>()
        .issuer::<Member>(web, ExternalId::Subject)
        .issuer::<Member>(mobile, ExternalId::Subject)
        .module(module_path!())
        .build()
        .expect("valid configuration");
    for audience in [AUDIENCE, "mobile-client"] {
        let token = provider.id_token(audience, "1");
        assert_eq!(me_reply(&jwt, &token).await.0, StatusCode::OK, "{audience}");
    }
    // One of our own tokens under a key we dropped: `unknown_key`, issuers or not.
    let retired = JwtRoutes::<Members>::builder()
        .signing_key(jwt_router::Key::hs256(SECRET).with_kid("retired"))
        .entity::<Member>()
        .module("no handlers here")
        .build()
        .expect("valid configuration")
        .create_token::<Member>(&1)
        .expect("a token");
    assert_eq!(
        me_reply(&jwt, &retired).await,
        (StatusCode::UNAUTHORIZED, "unknown_key".into())
    );
}
