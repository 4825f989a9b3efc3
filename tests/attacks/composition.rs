//! Attacks on `GuardedRouter` (issue: every axum composition method behind the guard, uniform
//! refusals, handler errors re-rendered, minted answers not cached, optional authentication).
//!
//! Each test asserts the SAFE behaviour: a failing test is a finding. Protected handlers count
//! their runs in a [`Hits`]; without a valid token the count must stay 0.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, any, get, head, on, post};
use jwt_router::testing::token_for;
use jwt_router::{AuthError, Authed, Claims, GuardedRouter, JwtRoutes, Tokens, authed, public};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower_http::cors::{Any, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::common::{Db, Reply, SECRET, Teacher, User, ada, get as get_uri, request, send, turing};
use crate::support::{
    HS256_HEADER, Hits, answer, assert_refused, good_claims, handler_of, now, raw, serve, signed,
};

// ---------------------------------------------------------------------------------------------
// Declared handlers of this module.

#[public(GET, "/page")]
async fn page() -> Response {
    answer("page")
}

/// A public OPTIONS handler that lists its methods itself: its `Allow` is not a refusal's.
#[public(OPTIONS, "/page")]
async fn page_options() -> Response {
    ([(header::ALLOW, "GET, OPTIONS")], "page options").into_response()
}

#[public(GET, "/v2/ping")]
async fn v2_ping() -> Response {
    answer("v2_ping")
}

#[authed(GET, "/secret")]
async fn secret() -> Response {
    answer("secret")
}

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

#[public(POST, "/login")]
async fn login(tokens: Tokens) -> Result<String, AuthError> {
    tokens.create_token::<User>(&1)
}

#[public(POST, "/mint-then-fail")]
async fn mint_then_fail(tokens: Tokens) -> Result<String, AuthError> {
    tokens.create_token::<User>(&1)?;
    Err(AuthError::AccountDisabled)
}

#[public(GET, "/plain")]
async fn plain() -> &'static str {
    "plain"
}

#[public(POST, "/fails")]
async fn fails() -> Result<&'static str, AuthError> {
    Err(AuthError::AccountDisabled)
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn builder() -> jwt_router::JwtRoutesBuilder<Db> {
    JwtRoutes::builder()
        .secret(SECRET)
        .entity::<User>()
        .entity::<Teacher>()
        .module(module_path!())
}

fn jwt() -> JwtRoutes<Db> {
    builder().build().expect("valid configuration")
}

fn app() -> GuardedRouter<Db> {
    jwt().router(Db::seeded())
}

fn custom() -> JwtRoutes<Db> {
    builder()
        .error_response(|err| (err.status(), format!("custom {}", err.code())).into_response())
        .build()
        .expect("valid configuration")
}

fn token() -> String {
    token_for(&jwt(), &ada())
}

/// A handler (usable as `get(..)`, `head(..)`, `any(..)`, a fallback) that counts its runs.
fn counting(
    hits: &Hits,
    name: &'static str,
) -> impl Fn() -> std::future::Ready<Response> + Clone + Send + Sync + 'static + use<> {
    let hits = hits.clone();
    move || std::future::ready(hits.protected(name))
}

/// A service that counts its runs.
fn counting_service(
    hits: Hits,
    name: &'static str,
) -> impl tower::Service<Request, Response = Response, Error = Infallible, Future = impl Send>
+ Clone
+ Send
+ Sync
+ 'static {
    tower::service_fn(move |_: Request| {
        let hits = hits.clone();
        async move { Ok::<_, Infallible>(hits.protected(name)) }
    })
}

fn head_request(uri: &str, token: Option<&str>) -> axum::http::Request<axum::body::Body> {
    request("HEAD", uri, token)
}

/// Asserts a refused HEAD: 401 with the bare challenge and no handler's trace.
#[track_caller]
fn assert_head_refused(reply: &Reply, what: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{what}");
    assert_eq!(reply.challenge(), "Bearer", "{what}");
    assert_eq!(handler_of(reply), None, "{what}: a handler ran");
}

/// Sends `request` (raw bytes) and reads until the server closes.
async fn exchange(addr: SocketAddr, request: &str) -> Vec<u8> {
    let io = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes).await;
        bytes
    };
    tokio::time::timeout(Duration::from_secs(10), io)
        .await
        .expect("the server answers within 10 s")
}

/// A response as sent, minus the `date` header (which ticks).
fn without_date(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .split("\r\n")
        .filter(|line| !line.to_ascii_lowercase().starts_with("date:"))
        .collect::<Vec<_>>()
        .join("\r\n")
}

// ---------------------------------------------------------------------------------------------
// HEAD follows GET's *policy* even where HEAD has its own (hand-added) handler.

#[tokio::test]
async fn hand_added_head_handler_at_a_public_get_path_needs_a_token() {
    let hits = Hits::default();
    let app = app().route("/page", head(counting(&hits, "head_meta")));
    let reply = send(&app, head_request("/page", None)).await;
    assert_head_refused(&reply, "HEAD /page (hand-added head())");
    assert_eq!(
        hits.count(),
        0,
        "the protected HEAD handler ran without a token"
    );
    // GET stays public.
    let get = get_uri(&app, "/page", None).await;
    assert_eq!(handler_of(&get), Some("page"));
}

#[tokio::test]
async fn merged_head_handler_at_a_public_get_path_needs_a_token() {
    let hits = Hits::default();
    let merged = Router::new().route(
        "/page",
        on(
            MethodFilter::HEAD.or(MethodFilter::PUT),
            counting(&hits, "merged_head"),
        ),
    );
    let app = app().merge(merged);
    let reply = send(&app, head_request("/page", None)).await;
    assert_head_refused(&reply, "HEAD /page (merged)");
    assert_eq!(
        hits.count(),
        0,
        "the protected HEAD handler ran without a token"
    );
}

#[tokio::test]
async fn nested_head_handler_at_a_public_get_path_needs_a_token() {
    let hits = Hits::default();
    let nested = Router::new().route("/ping", head(counting(&hits, "nested_head")));
    let app = app().nest("/v2", nested);
    let reply = send(&app, head_request("/v2/ping", None)).await;
    assert_head_refused(&reply, "HEAD /v2/ping (nested)");
    assert_eq!(
        hits.count(),
        0,
        "the protected HEAD handler ran without a token"
    );
}

// ---------------------------------------------------------------------------------------------
// route_layer sits outside the guard.

async fn require_claims(claims: Claims, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    if let Ok(sub) = HeaderValue::from_str(&claims.sub) {
        response.headers_mut().insert("x-sub", sub);
    }
    response
}

#[tokio::test]
async fn route_layer_middleware_can_read_the_verified_claims() {
    let hits = Hits::default();
    let app = app()
        .route("/late", get(counting(&hits, "late")))
        .route_layer(from_fn(require_claims));
    let reply = get_uri(&app, "/late", Some(&token())).await;
    assert_eq!(
        (reply.status, handler_of(&reply)),
        (StatusCode::OK, Some("late")),
        "a route_layer auth middleware with a valid token: {}",
        reply.body
    );
}

async fn require_version(req: Request, next: Next) -> Response {
    if req.headers().contains_key("x-api-version") {
        next.run(req).await
    } else {
        (StatusCode::BAD_REQUEST, "x-api-version required").into_response()
    }
}

#[tokio::test]
async fn route_layer_does_not_tell_existing_paths_from_missing_ones_without_a_token() {
    let hits = Hits::default();
    let app = app()
        .route("/late", get(counting(&hits, "late")))
        .route_layer(from_fn(require_version));
    for uri in ["/late", "/secret", "/nowhere"] {
        let reply = get_uri(&app, uri, None).await;
        assert_refused(
            &reply,
            "missing_token",
            &format!("GET {uri} without a token"),
        );
    }
    assert_eq!(hits.count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Re-rendering of handler errors.

#[tokio::test]
async fn handler_error_rendered_by_the_custom_renderer_keeps_the_layers_headers() {
    let app = custom()
        .router(Db::seeded())
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(CorsLayer::new().allow_origin(Any));
    let with_origin = |method: &str, uri: &str| {
        let mut req = request(method, uri, None);
        req.headers_mut().insert(
            header::ORIGIN,
            HeaderValue::from_static("https://app.example"),
        );
        req
    };
    // Control: the guard's own refusal keeps them.
    let refused = send(&app, with_origin("GET", "/secret")).await;
    assert_eq!(refused.body.as_str(), Some("custom missing_token"));
    assert_eq!(refused.headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(refused.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    // A handler's error, re-rendered.
    let reply = send(&app, with_origin("POST", "/fails")).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::FORBIDDEN, Some("custom account_disabled"))
    );
    assert_eq!(
        reply
            .headers
            .get(header::X_FRAME_OPTIONS)
            .map(|v| v.as_bytes()),
        Some(&b"DENY"[..]),
        "security header of a layer dropped by the re-rendering: {:?}",
        reply.headers
    );
    assert_eq!(
        reply
            .headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.as_bytes()),
        Some(&b"*"[..]),
        "CORS header dropped by the re-rendering: the browser can't read the error"
    );
}

#[tokio::test]
async fn minted_then_failed_answer_is_no_store_after_re_rendering() {
    let app = custom().router(Db::seeded());
    let reply = send(&app, request("POST", "/mint-then-fail", None)).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::FORBIDDEN, Some("custom account_disabled"))
    );
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn a_handlers_own_allow_header_is_kept() {
    let reply = send(&app(), request("OPTIONS", "/page", None)).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("page options"))
    );
    assert_eq!(reply.headers[header::ALLOW], "GET, OPTIONS");
}

// ---------------------------------------------------------------------------------------------
// A GuardedRouter inside a plain axum Router.

#[tokio::test]
async fn guarded_router_nested_under_a_prefix_keeps_its_public_routes_public() {
    let outer: Router = Router::new().nest_service("/api", app());
    let reply = get_uri(&outer, "/api/page", None).await;
    assert_eq!(
        (reply.status, handler_of(&reply)),
        (StatusCode::OK, Some("page")),
        "public GET /page behind nest_service(\"/api\"): {}",
        reply.body
    );
}

#[tokio::test]
async fn guarded_router_nested_under_a_prefix_does_not_open_hand_added_routes() {
    let hits = Hits::default();
    let inner = app().route("/ping", get(counting(&hits, "ping")));
    // `/v2` + the inner template `/ping` spells the declared public template `/v2/ping`.
    let outer: Router = Router::new().nest_service("/v2", inner);
    let reply = get_uri(&outer, "/v2/ping", None).await;
    assert_refused(
        &reply,
        "missing_token",
        "GET /v2/ping (hand-added /ping under /v2)",
    );
    assert_eq!(
        hits.count(),
        0,
        "a protected hand-added route ran without a token"
    );
}

#[tokio::test]
async fn guarded_router_as_the_fallback_of_a_plain_router_keeps_its_policies() {
    let hits = Hits::default();
    let outer: Router = Router::new()
        .route("/metrics", get(|| async { "metrics" }))
        .fallback_service(app().route("/late", get(counting(&hits, "late"))));
    assert_eq!(
        handler_of(&get_uri(&outer, "/page", None).await),
        Some("page")
    );
    assert_refused(
        &get_uri(&outer, "/late", None).await,
        "missing_token",
        "/late",
    );
    assert_refused(
        &get_uri(&outer, "/secret", None).await,
        "missing_token",
        "/secret",
    );
    assert_eq!(hits.count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Composition methods with axum's own extras.

#[tokio::test]
async fn route_service_with_a_method_router_and_any_routes_are_guarded() {
    let hits = Hits::default();
    let method_router = get(counting(&hits, "mr_get")).post(counting(&hits, "mr_post"));
    let app = app()
        .route_service("/mr", method_router)
        .route("/any", any(counting(&hits, "any")));
    for method in [
        "GET", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PROPFIND",
    ] {
        for uri in ["/mr", "/any"] {
            let reply = send(&app, request(method, uri, None)).await;
            assert_refused(&reply, "missing_token", &format!("{method} {uri}"));
            assert_eq!(reply.headers.get(header::ALLOW), None, "{method} {uri}");
        }
    }
    assert_head_refused(&send(&app, head_request("/mr", None)).await, "HEAD /mr");
    assert_eq!(hits.count(), 0);
    // Control: with a token.
    let reply = send(&app, request("DELETE", "/mr", Some(&token()))).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn merged_method_not_allowed_fallback_is_guarded() {
    let hits = Hits::default();
    let merged = Router::new()
        .route("/m", get(counting(&hits, "m")))
        .method_not_allowed_fallback(counting(&hits, "m_405"));
    let nested = Router::new()
        .route("/n", get(counting(&hits, "n")))
        .method_not_allowed_fallback(counting(&hits, "n_405"));
    let app = app().merge(merged).nest("/nest", nested);
    for (method, uri) in [("DELETE", "/m"), ("POST", "/m"), ("DELETE", "/nest/n")] {
        let reply = send(&app, request(method, uri, None)).await;
        assert_refused(&reply, "missing_token", &format!("{method} {uri}"));
    }
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn merged_router_with_a_layer_and_a_fallback_and_nested_layers_are_guarded() {
    let hits = Hits::default();
    // A layer inside the merged router that answers by itself for some requests.
    let short_circuit = from_fn(|req: Request, next: Next| async move {
        if req.headers().contains_key("x-bypass") {
            answer("short_circuit")
        } else {
            next.run(req).await
        }
    });
    let merged = Router::new()
        .route("/merged", get(counting(&hits, "merged")))
        .fallback(counting(&hits, "merged_fallback"))
        .layer(short_circuit.clone());
    let inner = Router::new()
        .route("/deep", get(counting(&hits, "deep")))
        .fallback(counting(&hits, "deep_fallback"))
        .layer(short_circuit.clone());
    let nested = Router::new()
        .nest("/inner", inner)
        .route_layer(short_circuit);
    let app = app()
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .merge(merged)
        .nest("/outer", nested);
    for uri in [
        "/merged",
        "/nowhere",
        "/outer/inner/deep",
        "/outer/inner/zzz",
        "/outer/zzz",
    ] {
        for bypass in [false, true] {
            let mut req = request("GET", uri, None);
            if bypass {
                req.headers_mut()
                    .insert("x-bypass", HeaderValue::from_static("1"));
            }
            let reply = send(&app, req).await;
            assert_refused(
                &reply,
                "missing_token",
                &format!("GET {uri} bypass={bypass}"),
            );
            assert_eq!(handler_of(&reply), None, "GET {uri} bypass={bypass}");
        }
    }
    assert_eq!(hits.count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Over the wire: refusals of existing and missing paths are byte for byte the same.

async fn composed_server(hits: &Hits) -> SocketAddr {
    let nested = Router::new()
        .route("/inner", get(counting(hits, "inner")))
        .fallback(counting(hits, "nested_fallback"));
    let app = app()
        .route("/late", post(counting(hits, "late")))
        .nest("/nested", nested)
        .nest_service("/files", counting_service(hits.clone(), "files"))
        .route_service("/svc", counting_service(hits.clone(), "svc"))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ));
    serve(app).await
}

#[tokio::test]
async fn refusal_bytes_are_the_same_for_existing_and_missing_paths() {
    let hits = Hits::default();
    let addr = composed_server(&hits).await;
    let targets = [
        ("DELETE", "/page"), // public GET path, another method
        ("GET", "/late"),    // hand-added POST path, another method
        ("GET", "/secret"),  // declared protected
        ("GET", "/nested/inner"),
        ("GET", "/nested/zzz"),
        ("GET", "/files/a.txt"),
        ("GET", "/files"),
        ("GET", "/svc"),
        ("PUT", "/secret"),
        ("GET", "/nowhere/at/all"),
    ];
    let mut differ = Vec::new();
    for verb in ["GET-like", "HEAD"] {
        let send_one = |method: &str, target: &str| {
            let method = if verb == "HEAD" { "HEAD" } else { method };
            format!("{method} {target} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
        };
        let baseline = without_date(&exchange(addr, &send_one("GET", "/missing")).await);
        assert!(baseline.starts_with("HTTP/1.1 401"), "{baseline}");
        for (method, target) in targets {
            if verb == "HEAD" && target == "/page" {
                continue; // HEAD /page is the public GET's
            }
            let got = without_date(&exchange(addr, &send_one(method, target)).await);
            if got != baseline {
                differ.push(format!(
                    "{verb} {method} {target}:\n{got}\n  vs missing:\n{baseline}"
                ));
            }
        }
    }
    assert_eq!(hits.count(), 0);
    assert!(differ.is_empty(), "{}", differ.join("\n\n"));
}

#[tokio::test]
async fn odd_methods_and_request_targets_are_refused() {
    let hits = Hits::default();
    let app = app()
        .route("/any", any(counting(&hits, "any")))
        .nest_service("/files", counting_service(hits.clone(), "files"))
        .fallback(counting(&hits, "fallback"));
    let addr = serve(app).await;
    for (method, target) in [
        ("OPTIONS", "*"),
        ("CONNECT", "127.0.0.1:443"),
        ("CONNECT", "/any"),
        ("TRACE", "/any"),
        ("TRACE", "/page"),
        ("FOO", "/any"),
        ("PROPFIND", "/files/x"),
        ("OPTIONS", "/files"),
        ("GET", "http://127.0.0.1/any"),
        ("GET", "http://evil.example/files/x"),
    ] {
        let reply = raw(addr, method, target, &[]).await;
        assert_eq!(handler_of(&reply), None, "{method} {target}: a handler ran");
        assert!(
            reply.status == StatusCode::UNAUTHORIZED || reply.status.is_client_error(),
            "{method} {target}: {}",
            reply.status
        );
        if reply.status == StatusCode::UNAUTHORIZED {
            assert_refused(&reply, "missing_token", &format!("{method} {target}"));
        }
    }
    assert_eq!(hits.count(), 0);
}

#[tokio::test]
async fn path_tricks_against_nested_routes_are_refused() {
    let hits = Hits::default();
    let nested = Router::new()
        .route("/inner", get(counting(&hits, "inner")))
        .route("/{id}/x", get(counting(&hits, "inner_id")))
        .fallback(counting(&hits, "nested_fallback"));
    let app = app()
        .nest("/nested", nested)
        .nest_service("/files", counting_service(hits.clone(), "files"));
    let addr = serve(app).await;
    for target in [
        "/nested//inner",
        "/nested/inner/",
        "/nested/./inner",
        "/nested/x/../inner",
        "/nested%2Finner",
        "/nested/%2E/inner",
        "//nested/inner",
        "/NESTED/inner",
        "/nested/inner;a=b",
        "/page/../nested/inner",
        "/page/..%2Fnested/inner",
        "/page%2F..%2Fnested%2Finner",
        "/nested/page",
        "/nested/..%2Fpage/x",
        "/files/../page",
        "/files%2F..%2Fpage",
        "/files/",
        "/files//",
        "/nested",
        "/nested/",
    ] {
        let reply = raw(addr, "GET", target, &[]).await;
        assert_eq!(handler_of(&reply), None, "GET {target}: a handler ran");
        assert_refused(&reply, "missing_token", &format!("GET {target}"));
    }
    assert_eq!(hits.count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Optional authentication.

#[tokio::test]
async fn optional_auth_refuses_ambiguous_or_bad_credentials() {
    let app = app();
    let valid = token();
    let unregistered = signed(
        HS256_HEADER,
        &json!({ "sub": "1", "table_name": "admins", "iat": now() - 10, "exp": now() + 3600 })
            .to_string(),
    );
    let bad_sub = signed(
        HS256_HEADER,
        &json!({ "sub": "abc", "table_name": "users", "iat": now() - 10, "exp": now() + 3600 })
            .to_string(),
    );
    let oversized = "a".repeat(5000);
    for uri in ["/maybe", "/maybe-user"] {
        // Two Authorization headers, one of them valid.
        let mut req = request("GET", uri, Some(&valid));
        req.headers_mut().append(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer not.a.token"),
        );
        assert_refused(
            &send(&app, req).await,
            "invalid_request",
            &format!("{uri} twice"),
        );
        let mut req = request("GET", uri, Some(&valid));
        req.headers_mut().append(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {valid}")).expect("header"),
        );
        assert_refused(
            &send(&app, req).await,
            "invalid_request",
            &format!("{uri} same twice"),
        );
        for (what, token) in [
            ("unregistered table", unregistered.as_str()),
            ("oversized", oversized.as_str()),
        ] {
            let reply = get_uri(&app, uri, Some(token)).await;
            assert_refused(&reply, "invalid_token", &format!("{uri} {what}"));
        }
    }
    let reply = get_uri(&app, "/maybe-user", Some(&bad_sub)).await;
    assert_refused(&reply, "invalid_token", "/maybe-user sub not an id");
    let teacher = token_for(&jwt(), &turing());
    let reply = get_uri(&app, "/maybe-user", Some(&teacher)).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::FORBIDDEN, "wrong_entity")
    );
    // The claims are `good_claims()` of the support module: a hand-built valid token works.
    let hand_built = signed(HS256_HEADER, &good_claims().to_string());
    let reply = get_uri(&app, "/maybe", Some(&hand_built)).await;
    assert_eq!(reply.body.as_str(), Some("sub 1"));
}

#[tokio::test]
async fn optional_auth_with_tokens_in_the_query() {
    let valid = token();
    // Query tokens off: the query is not a credential, the caller is anonymous.
    let off = app();
    let reply = get_uri(&off, &format!("/maybe?auth={valid}"), None).await;
    assert_eq!(reply.body.as_str(), Some("anonymous"));
    let reply = get_uri(&off, "/maybe?auth=junk", None).await;
    assert_eq!(reply.body.as_str(), Some("anonymous"));
    // Query tokens on.
    let on = builder()
        .query_token(true)
        .build()
        .expect("valid configuration")
        .router(Db::seeded());
    let reply = get_uri(&on, &format!("/maybe?auth={valid}"), None).await;
    assert_eq!(reply.body.as_str(), Some("sub 1"));
    for (what, uri, header_token) in [
        (
            "header and query",
            format!("/maybe-user?auth={valid}"),
            Some(valid.as_str()),
        ),
        (
            "two query params",
            format!("/maybe?auth={valid}&auth={valid}"),
            None,
        ),
        (
            "encoded second",
            format!("/maybe?auth={valid}&%61uth=x"),
            None,
        ),
    ] {
        let reply = get_uri(&on, &uri, header_token).await;
        assert_refused(&reply, "invalid_request", what);
    }
    let reply = get_uri(&on, "/maybe?auth=junk", None).await;
    assert_refused(&reply, "invalid_token", "junk query token");
}

// ---------------------------------------------------------------------------------------------
// The minted-token flag and keep-alive.

/// Splits pipelined HTTP/1.1 responses (each with a Content-Length body).
fn responses(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(end) = rest.find("\r\n\r\n") {
        let head = &rest[..end];
        let length = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        let stop = (end + 4 + length).min(rest.len());
        out.push(rest[..stop].to_owned());
        rest = &rest[stop..];
    }
    out
}

#[tokio::test]
async fn minted_flag_does_not_leak_to_the_next_request_on_a_connection() {
    let addr = serve(app()).await;
    let mint = "POST /login HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n";
    let plain = "GET /plain HTTP/1.1\r\nhost: x\r\n\r\n";
    let refused = "GET /secret HTTP/1.1\r\nhost: x\r\n\r\n";
    let last = "GET /plain HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    let bytes = exchange(addr, &format!("{mint}{plain}{mint}{refused}{last}")).await;
    let answers = responses(&bytes);
    assert_eq!(answers.len(), 5, "{answers:#?}");
    let no_store = |r: &str| r.to_ascii_lowercase().contains("cache-control: no-store");
    assert!(
        answers[0].starts_with("HTTP/1.1 200") && no_store(&answers[0]),
        "{}",
        answers[0]
    );
    assert!(
        answers[1].starts_with("HTTP/1.1 200") && !no_store(&answers[1]),
        "{}",
        answers[1]
    );
    assert!(no_store(&answers[2]), "{}", answers[2]);
    assert!(
        answers[3].starts_with("HTTP/1.1 401") && !no_store(&answers[3]),
        "{}",
        answers[3]
    );
    assert!(!no_store(&answers[4]), "{}", answers[4]);
}

#[tokio::test]
async fn concurrent_mints_and_plain_answers_do_not_share_the_flag() {
    let app = app();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let reply = send(&app, request("POST", "/login", None)).await;
                reply.headers.contains_key(header::CACHE_CONTROL)
            } else {
                let reply = get_uri(&app, "/plain", None).await;
                !reply.headers.contains_key(header::CACHE_CONTROL)
            }
        }));
    }
    for task in tasks {
        assert!(task.await.expect("task"));
    }
}
