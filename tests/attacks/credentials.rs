//! Where a token may travel: `Authorization: Bearer` (one header, any letter case of the
//! scheme), and the `auth` query parameter only when that source is on. Everything else is
//! not a credential.

use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jwt_router::{Claims, GuardedRouter, authed};

use crate::common::{Db, Reply, get, send};
use crate::support::{assert_refused, assert_served, good_token, jwt_for};

#[authed(GET, "/vault")]
async fn vault(claims: Claims) -> String {
    format!("vault of {}", claims.sub)
}

fn app(query_token: bool) -> GuardedRouter<Db> {
    jwt_for(module_path!(), query_token).router(Db::seeded())
}

/// GET /vault with these raw `(name, value)` headers.
async fn with_headers(app: &GuardedRouter<Db>, uri: &str, headers: &[(&str, Vec<u8>)]) -> Reply {
    let mut builder = Request::builder().uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, value.as_slice());
    }
    send(app, builder.body(Body::empty()).expect("valid request")).await
}

async fn with_authorization(app: &GuardedRouter<Db>, value: &str) -> Reply {
    with_headers(app, "/vault", &[("authorization", value.into())]).await
}

#[tokio::test]
async fn basic_or_another_scheme_carrying_a_jwt_is_401() {
    let jwt = good_token();
    let basic = STANDARD.encode(format!("user:{jwt}"));
    let cases = [
        (format!("Basic {jwt}"), "invalid_request"),
        (format!("Basic {basic}"), "invalid_request"),
        (format!("Token {jwt}"), "invalid_request"),
        (format!("JWT {jwt}"), "invalid_request"),
        (format!("Digest {jwt}"), "invalid_request"),
        (format!("Bearer: {jwt}"), "invalid_request"),
        (format!("Bearer= {jwt}"), "invalid_request"),
        (format!("Bearers {jwt}"), "invalid_request"),
        (format!("MAC {jwt}"), "invalid_request"),
        (format!("Bearer{jwt}"), "invalid_request"),
        (format!("Bearer\t{jwt}"), "invalid_request"),
        (format!("Bearer={jwt}"), "invalid_request"),
        (jwt.clone(), "invalid_request"),
        (format!("Bearer {jwt} {jwt}"), "invalid_request"),
        (format!("Bearer {jwt}, Basic {basic}"), "invalid_request"),
        (format!("Bearer {jwt} x"), "invalid_request"),
        ("Bearer".to_owned(), "invalid_request"),
        ("Bearer ".to_owned(), "invalid_request"),
        ("Bearer    ".to_owned(), "invalid_request"),
        (String::new(), "invalid_request"),
        (format!("Bearer \"{jwt}\""), "invalid_token"),
        (format!("Bearer {jwt},"), "invalid_token"),
        (format!("Bearer {jwt}\t"), "invalid_token"),
        (format!("Bearer \t{jwt}"), "invalid_token"),
    ];
    let app = app(false);
    for (value, code) in cases {
        assert_refused(&with_authorization(&app, &value).await, code, &value);
    }
}

#[tokio::test]
async fn bearer_scheme_in_any_letter_case_is_accepted() {
    let jwt = good_token();
    let app = app(false);
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let value = format!("{scheme} {jwt}");
        assert_served(
            &with_authorization(&app, &value).await,
            "vault of 1",
            &value,
        );
    }
    // RFC 6750 §2.1: `"Bearer" 1*SP b64token`.
    let value = format!("Bearer   {jwt}");
    assert_served(
        &with_authorization(&app, &value).await,
        "vault of 1",
        &value,
    );
}

#[tokio::test]
async fn authorization_that_is_not_text_is_401() {
    let mut value = b"Bearer ".to_vec();
    value.extend_from_slice(good_token().as_bytes());
    value.push(0xff);
    let reply = with_headers(&app(false), "/vault", &[("authorization", value)]).await;
    assert_refused(&reply, "invalid_request", "obs-text byte in the header");
}

#[tokio::test]
async fn several_authorization_headers_are_401() {
    let jwt = good_token();
    let valid = format!("Bearer {jwt}");
    let app = app(false);
    for pair in [
        [valid.clone(), valid.clone()],
        [valid.clone(), "Bearer x.y.z".to_owned()],
        ["Bearer x.y.z".to_owned(), valid.clone()],
        [valid.clone(), "Basic dXNlcjpwYXNz".to_owned()],
        [String::new(), valid.clone()],
    ] {
        let headers = [
            ("authorization", pair[0].clone().into_bytes()),
            ("authorization", pair[1].clone().into_bytes()),
        ];
        let reply = with_headers(&app, "/vault", &headers).await;
        assert_refused(&reply, "invalid_request", &format!("{pair:?}"));
    }
}

#[tokio::test]
async fn token_in_the_auth_query_is_refused_when_that_source_is_off() {
    let jwt = good_token();
    let app = app(false);
    for uri in [
        format!("/vault?auth={jwt}"),
        format!("/vault?x=1&auth={jwt}"),
        format!("/vault?auth=Bearer%20{jwt}"),
    ] {
        assert_refused(&get(&app, &uri, None).await, "missing_token", &uri);
    }
}

#[tokio::test]
async fn only_the_auth_query_parameter_carries_a_token_when_on() {
    let jwt = good_token();
    let app = app(true);
    assert_served(
        &get(&app, &format!("/vault?auth={jwt}"), None).await,
        "vault of 1",
        "control: the auth parameter",
    );
    for (uri, code) in [
        (format!("/vault?access_token={jwt}"), "missing_token"),
        (format!("/vault?token={jwt}"), "missing_token"),
        (format!("/vault?AUTH={jwt}"), "missing_token"),
        (format!("/vault?auth_={jwt}"), "missing_token"),
        (format!("/vault?auth={jwt}&auth={jwt}"), "invalid_request"),
        (format!("/vault?auth={jwt}&auth=x.y.z"), "invalid_request"),
        (format!("/vault?auth={jwt}&%61uth=x.y.z"), "invalid_request"),
        ("/vault?auth=".to_owned(), "invalid_token"),
        ("/vault?auth".to_owned(), "invalid_token"),
        (format!("/vault?auth=Bearer%20{jwt}"), "invalid_token"),
        (format!("/vault?auth={jwt}x"), "invalid_token"),
    ] {
        assert_refused(&get(&app, &uri, None).await, code, &uri);
    }
    // Both sources at once, even when both carry the same valid token.
    let reply = get(&app, &format!("/vault?auth={jwt}"), Some(&jwt)).await;
    assert_refused(&reply, "invalid_request", "header and query");
}

#[tokio::test]
async fn oversized_query_token_is_401() {
    // `http::Uri` caps a URI below 64 KiB; 60 KiB is 15 times the default limit.
    let huge = "A".repeat(30 * 1024);
    let uri = format!("/vault?auth={huge}.{huge}.x");
    let reply = get(&app(true), &uri, None).await;
    assert_refused(&reply, "invalid_token", "60 KiB query token");
}

#[tokio::test]
async fn other_headers_do_not_carry_credentials() {
    let jwt = good_token();
    let app = app(false);
    for (name, value) in [
        (header::COOKIE.as_str(), format!("auth={jwt}")),
        (header::COOKIE.as_str(), format!("token={jwt}")),
        (
            header::PROXY_AUTHORIZATION.as_str(),
            format!("Bearer {jwt}"),
        ),
        ("x-auth-token", jwt.clone()),
        ("x-access-token", jwt.clone()),
        ("x-forwarded-authorization", format!("Bearer {jwt}")),
        ("authorisation", format!("Bearer {jwt}")),
    ] {
        let reply = with_headers(&app, "/vault", &[(name, value.into_bytes())]).await;
        assert_refused(&reply, "missing_token", name);
    }
}
