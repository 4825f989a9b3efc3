//! Each app served by `axum::serve` on its own 127.0.0.1 port, loaded in turn by a client of
//! `CONNECTIONS` keep-alive HTTP/1.1 connections: requests answered per second, server and
//! client sharing the machine as they do in every row.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::Options;
use crate::apps::{self, App};
use crate::report::{Row, Table};

const CONNECTIONS: usize = 16;

impl crate::Named for Target {
    fn name(&self) -> &str {
        self.name
    }
}

struct Target {
    name: &'static str,
    addr: SocketAddr,
    path: &'static str,
    token: Option<String>,
}

pub fn run(options: &Options) {
    // One worker serves, the client runs on the main thread: two cores, one each.
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let (jwt, token) = apps::jwt_router();
    let peer = apps::peer_token();
    #[allow(unused_mut)]
    let mut apps = vec![
        (
            "no auth (plain axum)",
            App::Axum(apps::plain()),
            "/x",
            Some(peer.clone()),
        ),
        (
            "jwt-router, valid token",
            App::Guarded(jwt.clone()),
            "/x",
            Some(token.clone()),
        ),
        #[cfg(feature = "verified-cache")]
        (
            "jwt-router, valid token, verified cache",
            App::Guarded(apps::jwt_router_cached()),
            "/x",
            Some(token.clone()),
        ),
        (
            "jwt-router, public route, no token",
            App::Guarded(jwt),
            "/p",
            None,
        ),
        (
            "hand-written from_fn + jsonwebtoken",
            App::Axum(apps::hand_written()),
            "/x",
            Some(peer.clone()),
        ),
    ];
    #[cfg(feature = "peers")]
    apps.extend([
        (
            "jwt-authorizer 0.15",
            App::Axum07(server.block_on(apps::jwt_authorizer())),
            "/x",
            Some(peer.clone()),
        ),
        (
            "axum-jwt-auth 0.7",
            App::Axum(apps::axum_jwt_auth()),
            "/x",
            Some(peer),
        ),
    ]);
    let targets: Vec<Target> = apps
        .into_iter()
        .map(|(name, app, path, token)| {
            let listener = server
                .block_on(TcpListener::bind("127.0.0.1:0"))
                .expect("a loopback port");
            let addr = listener.local_addr().expect("bound address");
            server.spawn(async move {
                let served = match app {
                    App::Axum(router) => axum::serve(listener, router).await,
                    App::Guarded(router) => axum::serve(listener, router).await,
                    #[cfg(feature = "peers")]
                    App::Axum07(router) => axum07::serve(listener, router).await,
                };
                served.expect("serves");
            });
            Target {
                name,
                addr,
                path,
                token,
            }
        })
        .collect();
    let targets = options.keep(targets);
    let rounds = options.rounds.unwrap_or(5);
    let duration = Duration::from_secs_f64(options.seconds);
    let mut rows: Vec<Row> = targets
        .iter()
        .map(|target| Row {
            name: target.name.to_owned(),
            samples: Vec::with_capacity(rounds),
            allocations: None,
        })
        .collect();
    for round in 0..rounds {
        for offset in 0..targets.len() {
            let i = (round + offset) % targets.len();
            let done = client.block_on(load(&targets[i], duration));
            rows[i].samples.push(done as f64 / duration.as_secs_f64());
        }
    }
    Table {
        title: "loopback",
        unit: "requests/s",
        rows,
    }
    .print(options);
}

/// Requests answered 200 by `target` within `duration`, over `CONNECTIONS` connections.
async fn load(target: &Target, duration: Duration) -> u64 {
    let deadline = Instant::now() + duration;
    let mut connections = JoinSet::new();
    for _ in 0..CONNECTIONS {
        let (addr, path, token) = (target.addr, target.path, target.token.clone());
        connections.spawn(async move {
            let stream = TcpStream::connect(addr).await.expect("connects");
            stream.set_nodelay(true).expect("TCP_NODELAY");
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .expect("HTTP/1.1 handshake");
            tokio::spawn(connection);
            let mut done = 0u64;
            while Instant::now() < deadline {
                let mut request = Request::get(path).header(header::HOST, "127.0.0.1");
                if let Some(token) = &token {
                    request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
                }
                let request = request.body(Empty::<Bytes>::new()).expect("request");
                let response = sender.send_request(request).await.expect("an answer");
                assert_eq!(response.status(), StatusCode::OK, "{path}");
                response.into_body().collect().await.expect("the body");
                done += 1;
            }
            done
        });
    }
    connections.join_all().await.into_iter().sum()
}
