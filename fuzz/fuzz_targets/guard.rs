//! The whole guard through a real `GuardedRouter` (`tower::ServiceExt::oneshot`): arbitrary method,
//! target, Authorization headers (valid, edited or arbitrary bytes), query token, CORS headers
//! and other headers. Never panics; a protected handler runs only when the request carried the
//! valid token; every 401 is the JSON error with a Bearer challenge; no 500.

#![no_main]

use std::convert::Infallible;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::routing::{any, get};
use http_body_util::BodyExt;
use jwt_router::{GuardedService, JwtRoutes, authed, ignored, public};
use jwt_router_fuzz::{Edit, SECRET, apply, valid_tokens};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

/// Runs of protected handlers (the fuzzer runs one input at a time).
static PROTECTED: AtomicUsize = AtomicUsize::new(0);

fn protected() -> &'static str {
    PROTECTED.fetch_add(1, Ordering::SeqCst);
    "protected"
}

#[ignored(GET, "/health")]
async fn health() -> &'static str {
    "health"
}

#[public(GET, "/public")]
async fn public_page() -> &'static str {
    "public"
}

#[public(GET, "/open/{id}")]
async fn open() -> &'static str {
    "open"
}

#[authed(GET, "/secret")]
async fn secret() -> &'static str {
    protected()
}

#[authed(POST, "/public")]
async fn public_post() -> &'static str {
    protected()
}

#[authed(GET, "/books/{id}")]
async fn book() -> &'static str {
    protected()
}

#[authed(OPTIONS, "/admin")]
async fn admin_options() -> &'static str {
    protected()
}

fn app() -> &'static GuardedService {
    static APP: OnceLock<GuardedService> = OnceLock::new();
    APP.get_or_init(|| {
        let jwt = JwtRoutes::<()>::builder()
            .secret(SECRET)
            .entity::<jwt_router_fuzz::User>()
            .entity::<jwt_router_fuzz::Teacher>()
            .api_name("/api/v1")
            .query_token(true)
            .module(module_path!())
            .build()
            .expect("valid configuration");
        let files = tower::service_fn(|_: Request| async { Ok::<_, Infallible>(protected()) });
        jwt.router(())
            .route("/api/v1/hand", get(|| async { protected() }))
            .route("/api/v1/any", any(|| async { protected() }))
            .nest(
                "/api/v1/nested",
                Router::new().route("/inner", get(|| async { protected() })),
            )
            .nest_service("/files", files)
            .fallback(|| async { protected() })
            .into_service()
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

#[derive(Debug, Arbitrary)]
enum Credential {
    Valid { scheme: u8, spaces: u8 },
    Edited { edits: Vec<Edit> },
    Raw(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
struct Input {
    method: u8,
    raw_method: Vec<u8>,
    path: u8,
    raw_path: String,
    query: Option<String>,
    query_token: Option<Credential>,
    authorization: Vec<Credential>,
    preflight: (bool, bool),
    extra: Vec<(String, Vec<u8>)>,
}

const PATHS: [&str; 14] = [
    "/health",
    "/api/v1/public",
    "/api/v1/open/1",
    "/api/v1/secret",
    "/api/v1/books/1",
    "/api/v1/admin",
    "/api/v1/hand",
    "/api/v1/any",
    "/api/v1/nested/inner",
    "/files/a",
    "/api/v1/public/../secret",
    "/api/v1/books/1%2F..%2Fsecret",
    "/nowhere",
    "",
];

fn credential(c: &Credential) -> Vec<u8> {
    let token = &valid_tokens()[0];
    match c {
        Credential::Valid { scheme, spaces } => {
            let scheme =
                ["Bearer", "bearer", "BEARER", "Basic", "Token", ""][usize::from(*scheme) % 6];
            format!("{scheme}{}{token}", " ".repeat(usize::from(*spaces % 3))).into_bytes()
        }
        Credential::Edited { edits } => {
            let mut bytes = format!("Bearer {token}").into_bytes();
            apply(&mut bytes, edits);
            bytes
        }
        Credential::Raw(bytes) => bytes.clone(),
    }
}

fuzz_target!(|input: Input| {
    let method = match input.method % 10 {
        0..=2 => Method::GET,
        3 => Method::HEAD,
        4 => Method::POST,
        5 => Method::OPTIONS,
        6 => Method::DELETE,
        7 => Method::PUT,
        _ => match Method::from_bytes(&input.raw_method) {
            Ok(method) => method,
            Err(_) => return,
        },
    };
    let mut target = match PATHS[usize::from(input.path) % PATHS.len()] {
        "" => input.raw_path.clone(),
        path => path.to_owned(),
    };
    let mut query = input.query.clone().unwrap_or_default();
    if let Some(c) = &input.query_token {
        let value = credential(c);
        query.push_str("&auth=");
        query.push_str(&String::from_utf8_lossy(&value));
    }
    if !query.is_empty() {
        target.push('?');
        target.push_str(&query);
    }
    let mut builder = Request::builder()
        .method(method.clone())
        .uri(target.as_str());
    let mut carried = query.clone().into_bytes();
    for c in &input.authorization {
        let value = credential(c);
        carried.extend_from_slice(b"\n");
        carried.extend_from_slice(&value);
        builder = builder.header(header::AUTHORIZATION, value);
    }
    if input.preflight.0 {
        builder = builder.header(header::ORIGIN, "https://app.example");
    }
    if input.preflight.1 {
        builder = builder.header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET");
    }
    for (name, value) in &input.extra {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            builder = builder.header(name, value);
        }
    }
    let Ok(request) = builder.body(Body::empty()) else {
        return;
    };
    let before = PROTECTED.load(Ordering::SeqCst);
    let (status, challenge, body) = runtime().block_on(async {
        let response = app().clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let challenge = response.headers().get(header::WWW_AUTHENTICATE).cloned();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, challenge, body)
    });
    let ran = PROTECTED.load(Ordering::SeqCst) - before;

    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "500 for {input:?}"
    );
    let token = valid_tokens()[0].as_bytes();
    let carried_token = carried.windows(token.len()).any(|w| w == token);
    assert!(
        ran == 0 || carried_token,
        "a protected handler ran without the valid token: {method} {target}"
    );
    if status == StatusCode::UNAUTHORIZED {
        assert!(
            challenge.is_some_and(|c| c.as_bytes().starts_with(b"Bearer")),
            "401 without a Bearer challenge"
        );
        if method != Method::HEAD {
            let json: serde_json::Value =
                serde_json::from_slice(&body).expect("a 401 body is JSON");
            assert!(
                json["error"].is_string() && json["message"].is_string(),
                "{json}"
            );
        }
    }
});
