//! The guard's revocation check, side by side: no session store, the in-memory store, and
//! Redis on loopback (a `redis-server` this bench starts on a free port):
//! `cargo bench --bench sessions --features redis`. Each request is a valid pair's access
//! token on an authed route, through `oneshot` on a current-thread runtime.

use std::hint::black_box;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{Criterion, criterion_group, criterion_main};
use jwt_router::{GuardedRouter, JwtRoutes, MemorySessions, SessionStore};
use tower::ServiceExt;

mod common;
#[path = "../tests/support/redis_server.rs"]
#[allow(dead_code)]
mod redis_server;

use common::{SECRET, User};
use redis_server::RedisServer;

fn app(store: Option<impl SessionStore>) -> (GuardedRouter<()>, String) {
    let builder = JwtRoutes::<()>::builder()
        .secret(SECRET)
        .entity::<User>()
        .module(module_path!());
    let jwt = match store {
        Some(store) => builder.sessions(store),
        None => builder,
    }
    .build()
    .expect("valid configuration");
    let token = jwt.create_token::<User>(&1).expect("signs");
    (jwt.router(()), token)
}

fn request(token: &str) -> Request<Body> {
    Request::get("/x")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request")
}

fn sessions(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let redis = RedisServer::start().expect("redis-server (apt-get install redis-server)");
    let redis_store = || runtime.block_on(redis.store());
    let cached = redis_store().cache_not_revoked(Duration::from_secs(60));
    let cases = [
        ("guard, no session store", app(None::<MemorySessions>)),
        (
            "guard, in-memory sessions",
            app(Some(MemorySessions::new())),
        ),
        ("guard, Redis sessions (loopback)", app(Some(redis_store()))),
        (
            "guard, Redis sessions, not-revoked cache (pub/sub)",
            app(Some(cached)),
        ),
    ];
    for (name, (app, token)) in cases {
        let status = runtime.block_on(app.clone().oneshot(request(&token)));
        assert_eq!(
            status.map(|r| r.status()).ok(),
            Some(StatusCode::OK),
            "{name}"
        );
        c.bench_function(name, |b| {
            b.iter(|| {
                let response = runtime.block_on(app.clone().oneshot(request(&token)));
                black_box(response.map(|r| r.status()))
            })
        });
    }
}

criterion_group!(benches, sessions);
criterion_main!(benches);
