//! Helpers of the attack modules: raw token building, the refusal assertion, handlers that
//! record their runs, a real server on 127.0.0.1, and a raw HTTP/1.1 client that sends the
//! request target byte for byte (reqwest would normalize `..`, `//` and some escapes).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::convert::Infallible;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::IncomingStream;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use jwt_router::{Entity, JwtRoutes, StoreError};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::Service;

use crate::common::{Db, Reply, SECRET, User};

/// The header jwt-router itself writes.
pub(crate) const HS256_HEADER: &str = r#"{"typ":"JWT","alg":"HS256"}"#;

/// The guard for the handlers declared in `module`, with `users` registered.
pub(crate) fn jwt_for(module: &str, query_token: bool) -> JwtRoutes<Db> {
    JwtRoutes::builder()
        .secret(SECRET)
        .entity::<User>()
        .query_token(query_token)
        .module(module)
        .build()
        .expect("valid configuration")
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The HS256 signature (base64url) of `input` under `key`.
pub(crate) fn hs256(input: &str, key: &[u8]) -> String {
    jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &EncodingKey::from_secret(key),
        Algorithm::HS256,
    )
    .expect("HMAC signs anything")
}

/// A token from raw JSON texts, so duplicates and odd types survive, HS256-signed with `key`.
pub(crate) fn signed_with(header: &str, claims: &str, key: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let signature = hs256(&input, key);
    format!("{input}.{signature}")
}

/// [`signed_with`] the server's own secret: only the content can be at fault.
pub(crate) fn signed(header: &str, claims: &str) -> String {
    signed_with(header, claims, SECRET.as_bytes())
}

/// Claims that pass: user 1, issued 10 s ago, expiring in an hour.
pub(crate) fn good_claims() -> Value {
    json!({ "sub": "1", "table_name": "users", "iat": now() - 10, "exp": now() + 3600 })
}

/// A valid token for user 1, built by hand (not by the library under test).
pub(crate) fn good_token() -> String {
    signed(HS256_HEADER, &good_claims().to_string())
}

/// The `WWW-Authenticate` value RFC 6750 §3 calls for with each 401 code.
fn challenge_for(code: &str) -> &'static str {
    match code {
        "missing_token" => "Bearer",
        "invalid_request" => "Bearer error=\"invalid_request\"",
        _ => "Bearer error=\"invalid_token\"",
    }
}

/// Asserts a 401 with the JSON body `{"error": code, "message": <non-empty>}` and its challenge.
#[track_caller]
pub(crate) fn assert_refused(reply: &Reply, code: &str, what: &str) {
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::UNAUTHORIZED, code),
        "{what}: body {}",
        reply.body
    );
    assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: no message in {}",
        reply.body
    );
    assert_eq!(reply.challenge(), challenge_for(code), "{what}");
}

/// Asserts the handler answered: 200 and its body.
#[track_caller]
pub(crate) fn assert_served(reply: &Reply, body: &str, what: &str) {
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some(body)),
        "{what}: body {}",
        reply.body
    );
}

/// Runs `check(now)` until the wall clock did not tick to the next second during it, so a
/// boundary computed from `now` is the one the server saw. The caller asserts on the result.
pub(crate) async fn within_one_second<T, F, Fut>(mut check: F) -> T
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = T>,
{
    for _ in 0..20 {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        if since_epoch.subsec_millis() > 700 {
            let to_next = Duration::from_millis(u64::from(1020 - since_epoch.subsec_millis()));
            tokio::time::sleep(to_next).await;
        }
        let before = now();
        let outcome = check(before).await;
        if now() == before {
            return outcome;
        }
    }
    panic!("the clock ticked during every one of 20 attempts");
}

/// Protected handlers count their runs here: it must stay 0 for requests without a valid token.
#[derive(Clone, Default)]
pub(crate) struct Hits(Arc<AtomicUsize>);

impl Hits {
    pub(crate) fn protected(&self, handler: &'static str) -> Response {
        self.0.fetch_add(1, Ordering::SeqCst);
        answer(handler)
    }

    pub(crate) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A handler's answer: its name in the body and in `x-handler`, which HEAD responses keep.
pub(crate) fn answer(handler: &'static str) -> Response {
    ([("x-handler", handler)], handler).into_response()
}

/// The handler that answered a reply, if one did.
pub(crate) fn handler_of(reply: &Reply) -> Option<&str> {
    reply.headers.get("x-handler").and_then(|v| v.to_str().ok())
}

/// An entity whose store is the [`Hits`] state, so tokens in the path tests name a registered
/// table. Every id exists.
#[derive(Debug)]
pub(crate) struct Visitor(pub(crate) u64);

impl Entity for Visitor {
    const TABLE_NAME: &'static str = "visitors";
    type Id = u64;
    type Store = Hits;

    fn id(&self) -> u64 {
        self.0
    }

    async fn load(_: &Hits, id: &u64) -> Result<Option<Self>, StoreError> {
        Ok(Some(Visitor(*id)))
    }
}

/// Serves `app` on 127.0.0.1 with an OS-chosen port, on the current runtime.
pub(crate) async fn serve<M, S>(app: M) -> SocketAddr
where
    M: for<'a> Service<IncomingStream<'a, TcpListener>, Error = Infallible, Response = S>
        + Send
        + 'static,
    for<'a> <M as Service<IncomingStream<'a, TcpListener>>>::Future: Send,
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("server runs");
    });
    addr
}

/// Sends `METHOD target HTTP/1.1` with the target exactly as given, plus `headers`, and reads
/// the whole response (`connection: close`).
pub(crate) async fn raw(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send request");
        let mut bytes = Vec::new();
        // A server that answers a malformed request and closes may reset the connection
        // after its response: keep what was read.
        let _ = stream.read_to_end(&mut bytes).await;
        bytes
    };
    let bytes = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("the server answers within 10 s");
    parse_response(&bytes, method == "HEAD")
}

fn parse_response(bytes: &[u8], head: bool) -> Reply {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(bytes)));
    let head_text = String::from_utf8_lossy(&bytes[..split]);
    let mut lines = head_text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let code = status_line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                HeaderValue::from_str(value.trim()),
            )
        {
            headers.append(name, value);
        }
    }
    let mut body = bytes[split + 4..].to_vec();
    let chunked = headers
        .get(header::TRANSFER_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
    if chunked && !head {
        body = dechunk(&body);
    }
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    Reply {
        status: StatusCode::from_u16(code).expect("status code"),
        headers,
        body,
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size_hex, 16) else {
            break;
        };
        rest = &rest[line_end + 2..];
        if size == 0 || rest.len() < size {
            break;
        }
        out.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
    out
}
