//! The cost of a refused request next to an accepted one, measured, never asserted (wall-clock
//! times vary by machine). Run in release mode:
//!
//! ```text
//! cargo test --release --test attacks -- --ignored --nocapture cost_of
//! ```
//!
//! Each case runs in interleaved rounds so drift hits every case alike; the table prints
//! nanoseconds per operation and the ratio to the valid token.

use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, Uri, header};
use jwt_router::{GuardedService, JwtRoutes, authed, public};
use serde_json::json;
use tower::ServiceExt;

use crate::common::{App, Db};
use crate::support::{
    HS256_HEADER, b64, good_claims, good_token, jwt_for, now, signed, signed_with,
};

const ROUNDS: u32 = 10;

#[authed(GET, "/x")]
async fn x() -> &'static str {
    "x"
}

#[public(GET, "/p")]
async fn p() -> &'static str {
    "x"
}

fn jwt(query_token: bool) -> JwtRoutes<Db> {
    jwt_for(module_path!(), query_token)
}

/// The tokens to compare, valid first.
fn tokens() -> Vec<(&'static str, String)> {
    let valid = good_token();
    let parts: Vec<&str> = valid.split('.').collect();
    let forged = signed_with(
        HS256_HEADER,
        &good_claims().to_string(),
        b"another secret of at least 32 bytes!",
    );
    let mut escalated = good_claims();
    escalated["sub"] = json!("2");
    let tampered = format!("{}.{}.{}", parts[0], b64(escalated.to_string()), parts[2]);
    let none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(good_claims().to_string())
    );
    let mut old = good_claims();
    old["exp"] = json!(now() - 60);
    let expired = signed(HS256_HEADER, &old.to_string());
    let garbage: String = (0..300u32)
        .map(|i| char::from(b"AZaz09-_"[(i * 7 % 8) as usize]))
        .collect();
    let dotted_garbage = format!(
        "{}.{}.{}",
        &garbage[..100],
        &garbage[100..200],
        &garbage[200..]
    );
    let big = "A".repeat(64 * 1024);
    let oversized = format!("{big}.{big}.{big}");
    let huge = "A".repeat(1 << 20);
    vec![
        ("valid", valid),
        ("forged signature", forged),
        ("tampered payload", tampered),
        ("alg none", none),
        ("expired (valid signature)", expired),
        ("garbage, no dots (300 B)", garbage),
        ("garbage, 3 segments (300 B)", dotted_garbage),
        ("oversized (192 KiB)", oversized),
        ("oversized (1 MiB, no dots)", huge),
    ]
}

fn per_op(total: Duration, ops: u32) -> f64 {
    total.as_nanos() as f64 / f64::from(ops)
}

fn print_table(title: &str, rows: &[(&str, f64)]) {
    let base = rows[0].1;
    println!("\n{title}");
    println!("{:<32} {:>12} {:>10}", "case", "ns/op", "x valid");
    for (name, ns) in rows {
        println!("{name:<32} {ns:>12.0} {:>10.2}", ns / base);
    }
}

#[test]
#[ignore = "measurement; run in release with --ignored --nocapture"]
fn cost_of_refused_tokens_next_to_a_valid_one() {
    let jwt = jwt(false);
    let cases = tokens();
    for (name, token) in &cases {
        assert_eq!(jwt.verify(token).is_ok(), *name == "valid", "{name}");
    }
    let per_round = 2_000;
    let mut totals = vec![Duration::ZERO; cases.len()];
    for _ in 0..ROUNDS {
        for ((_, token), total) in cases.iter().zip(&mut totals) {
            let start = Instant::now();
            for _ in 0..per_round {
                let _ = black_box(jwt.verify(black_box(token)));
            }
            *total += start.elapsed();
        }
    }
    let rows: Vec<(&str, f64)> = cases
        .iter()
        .zip(&totals)
        .map(|((name, _), total)| (*name, per_op(*total, ROUNDS * per_round)))
        .collect();
    print_table("JwtRoutes::verify", &rows);

    // The whole guard, through the router. URI and header value are built once and cloned
    // per request (both are reference-counted), so the loop times the router and the guard.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let header_app = jwt.router(Db::default());
    let query_app = self::jwt(true).router(Db::default());
    let bearer = |token: &str| HeaderValue::try_from(format!("Bearer {token}")).expect("header");
    let uri = |text: &str| text.parse::<Uri>().expect("uri");
    let query_oversized = "A".repeat(60 * 1024);
    let encoded_oversized = "%41".repeat(20 * 1024);
    // The same handler with no guard at all: what "as fast as no auth" is measured against.
    let unguarded = Router::new().route("/x", axum::routing::get(|| async { "x" }));
    // What `axum::serve` runs per connection: the assembled service, cloned per request.
    let header_app = header_app.into_service();
    let query_app = query_app.into_service();
    let header_app = Target::Guarded(&header_app);
    let query_app = Target::Guarded(&query_app);
    let requests: Vec<(&str, Target, Uri, Option<HeaderValue>)> = vec![
        ("valid", header_app, uri("/x"), Some(bearer(&cases[0].1))),
        (
            "no guard at all, valid header",
            Target::Plain(&unguarded),
            uri("/x"),
            Some(bearer(&cases[0].1)),
        ),
        ("public route, no token", header_app, uri("/p"), None),
        (
            "forged signature",
            header_app,
            uri("/x"),
            Some(bearer(&cases[1].1)),
        ),
        ("no token", header_app, uri("/x"), None),
        (
            "garbage, no dots",
            header_app,
            uri("/x"),
            Some(bearer(&cases[5].1)),
        ),
        (
            "oversized header (192 KiB)",
            header_app,
            uri("/x"),
            Some(bearer(&cases[7].1)),
        ),
        (
            "oversized query (60 KiB)",
            query_app,
            uri(&format!("/x?auth={query_oversized}")),
            None,
        ),
        (
            "oversized query, %-encoded (60 KiB)",
            query_app,
            uri(&format!("/x?auth={encoded_oversized}")),
            None,
        ),
    ];
    let per_round = 500;
    let mut totals = vec![Duration::ZERO; requests.len()];
    for _ in 0..ROUNDS {
        for ((_, app, uri, authorization), total) in requests.iter().zip(&mut totals) {
            let start = Instant::now();
            runtime.block_on(async {
                match app {
                    Target::Plain(app) => run(*app, uri, authorization, per_round).await,
                    Target::Guarded(app) => run(*app, uri, authorization, per_round).await,
                }
            });
            *total += start.elapsed();
        }
    }
    let rows: Vec<(&str, f64)> = requests
        .iter()
        .zip(&totals)
        .map(|((name, ..), total)| (*name, per_op(*total, ROUNDS * per_round)))
        .collect();
    print_table("guarded router (oneshot)", &rows);
}

/// A router under measurement: plain axum, or jwt-router's.
#[derive(Clone, Copy)]
enum Target<'a> {
    Plain(&'a Router),
    Guarded(&'a GuardedService),
}

/// Sends `count` GETs of `uri` (with `authorization`, if any) to `app`, one after another.
async fn run(app: &impl App, uri: &Uri, authorization: &Option<HeaderValue>, count: u32) {
    for _ in 0..count {
        let mut request = Request::builder().uri(uri.clone());
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value.clone());
        }
        let request = request.body(Body::empty()).expect("request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        black_box(response.status() == StatusCode::OK);
    }
}
