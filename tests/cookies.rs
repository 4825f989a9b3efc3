//! Browser sessions (feature `cookies`): the access token in an HttpOnly cookie, the
//! double-submit CSRF token bound to it, and the attacks on both.

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use jwt_router::{
    AuthError, Claims, ClearCookies, CookieSession, Cookies, GuardedRouter, JwtRoutes, Tokens,
    authed, public,
};

#[allow(dead_code, unreachable_pub)]
#[path = "routes/common.rs"]
mod common;

use common::{Db, Reply, SECRET, User, ada, send};

#[public(POST, "/login")]
async fn login(tokens: Tokens) -> Result<(CookieSession, String), AuthError> {
    let session = tokens.cookie_session_for(&ada())?;
    let csrf = session.csrf_token().to_owned();
    Ok((session, csrf))
}

#[authed(GET, "/me", entity = "users")]
async fn me(user: User) -> String {
    user.name
}

#[authed(POST, "/books", entity = "users")]
async fn add_book(user: User) -> String {
    format!("added for {}", user.name)
}

#[authed(POST, "/logout")]
async fn logout(tokens: Tokens) -> Result<(ClearCookies, StatusCode), AuthError> {
    Ok((tokens.clear_cookies()?, StatusCode::NO_CONTENT))
}

/// Optional authentication reads the cookie too, CSRF included.
#[public(POST, "/comment")]
async fn comment(claims: Option<Claims>) -> String {
    claims.map_or_else(|| "anonymous".to_owned(), |c| c.sub)
}

fn app_with(cookies: Option<Cookies>) -> GuardedRouter<Db> {
    let mut builder = JwtRoutes::builder()
        .secret(SECRET)
        .entity::<User>()
        .module(module_path!());
    if let Some(cookies) = cookies {
        builder = builder.cookies(cookies);
    }
    builder
        .build()
        .expect("valid configuration")
        .router(Db::seeded())
}

fn app() -> GuardedRouter<Db> {
    app_with(Some(Cookies::new()))
}

/// A browser after a cookie login: its two cookies and the CSRF token the page got.
struct Browser {
    access: String,
    csrf_cookie: String,
    csrf: String,
    set_cookies: Vec<String>,
}

async fn log_in(app: &GuardedRouter<Db>) -> Browser {
    let reply = send(
        app,
        Request::post("/login")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    let set_cookies: Vec<String> = reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().expect("text").to_owned())
        .collect();
    let pair = |name: &str| {
        set_cookies
            .iter()
            .find(|cookie| cookie.starts_with(&format!("{name}=")))
            .and_then(|cookie| cookie.split(';').next())
            .unwrap_or_else(|| panic!("no {name} cookie in {set_cookies:?}"))
            .to_owned()
    };
    Browser {
        access: pair("access_token"),
        csrf_cookie: pair("csrf_token"),
        csrf: reply.body.as_str().expect("csrf token").to_owned(),
        set_cookies,
    }
}

async fn call(
    app: &GuardedRouter<Db>,
    method: &str,
    uri: &str,
    cookies: &[&str],
    csrf: Option<&str>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    if !cookies.is_empty() {
        request = request.header(header::COOKIE, cookies.join("; "));
    }
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    send(app, request.body(Body::empty()).expect("request")).await
}

fn refused(reply: &Reply) -> (StatusCode, &str) {
    (reply.status, reply.error_code())
}

const CSRF_FAILED: (StatusCode, &str) = (StatusCode::FORBIDDEN, "csrf_failed");

#[tokio::test]
async fn a_cookie_login_sets_an_httponly_token_and_a_readable_csrf_cookie() {
    let browser = log_in(&app()).await;
    let [access, csrf] = browser.set_cookies.as_slice() else {
        panic!("two cookies: {:?}", browser.set_cookies);
    };
    let attributes = |cookie: &str| {
        let mut attributes: Vec<String> = cookie.split("; ").skip(1).map(str::to_owned).collect();
        attributes.sort();
        attributes
    };
    assert_eq!(
        attributes(access),
        [
            "HttpOnly",
            "Max-Age=2592000",
            "Path=/",
            "SameSite=Strict",
            "Secure"
        ]
    );
    assert_eq!(
        attributes(csrf),
        ["Max-Age=2592000", "Path=/", "SameSite=Strict", "Secure"]
    );
    assert_eq!(browser.csrf_cookie, format!("csrf_token={}", browser.csrf));
    assert!(browser.csrf.len() >= 43, "256 bits: {}", browser.csrf);

    let local = log_in(&app_with(Some(Cookies::new().secure(false)))).await;
    assert!(
        local
            .set_cookies
            .iter()
            .all(|cookie| !cookie.contains("Secure"))
    );
}

#[tokio::test]
async fn reads_pass_and_writes_need_this_sessions_csrf_token() {
    let app = app();
    let b = log_in(&app).await;
    let both = [b.access.as_str(), b.csrf_cookie.as_str()];
    assert_eq!(call(&app, "GET", "/me", &both, None).await.body, "ada");
    assert_eq!(
        call(&app, "GET", "/me", &[&b.access], None).await.body,
        "ada"
    );

    let ok = call(&app, "POST", "/books", &both, Some(&b.csrf)).await;
    assert_eq!(ok.body, "added for ada", "{ok:?}");
    for (cookies, header) in [
        (&both[..], None),
        (&both[..], Some("")),
        (&both[..], Some("forged")),
        // The header without the cookie to compare it with.
        (&[b.access.as_str()][..], Some(b.csrf.as_str())),
    ] {
        let reply = call(&app, "POST", "/books", cookies, header).await;
        assert_eq!(refused(&reply), CSRF_FAILED, "{header:?}");
        assert_eq!(reply.headers.get(header::ALLOW), None);
    }
    let reply = call(&app, "POST", "/comment", &both, None).await;
    assert_eq!(refused(&reply), CSRF_FAILED);
    let reply = call(&app, "POST", "/comment", &both, Some(&b.csrf)).await;
    assert_eq!(reply.body, "1");
}

/// An attacker who can plant cookies (a sibling subdomain) sets a CSRF cookie and sends the
/// same value in the header: the double submit matches, the token's own claim does not.
#[tokio::test]
async fn a_planted_csrf_cookie_or_another_sessions_token_is_refused() {
    let app = app();
    let victim = log_in(&app).await;
    let attacker = log_in(&app).await;
    let planted = "csrf_token=chosen-by-the-attacker";
    let reply = call(
        &app,
        "POST",
        "/books",
        &[&victim.access, planted],
        Some("chosen-by-the-attacker"),
    )
    .await;
    assert_eq!(refused(&reply), CSRF_FAILED);
    let reply = call(
        &app,
        "POST",
        "/books",
        &[&victim.access, &attacker.csrf_cookie],
        Some(&attacker.csrf),
    )
    .await;
    assert_eq!(refused(&reply), CSRF_FAILED);
    // Two CSRF cookies: neither is picked.
    let reply = call(
        &app,
        "POST",
        "/books",
        &[&victim.access, &victim.csrf_cookie, planted],
        Some(&victim.csrf),
    )
    .await;
    assert_eq!(refused(&reply), CSRF_FAILED);
}

#[tokio::test]
async fn a_bearer_header_is_never_asked_for_csrf_and_wins_over_the_cookie() {
    let app = app();
    let b = log_in(&app).await;
    let token = b.access.trim_start_matches("access_token=");
    let request = Request::post("/books")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::COOKIE, "access_token=garbage")
        .body(Body::empty())
        .expect("request");
    let reply = send(&app, request).await;
    assert_eq!(reply.body, "added for ada", "{reply:?}");
}

#[tokio::test]
async fn cookies_are_ignored_where_the_cookie_source_is_off() {
    let b = log_in(&app()).await;
    let off = app_with(None);
    let reply = call(&off, "GET", "/me", &[&b.access], None).await;
    assert_eq!(refused(&reply), (StatusCode::UNAUTHORIZED, "missing_token"));
    let reply = call(&off, "POST", "/login", &[], None).await;
    assert_eq!(
        refused(&reply),
        (StatusCode::INTERNAL_SERVER_ERROR, "misconfigured")
    );
}

#[tokio::test]
async fn malformed_cookies_are_refused_or_ignored_never_a_panic() {
    let app = app();
    let b = log_in(&app).await;
    let twice = call(&app, "GET", "/me", &[&b.access, &b.access], None).await;
    assert_eq!(
        refused(&twice),
        (StatusCode::UNAUTHORIZED, "invalid_request")
    );
    let huge = format!("access_token={}", "a".repeat(64 * 1024));
    let reply = call(&app, "GET", "/me", &[&huge], None).await;
    assert_eq!(refused(&reply), (StatusCode::UNAUTHORIZED, "invalid_token"));
    for cookie in [
        "access_token=",
        "access_token",
        "access_token=not.a.token",
        "=;;=;",
    ] {
        let reply = call(&app, "GET", "/me", &[cookie], None).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{cookie}: {reply:?}"
        );
    }
    // A Cookie header that is not text is no token.
    let request = Request::get("/me")
        .header(
            header::COOKIE,
            HeaderValue::from_bytes(b"access_token=\xff\xfe").expect("opaque bytes"),
        )
        .body(Body::empty())
        .expect("request");
    let reply = send(&app, request).await;
    assert_eq!(refused(&reply), (StatusCode::UNAUTHORIZED, "missing_token"));
}

#[tokio::test]
async fn logout_clears_both_cookies() {
    let app = app();
    let b = log_in(&app).await;
    let reply = call(
        &app,
        "POST",
        "/logout",
        &[&b.access, &b.csrf_cookie],
        Some(&b.csrf),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{reply:?}");
    let cleared: Vec<&str> = reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().expect("text"))
        .collect();
    assert_eq!(cleared.len(), 2, "{cleared:?}");
    for (cookie, name) in cleared.iter().zip(["access_token=;", "csrf_token=;"]) {
        assert!(cookie.starts_with(name), "{cookie}");
        assert!(cookie.contains("Max-Age=0"), "{cookie}");
    }
}
