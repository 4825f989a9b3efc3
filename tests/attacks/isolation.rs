//! No state between requests (flask-jwt-router kept per-request state on shared objects and
//! could attach the wrong user): an authenticated request on a kept-alive connection lends
//! nothing to the next one, and concurrent callers each see only their own identity.

use axum::http::StatusCode;
use jwt_router::{Claims, JwtRoutes, authed};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{Db, SECRET, User};
use crate::support::{HS256_HEADER, now, serve, signed};

#[authed(GET, "/whoami")]
async fn whoami(claims: Claims) -> String {
    claims.sub
}

async fn server() -> std::net::SocketAddr {
    let app = JwtRoutes::builder()
        .secret(SECRET)
        .entity::<User>()
        .module(module_path!())
        .build()
        .expect("valid configuration")
        .router(Db::seeded());
    serve(app).await
}

fn token_for_sub(sub: &str) -> String {
    let claims =
        json!({ "sub": sub, "table_name": "users", "iat": now() - 10, "exp": now() + 3600 });
    signed(HS256_HEADER, &claims.to_string())
}

/// The status codes of every response read from one connection, in order.
fn statuses(bytes: &[u8]) -> Vec<u16> {
    let text = String::from_utf8_lossy(bytes);
    text.match_indices("HTTP/1.1 ")
        .filter_map(|(at, _)| text.get(at + 9..at + 12)?.parse().ok())
        .collect()
}

#[tokio::test]
async fn keep_alive_connection_does_not_carry_authentication() {
    let addr = server().await;
    let token = token_for_sub("1");
    let authed =
        format!("GET /whoami HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\r\n");
    let anonymous = "GET /whoami HTTP/1.1\r\nhost: x\r\n\r\n";
    let last = "GET /whoami HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // Pipelined: one write, three requests; only the first carries a token.
    let pipelined = format!("{authed}{anonymous}{last}");
    stream
        .write_all(pipelined.as_bytes())
        .await
        .expect("send requests");
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes).await;
    assert_eq!(statuses(&bytes), [200, 401, 401]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_see_only_their_own_identity() {
    let addr = server().await;
    // One pooled client: connections are reused across callers.
    // With `oidc`, reqwest has rustls but no provider of its own (see the function's docs).
    #[cfg(feature = "oidc")]
    jwt_router::install_default_tls_provider();
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(4)
        .build()
        .expect("client");
    let mut callers = Vec::new();
    for i in 0..200u32 {
        let client = client.clone();
        callers.push(tokio::spawn(async move {
            let sub = i.to_string();
            let mut request = client.get(format!("http://{addr}/whoami"));
            if i % 2 == 0 {
                request = request.bearer_auth(token_for_sub(&sub));
            }
            let response = request.send().await.expect("request");
            let status = response.status();
            let body = response.text().await.expect("body");
            (i, sub, status, body)
        }));
    }
    for caller in callers {
        let (i, sub, status, body) = caller.await.expect("caller task");
        if i % 2 == 0 {
            assert_eq!((status, body.as_str()), (StatusCode::OK, sub.as_str()));
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "caller {i}: {body}");
            assert!(body.contains("missing_token"), "caller {i}: {body}");
        }
    }
}
