//! The external issuer against the fake provider over real HTTP on 127.0.0.1: discovery,
//! caching, refresh (scheduled, on an unknown kid, with cooldown), stale keys, every claim
//! check, and a misbehaving provider.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use jwt_router_runtime::testing::provider::{Failure, FakeProvider};
use jwt_router_runtime::{AuthError, Issuer, IssuerBuilder, IssuerError};
use serde_json::{Value, json};

const AUD: &str = "my-app";

async fn provider() -> FakeProvider {
    FakeProvider::start().await.expect("provider starts")
}

/// Short timeouts and cooldown, so failure tests stay fast.
fn builder(provider: &FakeProvider) -> IssuerBuilder {
    Issuer::builder(provider.issuer(), AUD)
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_millis(500))
        .cooldown(Duration::from_millis(500))
}

async fn discover(provider: &FakeProvider) -> Issuer {
    builder(provider).discover().await.expect("discovers")
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

fn with(mut claims: Value, field: &str, value: Value) -> Value {
    claims[field] = value;
    claims
}

#[tokio::test]
async fn discovery_fetches_the_document_and_the_key_set_once() {
    let provider = provider().await;
    let issuer = discover(&provider).await;
    assert_eq!(issuer.issuer(), provider.issuer());
    assert_eq!((issuer.discovery_fetches(), issuer.jwks_fetches()), (1, 1));
    let requests = provider.requests();
    assert_eq!(
        (requests.discovery, requests.jwks, requests.other),
        (1, 1, 0)
    );
}

#[tokio::test]
async fn a_valid_token_of_each_algorithm_verifies() {
    let provider = provider().await;
    let kids =
        [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256].map(|alg| provider.add_key(alg));
    let issuer = discover(&provider).await;
    for kid in kids {
        let claims = with(
            provider.claims(AUD, "user-1"),
            "email",
            json!("a@example.com"),
        );
        let claims = with(claims, "email_verified", json!("true"));
        let token = provider.sign(&kid, &with(claims, "nonce", json!("n-0S6")));
        let verified = issuer.verify(&token).await.expect("valid token");
        assert_eq!(verified.sub, "user-1");
        assert_eq!(verified.aud, [AUD]);
        assert_eq!(verified.email.as_deref(), Some("a@example.com"));
        assert!(verified.email_verified);
        assert_eq!(verified.nonce.as_deref(), Some("n-0S6"));
    }
    assert_eq!(issuer.jwks_fetches(), 1);
}

#[tokio::test]
async fn many_verifications_fetch_the_key_set_once() {
    let provider = provider().await;
    let issuer = discover(&provider).await;
    let token = provider.id_token(AUD, "user-1");
    for _ in 0..200 {
        assert!(issuer.verify(&token).await.is_ok());
        assert!(issuer.clone().verify_cached(&token).is_ok());
    }
    assert_eq!(issuer.jwks_fetches(), 1);
    assert_eq!(provider.requests().jwks, 1);
}

#[tokio::test]
async fn a_rotated_in_key_is_picked_up_by_the_unknown_kid_refresh() {
    let provider = provider().await;
    let old_kid = provider.first_kid();
    let old_token = provider.id_token(AUD, "user-1");
    let issuer = discover(&provider).await;

    let new_kid = provider.add_key(Algorithm::EdDSA);
    let new_token = provider.sign(&new_kid, &provider.claims(AUD, "user-2"));
    assert_eq!(issuer.verify_cached(&new_token), Err(AuthError::UnknownKey));
    provider.remove_key(&old_kid);
    assert_eq!(
        issuer.verify(&new_token).await.map(|c| c.sub),
        Ok("user-2".into())
    );
    assert_eq!(issuer.jwks_fetches(), 2);
    // The rotated-out key is gone with the refresh.
    assert_eq!(issuer.verify_cached(&old_token), Err(AuthError::UnknownKey));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_kids_cause_at_most_one_fetch_per_cooldown() {
    let provider = provider().await;
    let kid = provider.first_kid();
    // Minted up front: signing is slow in a debug build and must not eat the cooldown.
    let forged: Vec<String> = (0..50)
        .map(|i| {
            let header = json!({"alg": "ES256", "typ": "JWT", "kid": format!("forged-{i}")});
            provider.sign_with_header(&kid, &header, &provider.claims(AUD, "x"))
        })
        .collect();
    let issuer = builder(&provider)
        .cooldown(Duration::from_secs(1))
        .discover()
        .await
        .expect("discovers");
    let burst = || {
        let tasks: Vec<_> = forged
            .iter()
            .map(|token| {
                let (issuer, token) = (issuer.clone(), token.clone());
                tokio::spawn(async move { issuer.verify(&token).await })
            })
            .collect();
        futures_util::future::join_all(tasks)
    };
    for refused in burst().await {
        assert_eq!(refused.expect("task"), Err(AuthError::UnknownKey));
    }
    assert_eq!(issuer.jwks_fetches(), 2, "one shared refresh for the burst");
    burst().await;
    assert_eq!(issuer.jwks_fetches(), 2, "none within the cooldown");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    burst().await;
    assert_eq!(issuer.jwks_fetches(), 3, "one more after the cooldown");
    assert_eq!(provider.requests().jwks, 3);
}

#[tokio::test]
async fn keys_are_served_stale_while_the_provider_is_down_and_refreshed_when_it_is_back() {
    let provider = provider().await;
    let token = provider.id_token(AUD, "user-1");
    let issuer = builder(&provider)
        .refresh_bounds(Duration::from_millis(200), Duration::from_millis(200))
        .discover()
        .await
        .expect("discovers");
    provider.fail_jwks(Some(Failure::ServerError));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let failed_refreshes = provider.requests().jwks - 1;
    assert!(
        failed_refreshes >= 2,
        "refreshes were attempted: {failed_refreshes}"
    );
    assert!(
        issuer.verify(&token).await.is_ok(),
        "stale keys still verify"
    );

    provider.fail_jwks(None);
    let kid = provider.add_key(Algorithm::EdDSA);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let new_token = provider.sign(&kid, &provider.claims(AUD, "user-2"));
    // Picked up by the schedule alone: the cached path never fetches.
    assert_eq!(
        issuer.verify_cached(&new_token).map(|c| c.sub),
        Ok("user-2".into())
    );
}

#[tokio::test]
async fn the_refresh_schedule_follows_max_age_within_bounds() {
    let provider = provider().await;
    provider.set_cache_control(Some("public, max-age=0"));
    let _issuer = builder(&provider)
        .refresh_bounds(Duration::from_millis(600), Duration::from_secs(3600))
        .discover()
        .await
        .expect("discovers");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        provider.requests().jwks,
        1,
        "max-age=0 is raised to the lower bound"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(provider.requests().jwks, 2);

    let provider = self::provider().await;
    provider.set_cache_control(Some("max-age=86400"));
    let _issuer = builder(&provider)
        .refresh_bounds(Duration::from_millis(100), Duration::from_millis(300))
        .discover()
        .await
        .expect("discovers");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        provider.requests().jwks >= 2,
        "a day is lowered to the upper bound"
    );
}

#[tokio::test]
async fn the_background_refresh_stops_with_the_last_clone() {
    let provider = provider().await;
    let issuer = builder(&provider)
        .refresh_bounds(Duration::from_millis(100), Duration::from_millis(100))
        .discover()
        .await
        .expect("discovers");
    let clone = issuer.clone();
    drop(issuer);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(provider.requests().jwks >= 3, "a clone keeps it running");
    drop(clone);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let after_drop = provider.requests().jwks;
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(provider.requests().jwks, after_drop);
}

#[tokio::test]
async fn each_claim_check_refuses_with_its_code() {
    let provider = provider().await;
    let kid = provider.first_kid();
    let issuer = discover(&provider).await;
    let valid = provider.claims(AUD, "user-1");
    let now = unix_now();
    let cases = [
        (
            with(valid.clone(), "iss", json!("https://evil.example")),
            AuthError::WrongIssuer,
        ),
        (
            with(valid.clone(), "aud", json!("other-app")),
            AuthError::WrongAudience,
        ),
        (
            with(valid.clone(), "aud", json!(["other-app"])),
            AuthError::WrongAudience,
        ),
        (
            with(valid.clone(), "azp", json!("other-app")),
            AuthError::WrongAudience,
        ),
        (
            with(valid.clone(), "exp", json!(now - 60)),
            AuthError::ExpiredToken,
        ),
        (
            with(valid.clone(), "nbf", json!(now + 600)),
            AuthError::InvalidToken("the token is not valid yet (`nbf`)"),
        ),
        (
            with(valid.clone(), "iat", json!(now + 600)),
            AuthError::InvalidToken("the token was issued in the future (`iat`)"),
        ),
    ];
    for (claims, refusal) in cases {
        let verified = issuer.verify(&provider.sign(&kid, &claims)).await;
        assert_eq!(verified, Err(refusal.clone()), "{claims}");
        assert_eq!(refusal.status(), 401);
    }
    let no_exp = {
        let mut claims = valid.clone();
        claims.as_object_mut().expect("object").remove("exp");
        claims
    };
    assert!(matches!(
        issuer.verify(&provider.sign(&kid, &no_exp)).await,
        Err(AuthError::InvalidToken(_))
    ));
    // Within the leeway (30 s by default) is accepted.
    let just_expired = with(valid, "exp", json!(now - 5));
    assert!(
        issuer
            .verify(&provider.sign(&kid, &just_expired))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_signature_by_another_key_is_refused() {
    let provider = provider().await;
    let published = provider.first_kid();
    let issuer = discover(&provider).await;
    let other = provider.add_key(Algorithm::ES256);
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": published});
    let token = provider.sign_with_header(&other, &header, &provider.claims(AUD, "user-1"));
    assert_eq!(
        issuer.verify(&token).await,
        Err(AuthError::InvalidToken(
            "the token's signature does not match"
        ))
    );
    // A tampered payload under a genuine signature.
    let genuine = provider.id_token(AUD, "user-1");
    let mut parts: Vec<&str> = genuine.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(provider.claims(AUD, "admin").to_string());
    parts[1] = &forged;
    assert_eq!(
        issuer.verify(&parts.join(".")).await,
        Err(AuthError::InvalidToken(
            "the token's signature does not match"
        ))
    );
}

#[tokio::test]
async fn the_algorithm_comes_from_the_key_not_the_token() {
    let provider = provider().await;
    let es_kid = provider.first_kid();
    let issuer = discover(&provider).await;
    let claims = provider.claims(AUD, "user-1");
    let mismatch = json!({"alg": "EdDSA", "typ": "JWT", "kid": es_kid});
    assert_eq!(
        issuer
            .verify(&provider.sign_with_header(&es_kid, &mismatch, &claims))
            .await,
        Err(AuthError::InvalidToken(
            "the token's algorithm is not its key's"
        ))
    );
    // HS256 "signed" with the provider's public key as the HMAC secret.
    let jwk = serde_json::to_vec(&provider.jwk(&es_kid).expect("published")).expect("json");
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT", "kid": es_kid}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(&jwk),
        Algorithm::HS256,
    )
    .expect("hmac");
    assert_eq!(
        issuer.verify(&format!("{message}.{signature}")).await,
        Err(AuthError::InvalidToken(
            "the token's algorithm is not its key's"
        ))
    );
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"x"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    assert!(matches!(
        issuer.verify(&none).await,
        Err(AuthError::InvalidToken(_))
    ));
}

#[tokio::test]
async fn kid_injection_and_a_missing_kid_are_refused() {
    let provider = provider().await;
    let kid = provider.first_kid();
    let issuer = discover(&provider).await;
    let claims = provider.claims(AUD, "user-1");
    for forged in [
        "../../x",
        "' OR 1=1 --",
        "",
        "/dev/null",
        "https://evil.example/jwks",
    ] {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": forged});
        let token = provider.sign_with_header(&kid, &header, &claims);
        assert_eq!(
            issuer.verify(&token).await,
            Err(AuthError::UnknownKey),
            "{forged}"
        );
    }
    let header = json!({"alg": "ES256", "typ": "JWT"});
    assert_eq!(
        issuer
            .verify(&provider.sign_with_header(&kid, &header, &claims))
            .await,
        Err(AuthError::InvalidToken("the token names no key (`kid`)"))
    );
    assert_eq!(provider.requests().other, 0);
}

#[tokio::test]
async fn key_choosing_headers_are_refused_and_never_fetched() {
    let provider = provider().await;
    let kid = provider.first_kid();
    let issuer = discover(&provider).await;
    let claims = provider.claims(AUD, "user-1");
    let elsewhere = format!("{}/attacker-keys", provider.issuer());
    let jwk = provider.jwk(&kid).expect("published");
    for (name, value) in [
        ("jku", json!(elsewhere)),
        ("x5u", json!(elsewhere)),
        ("jwk", serde_json::to_value(jwk).expect("json")),
        ("x5c", json!(["MIIB"])),
        ("crit", json!(["exp"])),
    ] {
        let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid, name: value});
        let verified = issuer
            .verify(&provider.sign_with_header(&kid, &header, &claims))
            .await;
        assert!(
            matches!(verified, Err(AuthError::InvalidToken(_))),
            "{name}"
        );
    }
    let typ = json!({"alg": "ES256", "typ": "at+jwt-not", "kid": kid});
    assert!(
        issuer
            .verify(&provider.sign_with_header(&kid, &typ, &claims))
            .await
            .is_err()
    );
    assert_eq!(provider.requests().other, 0, "jku/x5u never fetched");
    assert_eq!(provider.requests().jwks, 1);
}

#[tokio::test]
async fn oversized_and_malformed_tokens_are_refused() {
    let provider = provider().await;
    let issuer = builder(&provider)
        .max_token_bytes(1024)
        .discover()
        .await
        .expect("discovers");
    let big = with(
        provider.claims(AUD, "user-1"),
        "pad",
        json!("x".repeat(2000)),
    );
    let token = provider.sign(&provider.first_kid(), &big);
    assert_eq!(
        issuer.verify(&token).await,
        Err(AuthError::InvalidToken("the token is larger than allowed"))
    );
    for junk in ["", "a.b", "a.b.c.d", "!!.!!.!!", "e30.e30.e30"] {
        assert!(
            matches!(issuer.verify(junk).await, Err(AuthError::InvalidToken(_))),
            "{junk}"
        );
    }
}

async fn discovery_error(provider: &FakeProvider) -> IssuerError {
    builder(provider)
        .discover()
        .await
        .expect_err("discovery fails")
}

#[tokio::test]
async fn a_misbehaving_key_set_fails_discovery_clearly() {
    let provider = provider().await;
    provider.fail_jwks(Some(Failure::HugeBody(8 * 1024 * 1024)));
    let err = builder(&provider)
        .max_document_bytes(64 * 1024)
        .discover()
        .await
        .expect_err("too large");
    assert!(
        matches!(err, IssuerError::TooLarge { limit: 65536, .. }),
        "{err}"
    );

    provider.fail_jwks(Some(Failure::MalformedJson));
    let err = discovery_error(&provider).await;
    assert!(matches!(err, IssuerError::BadJson { .. }), "{err}");

    provider.fail_jwks(Some(Failure::DuplicateKids));
    let err = discovery_error(&provider).await;
    assert!(
        matches!(&err, IssuerError::DuplicateKid { kid } if *kid == provider.first_kid()),
        "{err}"
    );

    provider.fail_jwks(Some(Failure::ServerError));
    let err = discovery_error(&provider).await;
    assert!(
        matches!(err, IssuerError::Status { status: 500, .. }),
        "{err}"
    );

    provider.fail_jwks(Some(Failure::Hang(Duration::from_secs(5))));
    let started = std::time::Instant::now();
    let err = discovery_error(&provider).await;
    assert!(matches!(err, IssuerError::TimedOut { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));

    provider.fail_jwks(None);
    provider.remove_key(&provider.first_kid());
    let err = discovery_error(&provider).await;
    assert!(matches!(err, IssuerError::NoUsableKeys { .. }), "{err}");
}

#[tokio::test]
async fn a_refused_refresh_keeps_the_old_keys() {
    let provider = provider().await;
    let token = provider.id_token(AUD, "user-1");
    let issuer = discover(&provider).await;
    provider.fail_jwks(Some(Failure::DuplicateKids));
    let kid = provider.add_key(Algorithm::ES256);
    let new_token = provider.sign(&kid, &provider.claims(AUD, "user-2"));
    assert_eq!(issuer.verify(&new_token).await, Err(AuthError::UnknownKey));
    assert_eq!(issuer.jwks_fetches(), 2, "the refresh was made and refused");
    assert!(issuer.verify(&token).await.is_ok());
}

#[tokio::test]
async fn the_discovery_document_must_name_this_issuer() {
    let provider = provider().await;
    provider.set_document_issuer(Some("http://127.0.0.1:1"));
    let err = discovery_error(&provider).await;
    assert!(
        matches!(&err, IssuerError::IssuerMismatch { expected, found }
            if expected == provider.issuer() && found == "http://127.0.0.1:1"),
        "{err}"
    );
    provider.set_document_issuer(None);
    provider.fail_discovery(Some(Failure::MalformedJson));
    let err = discovery_error(&provider).await;
    assert!(matches!(err, IssuerError::BadJson { .. }), "{err}");
    assert_eq!(provider.requests().jwks, 0);
}

#[tokio::test]
async fn a_discovery_document_without_a_key_set_is_a_clear_error() {
    let provider = provider().await;
    provider.omit_from_discovery("jwks_uri");
    let err = discovery_error(&provider).await;
    assert!(
        matches!(err, IssuerError::MissingEndpoint { field: "jwks_uri" }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the discovery document has no `jwks_uri`, which verifying the issuer's tokens needs"
    );
    assert_eq!(provider.requests().jwks, 0);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let provider = provider().await;
    provider.fail_discovery(Some(Failure::Redirect(format!(
        "{}/jwks",
        provider.issuer()
    ))));
    let err = discovery_error(&provider).await;
    assert!(
        matches!(err, IssuerError::Status { status: 302, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("redirects are not followed"));
    assert_eq!(provider.requests().jwks, 0);
}

#[tokio::test]
async fn plain_http_is_refused_except_to_loopback() {
    for url in [
        "http://accounts.example.com",
        "http://192.168.1.10/realms/x",
    ] {
        let err = Issuer::discover(url, AUD).await.expect_err("not https");
        assert!(matches!(err, IssuerError::NotHttps { .. }), "{err}");
    }
    let err = Issuer::discover("http://localhost:1", AUD)
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, IssuerError::Unreachable { .. }), "{err}");
}
