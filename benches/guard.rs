//! The guard in-process, side by side with the same handler and no auth: `cargo bench --bench
//! guard`. Each request goes through the service `axum::serve` runs per connection
//! (`GuardedService`), with `tower::ServiceExt::oneshot` on a current-thread runtime.

use std::convert::Infallible;
use std::hint::black_box;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use criterion::{Criterion, criterion_group, criterion_main};
use jwt_router::JwtRoutes;

mod common;
use common::{SECRET, User, expired_token};
use tower::{Service, ServiceExt};

fn request(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut request = Request::builder().uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::empty()).expect("request")
}

/// Times `app` answering `uri` (with `token`), and checks the status once first.
fn case<A>(
    c: &mut Criterion,
    name: &str,
    app: &A,
    uri: &str,
    token: Option<&str>,
    status: StatusCode,
) where
    A: Service<Request<Body>, Response = Response, Error = Infallible> + Clone,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let answer = runtime.block_on(app.clone().oneshot(request(uri, token)));
    assert_eq!(answer.map(|r| r.status()).ok(), Some(status), "{name}");
    c.bench_function(name, |b| {
        b.iter(|| {
            let response = runtime.block_on(app.clone().oneshot(request(uri, token)));
            black_box(response.map(|r| r.status()))
        })
    });
}

fn guard(c: &mut Criterion) {
    let jwt = JwtRoutes::<()>::builder()
        .secret(SECRET)
        .entity::<User>()
        .module(module_path!())
        .build()
        .expect("valid configuration");
    let token = jwt.create_token::<User>(&1).expect("signs");
    let forged = format!("{}x", &token[..token.len() - 1]);
    let expired = expired_token();
    let app = jwt.router(()).into_service();
    let plain = Router::new().route("/x", axum::routing::get(|| async { "x" }));
    let ok = StatusCode::OK;
    let refused = StatusCode::UNAUTHORIZED;
    case(c, "no auth (plain axum)", &plain, "/x", Some(&token), ok);
    case(c, "guarded, valid token", &app, "/x", Some(&token), ok);
    case(
        c,
        "guarded, valid token + entity",
        &app,
        "/me",
        Some(&token),
        ok,
    );
    case(c, "public route, no token", &app, "/p", None, ok);
    case(c, "refused: no token", &app, "/x", None, refused);
    case(
        c,
        "refused: forged signature",
        &app,
        "/x",
        Some(&forged),
        refused,
    );
    case(c, "refused: expired", &app, "/x", Some(&expired), refused);
}

criterion_group!(benches, guard);
criterion_main!(benches);
