//! One request at a time through each guard's service with `oneshot`, on a current-thread
//! runtime: what the guard itself costs, without sockets.

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::http::{Request, Response, StatusCode, header};
use tokio::runtime::Runtime;
use tower::{Service, ServiceExt};

use crate::Options;
use crate::apps::{self, App};
use crate::counting::allocations;
use crate::report::{Row, Table};

/// How long one case's batch runs in a round.
const BATCH: Duration = Duration::from_millis(20);

/// A request and the answer it must get.
pub struct Case {
    pub name: String,
    pub app: App,
    pub uri: String,
    pub token: Option<String>,
    pub status: StatusCode,
}

impl crate::Named for Case {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Case {
    pub fn new(name: &str, app: App, uri: &str, token: Option<&str>, status: StatusCode) -> Self {
        Case {
            name: name.to_owned(),
            app,
            uri: uri.to_owned(),
            token: token.map(str::to_owned),
            status,
        }
    }

    fn request<B: Default>(&self) -> Request<B> {
        let mut request = Request::builder().uri(&self.uri);
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request.body(B::default()).expect("request")
    }
}

pub fn run(options: &Options) {
    let runtime = runtime();
    let (jwt, token) = apps::jwt_router();
    let peer = apps::peer_token();
    let forged = format!("{}x", &token[..token.len() - 1]);
    let expired = apps::expired_token();
    let big_query = format!("/x?q={}", "a".repeat(60 * 1024));
    let (ok, refused) = (StatusCode::OK, StatusCode::UNAUTHORIZED);
    let guarded = || App::Guarded(jwt.clone());
    #[allow(unused_mut)]
    let mut cases = vec![
        Case::new(
            "no auth (plain axum)",
            App::Axum(apps::plain()),
            "/x",
            Some(&peer),
            ok,
        ),
        Case::new("jwt-router, valid token", guarded(), "/x", Some(&token), ok),
        #[cfg(feature = "verified-cache")]
        Case::new(
            "jwt-router, valid token, verified cache",
            App::Guarded(apps::jwt_router_cached()),
            "/x",
            Some(&token),
            ok,
        ),
        Case::new(
            "jwt-router, valid token + entity",
            guarded(),
            "/me",
            Some(&token),
            ok,
        ),
        Case::new(
            "jwt-router, public route, no token",
            guarded(),
            "/p",
            None,
            ok,
        ),
        Case::new(
            "jwt-router, refused: no token",
            guarded(),
            "/x",
            None,
            refused,
        ),
        Case::new(
            "jwt-router, refused: forged",
            guarded(),
            "/x",
            Some(&forged),
            refused,
        ),
        Case::new(
            "jwt-router, refused: expired",
            guarded(),
            "/x",
            Some(&expired),
            refused,
        ),
        Case::new(
            "no auth, 60 KiB query",
            App::Axum(apps::plain()),
            &big_query,
            None,
            ok,
        ),
        Case::new(
            "jwt-router, refused: no token, 60 KiB query",
            guarded(),
            &big_query,
            None,
            refused,
        ),
        Case::new(
            "hand-written from_fn + jsonwebtoken",
            App::Axum(apps::hand_written()),
            "/x",
            Some(&peer),
            ok,
        ),
    ];
    #[cfg(feature = "peers")]
    cases.extend([
        Case::new(
            "jwt-authorizer 0.15",
            App::Axum07(runtime.block_on(apps::jwt_authorizer())),
            "/x",
            Some(&peer),
            ok,
        ),
        Case::new(
            "axum-jwt-auth 0.7",
            App::Axum(apps::axum_jwt_auth()),
            "/x",
            Some(&peer),
            ok,
        ),
    ]);
    measure(
        "in-process",
        &runtime,
        &options.keep(cases),
        options.rounds.unwrap_or(15),
    )
    .print(options);
}

pub fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

/// Services built once, so the rounds time requests and not router assembly.
enum Ready {
    Axum(axum::Router),
    Guarded(jwt_router::GuardedService),
    #[cfg(feature = "peers")]
    Axum07(axum07::Router),
}

/// Times `cases` in interleaved rounds (each round starts one case later) after checking each
/// answer's status and counting its allocations per request.
pub fn measure(title: &'static str, runtime: &Runtime, cases: &[Case], rounds: usize) -> Table {
    let ready: Vec<Ready> = cases
        .iter()
        .map(|case| match &case.app {
            App::Axum(router) => Ready::Axum(router.clone()),
            App::Guarded(router) => Ready::Guarded(router.clone().into_service()),
            #[cfg(feature = "peers")]
            App::Axum07(router) => Ready::Axum07(router.clone()),
        })
        .collect();
    let mut sizes = Vec::new();
    let mut rows = Vec::new();
    for (case, app) in cases.iter().zip(&ready) {
        let status = runtime.block_on(call(app, case));
        assert_eq!(status, case.status, "{}", case.name);
        let (single, _) = batch(runtime, app, case, 200);
        let (_, counted) = batch(runtime, app, case, 1000);
        let per_request = single.as_secs_f64() / 200.0;
        sizes.push(((BATCH.as_secs_f64() / per_request) as u64).clamp(50, 200_000));
        rows.push(Row {
            name: case.name.clone(),
            samples: Vec::with_capacity(rounds),
            allocations: Some(counted as f64 / 1000.0),
        });
    }
    for round in 0..rounds {
        for offset in 0..cases.len() {
            let i = (round + offset) % cases.len();
            let (elapsed, _) = batch(runtime, &ready[i], &cases[i], sizes[i]);
            rows[i]
                .samples
                .push(elapsed.as_nanos() as f64 / sizes[i] as f64);
        }
    }
    Table {
        title,
        unit: "ns/request",
        rows,
    }
}

/// `n` requests one after the other: the time they took and the allocations they made.
fn batch(runtime: &Runtime, app: &Ready, case: &Case, n: u64) -> (Duration, u64) {
    let allocated = allocations();
    let start = Instant::now();
    for _ in 0..n {
        black_box(runtime.block_on(call(app, case)));
    }
    (start.elapsed(), allocations() - allocated)
}

async fn call(app: &Ready, case: &Case) -> StatusCode {
    match app {
        Ready::Axum(router) => oneshot(router.clone(), case.request::<axum::body::Body>()).await,
        Ready::Guarded(service) => {
            oneshot(service.clone(), case.request::<axum::body::Body>()).await
        }
        #[cfg(feature = "peers")]
        Ready::Axum07(router) => {
            oneshot(router.clone(), case.request::<axum07::body::Body>()).await
        }
    }
}

/// The status of `service`'s answer; the answer is dropped here, as in every row.
async fn oneshot<S, B, R>(service: S, request: Request<B>) -> StatusCode
where
    S: Service<Request<B>, Response = Response<R>, Error = Infallible>,
{
    match service.oneshot(request).await {
        Ok(response) => response.status(),
        Err(never) => match never {},
    }
}
