//! End-to-end tests of the bookstore example, one per behaviour of its HTTP contract (README):
//! the app's own code, run in-process on `127.0.0.1:0` with a temporary SQLite file, driven over
//! real HTTP. `tests/bookstore_postgres.rs` runs this whole suite again on PostgreSQL.

#[path = "../examples/bookstore/app/mod.rs"]
mod app;
#[path = "support/bookstore.rs"]
mod fixture;
#[path = "support/postgres_server.rs"]
mod postgres_server;
#[cfg(feature = "redis")]
#[allow(dead_code)]
#[path = "support/redis_server.rs"]
mod redis_server;

use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tracing_subscriber::EnvFilter;

use fixture::{ADMIN_EMAIL, PASSWORD, SECRET, TempDb};

/// The app serving one database on an ephemeral port.
struct Server {
    base: String,
    client: Client,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), app::Error>>,
}

impl Server {
    async fn start(config: app::Config) -> Self {
        logs();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app::serve(config, listener, async {
            let _ = stopped.await;
        }));
        let server = Self {
            base,
            client: client(),
            stop: Some(stop),
            task,
        };
        // `serve` migrates before it accepts; the listener is bound, so this waits for it.
        let health = server.get("/health", None).await;
        assert_eq!(health.status, StatusCode::OK, "{health:?}");
        server
    }

    /// Graceful shutdown; panics if the app stopped with an error.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task)
            .await
            .expect("the server task")
            .expect("the server stops cleanly");
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `127.0.0.1:port`.
    fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// A connection of its own, for what a client library hides (timeouts, `100 Continue`).
    async fn raw(&self) -> Raw {
        Raw(tokio::net::TcpStream::connect(self.addr())
            .await
            .expect("connect"))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = self.request(method, path, token);
        if let Some(body) = body {
            request = request.json(body);
        }
        Answer::from(request.send().await.expect("the request gets an answer")).await
    }

    /// A request to `path`, with `token` as a bearer token if given.
    fn request(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.send(Method::GET, path, token, None).await
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.send(Method::POST, path, token, Some(&body)).await
    }

    /// Sends `body` as it is, with a JSON content type.
    async fn post_raw(&self, path: &str, token: Option<&str>, body: impl Into<String>) -> Answer {
        let request = self
            .request(Method::POST, path, token)
            .header(CONTENT_TYPE, "application/json")
            .body(body.into());
        Answer::from(request.send().await.expect("the request gets an answer")).await
    }

    /// Registers a user with [`PASSWORD`]; their id and token.
    async fn user(&self, name: &str, email: &str) -> (i64, String) {
        let answer = self
            .post(
                "/api/v1/users",
                None,
                json!({ "name": name, "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
        (
            answer.body["data"]["id"].as_i64().expect("id"),
            answer.token(),
        )
    }

    /// Registers a teacher with [`PASSWORD`]; their token.
    async fn teacher(&self, name: &str, email: &str) -> String {
        let answer = self
            .post(
                "/api/v1/teachers",
                None,
                json!({ "name": name, "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
        answer.token()
    }

    /// Creates a book for `token`'s user; the book as answered.
    async fn book(&self, token: &str, title: &str) -> Value {
        let answer = self
            .post(
                "/api/v1/books",
                Some(token),
                json!({ "title": title, "author": "Anon" }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
        answer.body["data"].clone()
    }
}

fn client() -> Client {
    // With `oidc`, reqwest has rustls but no provider of its own (see the function's docs).
    #[cfg(feature = "oidc")]
    jwt_router::install_default_tls_provider();
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a reqwest client")
}

/// A response, read whole: status, headers, and the body as JSON (`Null` if it isn't JSON).
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
    body: Value,
}

impl Answer {
    async fn from(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a readable body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            text,
            body,
        }
    }

    /// A response as the raw connection read it: status line, headers, body.
    fn parse(raw: &str) -> Self {
        let (head, text) = raw.split_once("\r\n\r\n").expect("a response head");
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("a status line in {raw:?}"));
        let mut headers = HeaderMap::new();
        for line in lines {
            let (name, value) = line.split_once(':').expect("a header line");
            headers.append(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                value.trim().parse().expect("a header value"),
            );
        }
        Self {
            status,
            headers,
            text: text.to_owned(),
            body: serde_json::from_str(text).unwrap_or(Value::Null),
        }
    }

    fn token(&self) -> String {
        self.body["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token in {self:?}"))
            .to_owned()
    }

    /// Asserts the contract's error shape: this status, this code, a message.
    #[track_caller]
    fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.body["error"], code, "{self:?}");
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{self:?}"
        );
        assert_eq!(self.body.as_object().map(|o| o.len()), Some(2), "{self:?}");
        assert_eq!(self.headers[CONTENT_TYPE], "application/json", "{self:?}");
    }

    fn www_authenticate(&self) -> &str {
        self.headers
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A connection written and read byte for byte.
struct Raw(tokio::net::TcpStream);

impl Raw {
    async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.0.write_all(bytes.as_ref()).await.expect("write");
    }

    /// `GET path` on this connection, kept alive.
    async fn get(&mut self, path: &str) -> Answer {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: bookstore\r\n\r\n"))
            .await;
        self.answer().await
    }

    /// Reads one response (its head, then `Content-Length` bytes of body), within 10 s.
    async fn answer(&mut self) -> Answer {
        let mut bytes = Vec::new();
        let read = async {
            loop {
                if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&bytes[..end]).to_lowercase();
                    let length = head
                        .lines()
                        .find_map(|line| line.strip_prefix("content-length:"))
                        .map_or(0, |n| n.trim().parse().expect("a content length"));
                    if bytes.len() >= end + 4 + length {
                        return;
                    }
                }
                let mut chunk = [0; 4096];
                let n = self.0.read(&mut chunk).await.expect("read");
                assert!(
                    n > 0,
                    "closed mid-response: {:?}",
                    String::from_utf8_lossy(&bytes)
                );
                bytes.extend_from_slice(&chunk[..n]);
            }
        };
        tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("an answer within 10 s");
        Answer::parse(&String::from_utf8_lossy(&bytes))
    }

    /// Whether the server closes this connection within 5 s, having sent nothing more.
    async fn closes(&mut self) -> bool {
        let mut chunk = [0; 1024];
        match tokio::time::timeout(Duration::from_secs(5), self.0.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => true,
            Ok(Ok(n)) => panic!(
                "unexpected bytes: {:?}",
                String::from_utf8_lossy(&chunk[..n])
            ),
            Err(_) => false,
        }
    }
}

/// A database for one test: SQLite here, PostgreSQL when this suite runs as
/// `bookstore_postgres`.
fn temp_db() -> TempDb {
    if env!("CARGO_CRATE_NAME") == "bookstore_postgres" {
        TempDb::postgres()
    } else {
        TempDb::new()
    }
}

async fn start() -> (TempDb, Server) {
    let db = temp_db();
    let server = Server::start(db.config()).await;
    (db, server)
}

/// No answer may carry a password or its hash.
#[track_caller]
fn assert_no_secrets(answer: &Answer) {
    assert!(!answer.text.contains(PASSWORD), "{answer:?}");
    assert!(!answer.text.contains("$argon2"), "{answer:?}");
    assert!(!answer.text.contains("password"), "{answer:?}");
}

// ---------------------------------------------------------------------------------------------
// Ignored routes

#[tokio::test]
async fn home_page_is_html_without_a_token() {
    let (_db, server) = start().await;
    let answer = server.get("/", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.headers[CONTENT_TYPE]
            .to_str()
            .is_ok_and(|ct| ct.starts_with("text/html")),
        "{answer:?}"
    );
    assert!(answer.text.contains("<h1>Bookstore</h1>"), "{answer:?}");
}

#[tokio::test]
async fn health_is_ok_without_a_token() {
    let (_db, server) = start().await;
    let answer = server.get("/health", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, json!({ "status": "ok" }));
}

#[tokio::test]
async fn ignored_routes_do_not_look_at_a_bad_token() {
    let (_db, server) = start().await;
    let answer = server.get("/health", Some("not.a.token")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, json!({ "status": "ok" }));
}

// ---------------------------------------------------------------------------------------------
// Users: register and log in

#[tokio::test]
async fn register_user_is_201_with_the_user_and_a_token() {
    let (_db, server) = start().await;
    let answer = server
        .post(
            "/api/v1/users",
            None,
            json!({ "name": " Ann ", "email": " Ann@Example.COM ", "password": PASSWORD }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    assert_eq!(
        answer.body["data"],
        json!({ "id": 1, "name": "Ann", "email": "ann@example.com", "admin": false })
    );
    assert_no_secrets(&answer);
    let me = server.get("/api/v1/users/me", Some(&answer.token())).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
}

#[tokio::test]
async fn register_with_a_taken_email_is_409() {
    let (_db, server) = start().await;
    server.user("Ann", "ann@example.com").await;
    let answer = server
        .post(
            "/api/v1/users",
            None,
            json!({ "name": "Other Ann", "email": "ANN@example.com", "password": PASSWORD }),
        )
        .await;
    answer.assert_error(StatusCode::CONFLICT, "email_taken");
}

#[tokio::test]
async fn register_with_malformed_json_is_400() {
    let (_db, server) = start().await;
    let answer = server
        .post_raw("/api/v1/users", None, r#"{"name": "Ann", "#)
        .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "invalid_json");
}

#[tokio::test]
async fn register_without_a_json_content_type_is_400() {
    let (_db, server) = start().await;
    let answer = Answer::from(
        server
            .client
            .post(server.url("/api/v1/users"))
            .body(r#"{"name":"Ann","email":"ann@example.com","password":"long enough"}"#)
            .send()
            .await
            .expect("an answer"),
    )
    .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "invalid_json");
}

#[tokio::test]
async fn register_with_wrong_types_is_400() {
    let (_db, server) = start().await;
    let answer = server
        .post(
            "/api/v1/users",
            None,
            json!({ "name": 42, "email": "ann@example.com", "password": PASSWORD }),
        )
        .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "invalid_body");
    assert!(
        answer.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("name"))
    );
}

#[tokio::test]
async fn register_with_a_missing_field_is_400() {
    let (_db, server) = start().await;
    let answer = server
        .post(
            "/api/v1/users",
            None,
            json!({ "name": "Ann", "password": PASSWORD }),
        )
        .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "invalid_body");
    assert!(
        answer.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("email"))
    );
}

#[tokio::test]
async fn register_with_invalid_fields_is_400() {
    let (_db, server) = start().await;
    for (body, field) in [
        (
            json!({ "name": "  ", "email": "ann@example.com", "password": PASSWORD }),
            "name",
        ),
        (
            json!({ "name": "Ann", "email": "no-at-sign", "password": PASSWORD }),
            "email",
        ),
        (
            json!({ "name": "Ann", "email": "ann@example.com", "password": "short" }),
            "password",
        ),
    ] {
        let answer = server.post("/api/v1/users", None, body).await;
        answer.assert_error(StatusCode::BAD_REQUEST, "invalid_field");
        assert!(
            answer.body["message"]
                .as_str()
                .is_some_and(|m| m.contains(field)),
            "{answer:?}"
        );
    }
}

/// PostgreSQL can't store a NUL, SQLite could: both engines refuse control characters alike.
#[tokio::test]
async fn control_characters_in_text_fields_are_400_and_line_breaks_in_a_description_are_kept() {
    let (_db, server) = start().await;
    let answer = server
        .post(
            "/api/v1/users",
            None,
            json!({ "name": "A\u{0}nn", "email": "ann@example.com", "password": PASSWORD }),
        )
        .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "invalid_field");
    let (_, token) = server.user("Ann", "ann@example.com").await;
    for book in [
        json!({ "title": "Em\u{0}ma", "author": "Austen" }),
        json!({ "title": "Emma", "author": "Aus\u{1b}ten" }),
        json!({ "title": "Emma", "author": "Austen", "description": "a\u{0}b" }),
    ] {
        let answer = server.post("/api/v1/books", Some(&token), book).await;
        answer.assert_error(StatusCode::BAD_REQUEST, "invalid_field");
    }
    let book = json!({ "title": "Emma", "author": "Austen", "description": "one\ntwo\tthree" });
    let answer = server.post("/api/v1/books", Some(&token), book).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    assert_eq!(answer.body["data"]["description"], "one\ntwo\tthree");
}

#[tokio::test]
async fn register_with_a_body_over_1_mib_is_413() {
    let (_db, server) = start().await;
    let name = "x".repeat(1024 * 1024);
    let answer = server
        .post(
            "/api/v1/users",
            None,
            json!({ "name": name, "email": "ann@example.com", "password": PASSWORD }),
        )
        .await;
    answer.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[tokio::test]
async fn content_length_over_1_mib_is_413_at_once_without_100_continue() {
    let (_db, server) = start().await;
    let mut raw = server.raw().await;
    // The head only: an answer proves the body was not waited for.
    raw.send(
        "POST /api/v1/users HTTP/1.1\r\nHost: bookstore\r\nContent-Type: application/json\r\n\
         Content-Length: 1048577\r\nExpect: 100-continue\r\n\r\n",
    )
    .await;
    let answer = raw.answer().await;
    answer.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[tokio::test]
async fn chunked_body_over_1_mib_is_413() {
    let (_db, server) = start().await;
    let mut raw = server.raw().await;
    raw.send(
        "POST /api/v1/users HTTP/1.1\r\nHost: bookstore\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
    )
    .await;
    let chunk = "x".repeat(64 * 1024);
    let mut sent = 0;
    while sent <= 1024 * 1024 {
        // The server may answer and stop reading once the limit is passed.
        if raw
            .0
            .write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes())
            .await
            .is_err()
        {
            break;
        }
        sent += chunk.len();
    }
    let answer = raw.answer().await;
    answer.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

/// Emails that look like `ann@example.com` but aren't: a control character, or an invisible
/// formatting one (zero-width space and joiner, byte order mark, right-to-left override).
const HIDDEN_CHARACTER_EMAILS: [&str; 6] = [
    "ann\u{0}@example.com",
    "ann@exa\u{7f}mple.com",
    "an\u{200b}n@example.com",
    "ann\u{200d}@example.com",
    "\u{feff}ann@example.com",
    "ann@\u{202e}moc.elpmaxe",
];

#[tokio::test]
async fn register_with_hidden_characters_in_the_email_is_400() {
    let (_db, server) = start().await;
    for path in ["/api/v1/users", "/api/v1/teachers"] {
        for email in HIDDEN_CHARACTER_EMAILS {
            let answer = server
                .post(
                    path,
                    None,
                    json!({ "name": "Ann", "email": email, "password": PASSWORD }),
                )
                .await;
            answer.assert_error(StatusCode::BAD_REQUEST, "invalid_field");
            assert!(
                answer.body["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("email")),
                "{answer:?}"
            );
        }
    }
}

#[tokio::test]
async fn login_with_hidden_characters_in_the_email_is_400() {
    let (_db, server) = start().await;
    server.user("Ann", "ann@example.com").await;
    server.teacher("Ann", "ann@example.com").await;
    for path in ["/api/v1/users/login", "/api/v1/teachers/login"] {
        for email in HIDDEN_CHARACTER_EMAILS {
            let answer = server
                .post(path, None, json!({ "email": email, "password": PASSWORD }))
                .await;
            answer.assert_error(StatusCode::BAD_REQUEST, "invalid_field");
        }
        // The same email, trimmed and in another case, is the account's.
        let answer = server
            .post(
                path,
                None,
                json!({ "email": "\t ANN@Example.com \n", "password": PASSWORD }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        assert!(answer.body["token"].is_string(), "{answer:?}");
    }
}

#[tokio::test]
async fn login_returns_a_token_that_works() {
    let (_db, server) = start().await;
    let (id, _) = server.user("Ann", "ann@example.com").await;
    let answer = server
        .post(
            "/api/v1/users/login",
            None,
            json!({ "email": "Ann@Example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let mut fields: Vec<&String> = answer.body.as_object().expect("object").keys().collect();
    fields.sort();
    assert_eq!(fields, ["refresh_token", "token"], "{answer:?}");
    let me = server.get("/api/v1/users/me", Some(&answer.token())).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    assert_eq!(me.body["data"]["id"], id);
}

#[tokio::test]
async fn login_with_a_wrong_password_or_unknown_email_is_401() {
    let (_db, server) = start().await;
    server.user("Ann", "ann@example.com").await;
    for body in [
        json!({ "email": "ann@example.com", "password": "wrong password" }),
        json!({ "email": "nobody@example.com", "password": PASSWORD }),
    ] {
        let answer = server.post("/api/v1/users/login", None, body).await;
        answer.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
        assert_eq!(answer.www_authenticate(), "Bearer");
    }
}

#[tokio::test]
async fn login_with_a_missing_field_is_400() {
    let (_db, server) = start().await;
    let answer = server
        .post(
            "/api/v1/users/login",
            None,
            json!({ "email": "ann@example.com" }),
        )
        .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "invalid_body");
}

#[tokio::test]
async fn tokens_carry_the_contract_claims() {
    let (_db, server) = start().await;
    let (id, token) = server.user("Ann", "ann@example.com").await;
    // Read independently of jwt-router: HS256 with the server's secret.
    let claims = jsonwebtoken::decode::<serde_json::Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_secret(SECRET),
        &jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256),
    )
    .expect("the token verifies")
    .claims;
    assert_eq!(claims["sub"], id.to_string());
    assert_eq!(claims["table_name"], "users");
    // Once refresh exists, access tokens live JWT_EXPIRE_MINUTES (15); refresh tokens
    // JWT_EXPIRE_DAYS (30).
    let lifetime = |claims: &Value| {
        let (iat, exp) = (claims["iat"].as_u64(), claims["exp"].as_u64());
        exp.zip(iat).map(|(exp, iat)| exp - iat)
    };
    assert_eq!(lifetime(&claims), Some(15 * 60));
    let login = server
        .post(
            "/api/v1/users/login",
            None,
            json!({ "email": "ann@example.com", "password": PASSWORD }),
        )
        .await;
    let refresh = login.body["refresh_token"].as_str().expect("refresh token");
    let refresh = jsonwebtoken::decode::<Value>(
        refresh,
        &jsonwebtoken::DecodingKey::from_secret(SECRET),
        &jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256),
    )
    .expect("the refresh token verifies")
    .claims;
    assert_eq!(lifetime(&refresh), Some(30 * 24 * 60 * 60));
}

// ---------------------------------------------------------------------------------------------
// Users: their own account

#[tokio::test]
async fn me_returns_the_user_and_a_refreshed_token() {
    let (_db, server) = start().await;
    let (id, token) = server.user("Ann", "ann@example.com").await;
    let answer = server.get("/api/v1/users/me", Some(&token)).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(
        answer.body["data"],
        json!({ "id": id, "name": "Ann", "email": "ann@example.com", "admin": false })
    );
    assert_no_secrets(&answer);
    let refreshed = answer.token();
    let books = server.get("/api/v1/books", Some(&refreshed)).await;
    assert_eq!(books.status, StatusCode::OK, "{books:?}");
}

#[tokio::test]
async fn me_without_a_token_is_401_with_a_bearer_challenge() {
    let (_db, server) = start().await;
    let answer = server.get("/api/v1/users/me", None).await;
    answer.assert_error(StatusCode::UNAUTHORIZED, "missing_token");
    assert_eq!(answer.www_authenticate(), "Bearer");
}

#[tokio::test]
async fn me_with_a_forged_token_is_401_invalid_token() {
    let (_db, server) = start().await;
    let (_, token) = server.user("Ann", "ann@example.com").await;
    let (unsigned, _) = token.rsplit_once('.').expect("a JWT");
    let forged = format!("{unsigned}.c2lnbmVkIGJ5IHNvbWVvbmUgZWxzZQ");
    for bad in [forged.as_str(), "not-a-jwt"] {
        let answer = server.get("/api/v1/users/me", Some(bad)).await;
        answer.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
        assert!(
            answer.www_authenticate().starts_with("Bearer")
                && answer
                    .www_authenticate()
                    .contains(r#"error="invalid_token""#),
            "{answer:?}"
        );
    }
}

#[tokio::test]
async fn token_in_the_auth_query_parameter_is_accepted() {
    let (_db, server) = start().await;
    let (id, token) = server.user("Ann", "ann@example.com").await;
    let answer = server
        .get(&format!("/api/v1/users/me?auth={token}"), None)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer.body["data"]["id"], id);
    let bad = server.get("/api/v1/users/me?auth=not-a-jwt", None).await;
    bad.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
}

#[tokio::test]
async fn patch_me_renames_the_user() {
    let (_db, server) = start().await;
    let (id, token) = server.user("Ann", "ann@example.com").await;
    let body = json!({ "name": "Ann B." });
    let answer = server
        .send(Method::PATCH, "/api/v1/users/me", Some(&token), Some(&body))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(
        answer.body,
        json!({ "data": { "id": id, "name": "Ann B.", "email": "ann@example.com", "admin": false } })
    );
    let me = server.get("/api/v1/users/me", Some(&token)).await;
    assert_eq!(me.body["data"]["name"], "Ann B.");
}

#[tokio::test]
async fn patch_me_without_a_name_is_400() {
    let (_db, server) = start().await;
    let (_, token) = server.user("Ann", "ann@example.com").await;
    for (body, code) in [
        (json!({}), "invalid_body"),
        (json!({ "name": "" }), "invalid_field"),
    ] {
        let answer = server
            .send(Method::PATCH, "/api/v1/users/me", Some(&token), Some(&body))
            .await;
        answer.assert_error(StatusCode::BAD_REQUEST, code);
    }
}

#[tokio::test]
async fn delete_me_disables_the_account_and_its_tokens_get_403() {
    let (_db, server) = start().await;
    let (_, token) = server.user("Ann", "ann@example.com").await;
    let answer = server
        .send(Method::DELETE, "/api/v1/users/me", Some(&token), None)
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{answer:?}");
    assert_eq!(answer.text, "");

    let me = server.get("/api/v1/users/me", Some(&token)).await;
    me.assert_error(StatusCode::FORBIDDEN, "account_disabled");
    let books = server.get("/api/v1/books", Some(&token)).await;
    books.assert_error(StatusCode::FORBIDDEN, "account_disabled");
    let login = server
        .post(
            "/api/v1/users/login",
            None,
            json!({ "email": "ann@example.com", "password": PASSWORD }),
        )
        .await;
    login.assert_error(StatusCode::FORBIDDEN, "account_disabled");
    let again = server
        .post(
            "/api/v1/users",
            None,
            json!({ "name": "Ann", "email": "ann@example.com", "password": PASSWORD }),
        )
        .await;
    again.assert_error(StatusCode::CONFLICT, "email_taken");
}

#[tokio::test]
async fn list_users_is_200_for_the_admin() {
    let (_db, server) = start().await;
    let (ann, _) = server.user("Ann", "ann@example.com").await;
    let answer = server
        .post(
            "/api/v1/users",
            None,
            json!({ "name": "Boss", "email": "Admin@Example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    assert_eq!(answer.body["data"]["admin"], true);
    let boss = answer.body["data"]["id"].clone();

    let list = server.get("/api/v1/users", Some(&answer.token())).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(
        list.body,
        json!({ "data": [
            { "id": ann, "name": "Ann", "email": "ann@example.com", "admin": false },
            { "id": boss, "name": "Boss", "email": ADMIN_EMAIL, "admin": true },
        ] })
    );
    assert_no_secrets(&list);
}

#[tokio::test]
async fn list_users_is_403_for_a_non_admin() {
    let (_db, server) = start().await;
    let (_, token) = server.user("Ann", "ann@example.com").await;
    let answer = server.get("/api/v1/users", Some(&token)).await;
    answer.assert_error(StatusCode::FORBIDDEN, "insufficient_scope");
    assert_eq!(
        answer.headers[WWW_AUTHENTICATE],
        "Bearer error=\"insufficient_scope\", scope=\"admin\""
    );
}

#[tokio::test]
async fn the_admin_role_comes_with_a_login_token_and_its_renewal() {
    let (_db, server) = start().await;
    let body = json!({ "name": "Boss", "email": ADMIN_EMAIL, "password": PASSWORD });
    let registered = server.post("/api/v1/users", None, body).await;
    assert_eq!(registered.status, StatusCode::CREATED, "{registered:?}");
    let body = json!({ "email": ADMIN_EMAIL, "password": PASSWORD });
    let login = server.post("/api/v1/users/login", None, body).await;
    assert_eq!(login.status, StatusCode::OK, "{login:?}");
    let me = server.get("/api/v1/users/me", Some(&login.token())).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    for token in [login.token(), me.token()] {
        let list = server.get("/api/v1/users", Some(&token)).await;
        assert_eq!(list.status, StatusCode::OK, "{list:?}");
        assert_eq!(list.body["data"][0]["email"], ADMIN_EMAIL);
    }
}

#[tokio::test]
async fn a_teacher_token_on_the_users_list_is_403_wrong_entity() {
    let (_db, server) = start().await;
    let token = server.teacher("Tess", "tess@example.com").await;
    let answer = server.get("/api/v1/users", Some(&token)).await;
    answer.assert_error(StatusCode::FORBIDDEN, "wrong_entity");
}

// ---------------------------------------------------------------------------------------------
// Teachers

#[tokio::test]
async fn teacher_registers_logs_in_and_sees_themself() {
    let (_db, server) = start().await;
    let answer = server
        .post(
            "/api/v1/teachers",
            None,
            json!({ "name": "Tess", "email": "tess@school.org", "password": PASSWORD }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    assert_eq!(
        answer.body["data"],
        json!({ "id": 1, "name": "Tess", "email": "tess@school.org" })
    );
    assert_no_secrets(&answer);

    let login = server
        .post(
            "/api/v1/teachers/login",
            None,
            json!({ "email": "tess@school.org", "password": PASSWORD }),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{login:?}");
    let me = server
        .get("/api/v1/teachers/me", Some(&login.token()))
        .await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    assert_eq!(
        me.body,
        json!({ "data": { "id": 1, "name": "Tess", "email": "tess@school.org" } })
    );
}

#[tokio::test]
async fn teacher_register_with_a_taken_email_is_409_and_bad_body_400() {
    let (_db, server) = start().await;
    server.teacher("Tess", "tess@school.org").await;
    let taken = server
        .post(
            "/api/v1/teachers",
            None,
            json!({ "name": "Tess", "email": "tess@school.org", "password": PASSWORD }),
        )
        .await;
    taken.assert_error(StatusCode::CONFLICT, "email_taken");
    let bad = server
        .post("/api/v1/teachers", None, json!({ "name": "Tess" }))
        .await;
    bad.assert_error(StatusCode::BAD_REQUEST, "invalid_body");
}

#[tokio::test]
async fn teacher_login_with_a_wrong_password_is_401() {
    let (_db, server) = start().await;
    server.teacher("Tess", "tess@school.org").await;
    let answer = server
        .post(
            "/api/v1/teachers/login",
            None,
            json!({ "email": "tess@school.org", "password": "wrong password" }),
        )
        .await;
    answer.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
}

#[tokio::test]
async fn users_token_on_a_teachers_route_is_403() {
    let (_db, server) = start().await;
    let (_, token) = server.user("Ann", "ann@example.com").await;
    let answer = server.get("/api/v1/teachers/me", Some(&token)).await;
    answer.assert_error(StatusCode::FORBIDDEN, "wrong_entity");
}

#[tokio::test]
async fn teachers_token_on_a_users_route_is_403() {
    let (_db, server) = start().await;
    let token = server.teacher("Tess", "tess@school.org").await;
    for path in ["/api/v1/users/me", "/api/v1/books"] {
        let answer = server.get(path, Some(&token)).await;
        answer.assert_error(StatusCode::FORBIDDEN, "wrong_entity");
    }
}

// ---------------------------------------------------------------------------------------------
// Books

#[tokio::test]
async fn book_is_created_listed_shown_replaced_and_deleted() {
    let (_db, server) = start().await;
    let (ann, token) = server.user("Ann", "ann@example.com").await;
    let created = server
        .post(
            "/api/v1/books",
            Some(&token),
            json!({ "title": "Dune", "author": "Frank Herbert", "description": "Spice." }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let book = json!({
        "id": 1, "title": "Dune", "author": "Frank Herbert", "description": "Spice.", "owner_id": ann
    });
    assert_eq!(created.body, json!({ "data": book }));

    let list = server.get("/api/v1/books", Some(&token)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body, json!({ "data": [book] }));
    let shown = server.get("/api/v1/books/1", Some(&token)).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.body, json!({ "data": book }));

    let replacement = json!({ "title": "Dune Messiah", "author": "Frank Herbert" });
    let replaced = server
        .send(
            Method::PUT,
            "/api/v1/books/1",
            Some(&token),
            Some(&replacement),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{replaced:?}");
    assert_eq!(
        replaced.body,
        json!({ "data": {
            "id": 1, "title": "Dune Messiah", "author": "Frank Herbert", "description": null, "owner_id": ann
        } })
    );

    let deleted = server
        .send(Method::DELETE, "/api/v1/books/1", Some(&token), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.text, "");
    let gone = server.get("/api/v1/books/1", Some(&token)).await;
    gone.assert_error(StatusCode::NOT_FOUND, "not_found");
    let list = server.get("/api/v1/books", Some(&token)).await;
    assert_eq!(list.body, json!({ "data": [] }));
}

#[tokio::test]
async fn books_list_shows_only_the_callers_books() {
    let (_db, server) = start().await;
    let (_, ann) = server.user("Ann", "ann@example.com").await;
    let (_, bob) = server.user("Bob", "bob@example.com").await;
    let anns = server.book(&ann, "Emma").await;
    server.book(&bob, "Ulysses").await;
    let list = server.get("/api/v1/books", Some(&ann)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body, json!({ "data": [anns] }));
}

#[tokio::test]
async fn another_users_book_is_404() {
    let (_db, server) = start().await;
    let (_, ann) = server.user("Ann", "ann@example.com").await;
    let (_, bob) = server.user("Bob", "bob@example.com").await;
    let book = server.book(&ann, "Emma").await;
    let path = format!("/api/v1/books/{}", book["id"]);
    let body = json!({ "title": "Mine now", "author": "Bob" });
    for (method, body) in [
        (Method::GET, None),
        (Method::PUT, Some(&body)),
        (Method::DELETE, None),
    ] {
        let answer = server.send(method, &path, Some(&bob), body).await;
        answer.assert_error(StatusCode::NOT_FOUND, "not_found");
    }
    let still = server.get(&path, Some(&ann)).await;
    assert_eq!(still.body, json!({ "data": book }));
}

#[tokio::test]
async fn same_title_twice_for_one_user_is_409() {
    let (_db, server) = start().await;
    let (_, ann) = server.user("Ann", "ann@example.com").await;
    let (_, bob) = server.user("Bob", "bob@example.com").await;
    server.book(&ann, "Emma").await;
    let twice = server
        .post(
            "/api/v1/books",
            Some(&ann),
            json!({ "title": "Emma", "author": "Jane Austen" }),
        )
        .await;
    twice.assert_error(StatusCode::CONFLICT, "title_taken");
    // Another user may have a book with the same title.
    server.book(&bob, "Emma").await;
    // Renaming a book to a title the user already has is the same conflict.
    let other = server.book(&ann, "Persuasion").await;
    let rename = json!({ "title": "Emma", "author": "Jane Austen" });
    let answer = server
        .send(
            Method::PUT,
            &format!("/api/v1/books/{}", other["id"]),
            Some(&ann),
            Some(&rename),
        )
        .await;
    answer.assert_error(StatusCode::CONFLICT, "title_taken");
}

#[tokio::test]
async fn create_book_with_missing_or_invalid_fields_is_400() {
    let (_db, server) = start().await;
    let (_, ann) = server.user("Ann", "ann@example.com").await;
    for (body, code) in [
        (json!({ "author": "Jane Austen" }), "invalid_body"),
        (
            json!({ "title": 7, "author": "Jane Austen" }),
            "invalid_body",
        ),
        (
            json!({ "title": "Emma", "author": "Jane Austen", "description": [] }),
            "invalid_body",
        ),
        (
            json!({ "title": " ", "author": "Jane Austen" }),
            "invalid_field",
        ),
        (json!("Emma by Jane Austen"), "invalid_body"),
    ] {
        let answer = server.post("/api/v1/books", Some(&ann), body).await;
        answer.assert_error(StatusCode::BAD_REQUEST, code);
    }
    let malformed = server.post_raw("/api/v1/books", Some(&ann), "{").await;
    malformed.assert_error(StatusCode::BAD_REQUEST, "invalid_json");
}

#[tokio::test]
async fn replace_book_with_wrong_types_is_400() {
    let (_db, server) = start().await;
    let (_, ann) = server.user("Ann", "ann@example.com").await;
    let book = server.book(&ann, "Emma").await;
    let body = json!({ "title": "Emma", "author": false });
    let answer = server
        .send(
            Method::PUT,
            &format!("/api/v1/books/{}", book["id"]),
            Some(&ann),
            Some(&body),
        )
        .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "invalid_body");
}

#[tokio::test]
async fn book_id_that_is_not_a_number_is_400() {
    let (_db, server) = start().await;
    let (_, ann) = server.user("Ann", "ann@example.com").await;
    for id in ["abc", "99999999999999999999"] {
        let answer = server.get(&format!("/api/v1/books/{id}"), Some(&ann)).await;
        answer.assert_error(StatusCode::BAD_REQUEST, "invalid_path");
    }
}

#[tokio::test]
async fn create_book_with_a_body_over_1_mib_is_413() {
    let (_db, server) = start().await;
    let (_, ann) = server.user("Ann", "ann@example.com").await;
    let description = "y".repeat(1024 * 1024 + 1);
    let answer = server
        .post(
            "/api/v1/books",
            Some(&ann),
            json!({ "title": "Long", "author": "Anon", "description": description }),
        )
        .await;
    answer.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[tokio::test]
async fn books_without_a_token_are_401() {
    let (_db, server) = start().await;
    let answer = server
        .post(
            "/api/v1/books",
            None,
            json!({ "title": "Emma", "author": "Jane Austen" }),
        )
        .await;
    answer.assert_error(StatusCode::UNAUTHORIZED, "missing_token");
    assert_eq!(answer.www_authenticate(), "Bearer");
}

// ---------------------------------------------------------------------------------------------
// Unknown routes and methods

#[tokio::test]
async fn unknown_route_is_401_without_a_token_and_404_with_one() {
    let (_db, server) = start().await;
    let (_, token) = server.user("Ann", "ann@example.com").await;
    for path in ["/api/v1/nothing", "/nothing", "/api/v1/books/1/extra"] {
        let anonymous = server.get(path, None).await;
        anonymous.assert_error(StatusCode::UNAUTHORIZED, "missing_token");
        assert_eq!(anonymous.www_authenticate(), "Bearer");
        let authed = server.get(path, Some(&token)).await;
        authed.assert_error(StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn known_path_with_another_method_is_405_json() {
    let (_db, server) = start().await;
    let (_, token) = server.user("Ann", "ann@example.com").await;
    let answer = server
        .send(Method::PATCH, "/api/v1/books", Some(&token), None)
        .await;
    answer.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

// ---------------------------------------------------------------------------------------------
// Concurrency

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_registrations_of_one_email_are_one_201_and_fifteen_409() {
    let (_db, server) = start().await;
    let mut requests = JoinSet::new();
    for i in 0..16 {
        let (client, url) = (server.client.clone(), server.url("/api/v1/users"));
        requests.spawn(async move {
            let body = json!({ "name": format!("Racer {i}"), "email": "race@example.com", "password": PASSWORD });
            let response = client.post(url).json(&body).send().await.expect("an answer");
            Answer::from(response).await
        });
    }
    let answers = requests.join_all().await;
    let created: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    for answer in answers.iter().filter(|a| a.status != StatusCode::CREATED) {
        answer.assert_error(StatusCode::CONFLICT, "email_taken");
    }
    let me = server
        .get("/api/v1/users/me", Some(&created[0].token()))
        .await;
    assert_eq!(me.body["data"]["email"], "race@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_book_creations_lose_nothing() {
    const USERS: usize = 4;
    const BOOKS_EACH: usize = 100;
    let (_db, server) = start().await;
    let mut tokens = Vec::new();
    for u in 0..USERS {
        tokens.push(
            server
                .user(&format!("User {u}"), &format!("u{u}@example.com"))
                .await
                .1,
        );
    }
    let mut requests = JoinSet::new();
    for n in 0..BOOKS_EACH {
        for token in &tokens {
            let (client, url, token) = (
                server.client.clone(),
                server.url("/api/v1/books"),
                token.clone(),
            );
            requests.spawn(async move {
                let body = json!({ "title": format!("Book {n}"), "author": "Anon" });
                let response = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .expect("an answer");
                Answer::from(response).await
            });
        }
    }
    let answers = requests.join_all().await;
    assert_eq!(answers.len(), USERS * BOOKS_EACH);
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    }
    let mut total = 0;
    for token in &tokens {
        let list = server.get("/api/v1/books", Some(token)).await;
        let books = list.body["data"].as_array().expect("a list").clone();
        assert_eq!(books.len(), BOOKS_EACH);
        total += books.len();
    }
    assert_eq!(total, 400);
}

// ---------------------------------------------------------------------------------------------
// Login throttling

/// A server that throttles an account after 10 failed logins within `window`.
async fn start_with_login_window(window: Duration) -> (TempDb, Server) {
    let db = temp_db();
    let server = Server::start(app::Config {
        logins: app::LoginLimits {
            max_failures: 10,
            window,
        },
        ..db.config()
    })
    .await;
    (db, server)
}

/// `Retry-After` in seconds, asserting there is one.
#[track_caller]
fn retry_after(answer: &Answer) -> u64 {
    answer
        .headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok()?.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After seconds: {answer:?}"))
}

#[tokio::test]
async fn eleventh_login_after_ten_failures_is_429_until_the_window_ends() {
    let window = Duration::from_secs(5);
    let (_db, server) = start_with_login_window(window).await;
    server.user("Ann", "ann@example.com").await;
    server.user("Bob", "bob@example.com").await;
    server.teacher("Ann", "ann@example.com").await;
    let login = |email: &str, password: &str| json!({ "email": email, "password": password });

    for _ in 0..10 {
        let answer = server
            .post(
                "/api/v1/users/login",
                None,
                login("ann@example.com", "wrong password"),
            )
            .await;
        answer.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    // The right password, in any case, is refused too now.
    for body in [
        login("ann@example.com", PASSWORD),
        login(" ANN@example.com", PASSWORD),
        login("ann@example.com", "wrong password"),
    ] {
        let answer = server.post("/api/v1/users/login", None, body).await;
        answer.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
        assert!(
            (1..=window.as_secs()).contains(&retry_after(&answer)),
            "{answer:?}"
        );
    }
    // Another email, and the same email in the teachers table, are not throttled.
    let bob = server
        .post(
            "/api/v1/users/login",
            None,
            login("bob@example.com", PASSWORD),
        )
        .await;
    assert_eq!(bob.status, StatusCode::OK, "{bob:?}");
    assert!(bob.body["token"].is_string(), "{bob:?}");
    let teacher = server
        .post(
            "/api/v1/teachers/login",
            None,
            login("ann@example.com", PASSWORD),
        )
        .await;
    assert_eq!(teacher.status, StatusCode::OK, "{teacher:?}");
    assert!(teacher.body["token"].is_string(), "{teacher:?}");

    // Once the window has passed, the right password works again.
    let throttled = server
        .post(
            "/api/v1/users/login",
            None,
            login("ann@example.com", PASSWORD),
        )
        .await;
    let wait = retry_after(&throttled);
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
    let answer = server
        .post(
            "/api/v1/users/login",
            None,
            login("ann@example.com", PASSWORD),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let me = server.get("/api/v1/users/me", Some(&answer.token())).await;
    assert_eq!(me.body["data"]["email"], "ann@example.com", "{me:?}");
}

#[tokio::test]
async fn teacher_login_is_throttled_after_ten_failures_and_unknown_emails_count() {
    let (_db, server) = start_with_login_window(Duration::from_secs(600)).await;
    server.teacher("Tess", "tess@school.org").await;
    server.user("Tess", "tess@school.org").await;
    for email in ["tess@school.org", "ghost@school.org"] {
        for _ in 0..10 {
            let answer = server
                .post(
                    "/api/v1/teachers/login",
                    None,
                    json!({ "email": email, "password": "wrong password" }),
                )
                .await;
            answer.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
        }
        let answer = server
            .post(
                "/api/v1/teachers/login",
                None,
                json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        answer.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
        assert!((1..=600).contains(&retry_after(&answer)), "{answer:?}");
    }
    let user = server
        .post(
            "/api/v1/users/login",
            None,
            json!({ "email": "tess@school.org", "password": PASSWORD }),
        )
        .await;
    assert_eq!(user.status, StatusCode::OK, "{user:?}");
    assert!(user.body["token"].is_string(), "{user:?}");
}

#[tokio::test]
async fn successful_logins_do_not_count_as_failures() {
    let (_db, server) = start().await;
    server.user("Ann", "ann@example.com").await;
    for _ in 0..15 {
        let answer = server
            .post(
                "/api/v1/users/login",
                None,
                json!({ "email": "ann@example.com", "password": PASSWORD }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        assert!(answer.body["token"].is_string(), "{answer:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Caching

/// Fails until the library adds `Cache-Control: no-store` to the answers of handlers that mint
/// a token with `Tokens` (being built on main); the bookstore doesn't set it by hand.
#[tokio::test]
async fn token_answers_are_not_cached() {
    let (_db, server) = start().await;
    let body = json!({ "name": "Ann", "email": "ann@example.com", "password": PASSWORD });
    let login = json!({ "email": "ann@example.com", "password": PASSWORD });
    let registered = server.post("/api/v1/users", None, body.clone()).await;
    assert_eq!(registered.status, StatusCode::CREATED, "{registered:?}");
    let logged_in = server
        .post("/api/v1/users/login", None, login.clone())
        .await;
    assert_eq!(logged_in.status, StatusCode::OK, "{logged_in:?}");
    let me = server
        .get("/api/v1/users/me", Some(&logged_in.token()))
        .await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    let teacher = server.post("/api/v1/teachers", None, body).await;
    assert_eq!(teacher.status, StatusCode::CREATED, "{teacher:?}");
    let teacher_login = server.post("/api/v1/teachers/login", None, login).await;
    assert_eq!(teacher_login.status, StatusCode::OK, "{teacher_login:?}");
    for answer in [&registered, &logged_in, &me, &teacher, &teacher_login] {
        assert!(!answer.token().is_empty(), "{answer:?}");
        assert_eq!(
            answer
                .headers
                .get(CACHE_CONTROL)
                .and_then(|v| v.to_str().ok()),
            Some("no-store"),
            "{answer:?}"
        );
    }
    // An answer without a token may be cached as HTTP allows.
    let books = server.get("/api/v1/books", Some(&logged_in.token())).await;
    assert_eq!(books.status, StatusCode::OK, "{books:?}");
    assert_eq!(books.body, json!({ "data": [] }));
    assert_eq!(books.headers.get(CACHE_CONTROL), None, "{books:?}");
}

// ---------------------------------------------------------------------------------------------
// Connections: timeouts and the cap

/// A server whose connections time out after 1 s without a whole request head.
async fn start_with_header_timeout() -> (TempDb, Server) {
    let db = temp_db();
    let server = Server::start(app::Config {
        connections: app::ConnectionLimits {
            header_timeout: Duration::from_secs(1),
            ..app::ConnectionLimits::default()
        },
        ..db.config()
    })
    .await;
    (db, server)
}

#[tokio::test]
async fn request_head_trickled_past_the_header_timeout_is_closed() {
    let (_db, server) = start_with_header_timeout().await;
    let raw = server.raw().await;
    let (mut reader, mut writer) = raw.0.into_split();
    // A header line every 200 ms: each byte arrives in time, the head never completes.
    let trickle = tokio::spawn(async move {
        let _ = writer
            .write_all(b"GET /health HTTP/1.1\r\nHost: bookstore\r\n")
            .await;
        for i in 0..50 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer
                .write_all(format!("X-Slow-{i}: 1\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
    });
    let mut chunk = [0; 1024];
    let read = tokio::time::timeout(Duration::from_secs(5), reader.read(&mut chunk)).await;
    trickle.abort();
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "still open, or answered, 5 s into a 1 s header timeout: {read:?}"
    );
}

#[tokio::test]
async fn idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let (_db, server) = start_with_header_timeout().await;
    let mut raw = server.raw().await;
    for _ in 0..2 {
        let answer = raw.get("/health").await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        assert_eq!(answer.body, json!({ "status": "ok" }));
    }
    assert!(raw.closes().await, "open 5 s into a 1 s idle timeout");
}

#[tokio::test]
async fn at_the_connection_cap_only_health_is_served() {
    let db = temp_db();
    let mut server = Server::start(app::Config {
        connections: app::ConnectionLimits {
            max_connections: NonZeroUsize::new(2).expect("not zero"),
            ..app::ConnectionLimits::default()
        },
        ..db.config()
    })
    .await;
    // Drops the pooled connection of the start-up health check.
    server.client = client();

    // Two connections that hold the two slots, once the start-up one has gone.
    let mut holders = Vec::new();
    for _ in 0..50 {
        let mut raw = server.raw().await;
        let answer = raw.get("/api/v1/books").await;
        if answer.status == StatusCode::UNAUTHORIZED {
            answer.assert_error(StatusCode::UNAUTHORIZED, "missing_token");
            holders.push(raw);
            if holders.len() == 2 {
                break;
            }
        } else {
            answer.assert_error(StatusCode::SERVICE_UNAVAILABLE, "over_capacity");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(holders.len(), 2, "the cap's two slots never came free");

    // At the cap: /health answers, nothing else does.
    let mut probe = server.raw().await;
    let health = probe.get("/health").await;
    assert_eq!(health.status, StatusCode::OK, "{health:?}");
    assert_eq!(health.body, json!({ "status": "ok" }));
    let mut probe = server.raw().await;
    let refused = probe.get("/api/v1/books").await;
    refused.assert_error(StatusCode::SERVICE_UNAVAILABLE, "over_capacity");
    assert!(
        probe.closes().await,
        "a connection over the cap is served one request"
    );

    // A slot freed is a slot served again.
    holders.pop();
    let mut served = None;
    for _ in 0..50 {
        let answer = server.raw().await.get("/api/v1/books").await;
        if answer.status == StatusCode::UNAUTHORIZED {
            served = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let served = served.expect("a freed slot is served within 5 s");
    served.assert_error(StatusCode::UNAUTHORIZED, "missing_token");
}

// ---------------------------------------------------------------------------------------------
// Restart, shutdown, failures, logs

#[tokio::test]
async fn a_database_url_of_another_engine_is_refused_and_passwords_stay_out_of_errors() {
    let db = TempDb::new();
    for url in [
        "postgres://root:hunter2@db.example/books",
        "postgres://db.example/books?user=root&password=hunter2",
        "host=db.example password=hunter2",
    ] {
        let debug = format!(
            "{:?}",
            app::Config {
                database_url: url.to_owned(),
                ..db.config()
            }
        );
        assert!(!debug.contains("hunter2"), "{debug}");
    }
    let config = app::Config {
        database_url: "mysql://root:hunter2@db.example/books".to_owned(),
        ..db.config()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let err = app::serve(config, listener, async {})
        .await
        .expect_err("MySQL is not supported")
        .to_string();
    assert!(
        err.contains("must start with sqlite: or postgres:")
            && err.contains("root:***@db.example")
            && !err.contains("hunter2"),
        "{err}"
    );
}

#[tokio::test]
async fn restart_keeps_users_books_and_tokens() {
    let db = temp_db();
    let first = Server::start(db.config()).await;
    let (ann, token) = first.user("Ann", "ann@example.com").await;
    let teacher = first.teacher("Tess", "tess@school.org").await;
    let book = first.book(&token, "Emma").await;
    first.stop().await;

    let second = Server::start(db.config()).await;
    let me = second.get("/api/v1/users/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    assert_eq!(me.body["data"]["id"], ann);
    let books = second.get("/api/v1/books", Some(&token)).await;
    assert_eq!(books.body, json!({ "data": [book] }));
    let tess = second.get("/api/v1/teachers/me", Some(&teacher)).await;
    assert_eq!(tess.status, StatusCode::OK, "{tess:?}");
    let login = second
        .post(
            "/api/v1/users/login",
            None,
            json!({ "email": "ann@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{login:?}");
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_database_serves_concurrent_requests() {
    let db = TempDb::new();
    let server = Server::start(app::Config {
        database_url: "sqlite::memory:".to_owned(),
        ..db.config()
    })
    .await;
    let (_, token) = server.user("Ann", "ann@example.com").await;
    let mut requests = JoinSet::new();
    for n in 0..20 {
        let (client, url, token) = (
            server.client.clone(),
            server.url("/api/v1/books"),
            token.clone(),
        );
        requests.spawn(async move {
            let body = json!({ "title": format!("Book {n}"), "author": "Anon" });
            let response = client.post(url).bearer_auth(token).json(&body).send().await;
            Answer::from(response.expect("an answer")).await.status
        });
    }
    assert!(
        requests
            .join_all()
            .await
            .iter()
            .all(|s| *s == StatusCode::CREATED)
    );
    let list = server.get("/api/v1/books", Some(&token)).await;
    assert_eq!(
        list.body["data"].as_array().map(Vec::len),
        Some(20),
        "{list:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_lets_the_request_in_flight_finish() {
    let (_db, mut server) = start().await;
    let addr = server.addr().to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    // One whole request first, so the server has certainly accepted this connection.
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: bookstore\r\n\r\n")
        .await
        .expect("write");
    let mut first = [0; 512];
    let n = stream.read(&mut first).await.expect("read");
    assert!(
        first[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&first[..n])
    );

    // Then a registration whose body is only half sent when the shutdown starts.
    let body =
        json!({ "name": "Late", "email": "late@example.com", "password": PASSWORD }).to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let headers = format!(
        "POST /api/v1/users HTTP/1.1\r\nHost: bookstore\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(headers.as_bytes()).await.expect("write");
    stream.write_all(head.as_bytes()).await.expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;
    if let Some(stop) = server.stop.take() {
        let _ = stop.send(());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!server.task.is_finished(), "the server stopped mid-request");
    stream.write_all(tail.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(
        response.contains(r#""email":"late@example.com""#),
        "{response}"
    );

    server.stop().await;
    assert!(
        TcpListener::bind(&addr).await.is_ok(),
        "the port is free again after shutdown"
    );
}

/// Handlers for the panic test, mounted by their own `JwtRoutes` (not the app's).
mod panicking {
    #[jwt_router::public(GET, "/boom")]
    async fn boom() -> &'static str {
        panic!("boom")
    }

    #[jwt_router::public(GET, "/ok")]
    async fn ok() -> &'static str {
        "ok"
    }
}

#[tokio::test]
async fn panicking_handler_is_500_json_and_the_server_keeps_serving() {
    let router = jwt_router::JwtRoutes::<()>::builder()
        .secret(SECRET)
        .module(format!("{}::panicking", module_path!()))
        .build()
        .expect("valid configuration")
        .router(());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    tokio::spawn(async move { axum::serve(listener, app::http::layers(router)).await });
    let client = client();
    let boom = Answer::from(
        client
            .get(format!("{base}/boom"))
            .send()
            .await
            .expect("answer"),
    )
    .await;
    boom.assert_error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    assert!(!boom.text.contains("boom"), "{boom:?}");
    let ok = client
        .get(format!("{base}/ok"))
        .send()
        .await
        .expect("answer");
    assert_eq!(ok.status(), StatusCode::OK);
}

/// The log lines of every test's server: a writer for `tracing_subscriber::fmt`.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

/// Installs the binary's subscriber on first use (a global one: a per-test `set_default` misses
/// events when tests run in parallel, as tracing caches each callsite's interest process-wide).
fn logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("bookstore=debug,jwt_router_runtime=debug"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        logs
    })
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_name_route_templates_and_never_tokens_or_passwords() {
    let (_db, server) = start().await;
    let (_, token) = server.user("Ann", "ann@example.com").await;
    let book = server.book(&token, "Emma").await;
    let shown = server
        .get(&format!("/api/v1/books/{}?auth={token}", book["id"]), None)
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{shown:?}");

    // Every test's server logs here: what no test may leak, none leaked.
    let text = logs().text();
    assert!(
        text.contains(r#"method=GET route="/api/v1/books/{id}" status=200 latency="#),
        "{text}"
    );
    assert!(
        text.contains(r#"jwt_router_runtime::guard: jwt-router decision method=GET route="/api/v1/books/{id}" policy="authed""#),
        "the guard's decision is logged: {text}"
    );
    assert!(!text.contains(&token), "a token was logged: {text}");
    assert!(!text.contains(PASSWORD), "a password was logged: {text}");
    assert!(
        !text.contains("$argon2"),
        "a password hash was logged: {text}"
    );
    assert!(
        !text.contains(std::str::from_utf8(SECRET).expect("utf-8")),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// Sign-in with an identity provider (`--features testing`): the fake provider on 127.0.0.1.

#[tokio::test]
async fn oidc_sign_in_unconfigured_is_404_not_configured() {
    let (_db, server) = start().await;
    let answer = server
        .post(
            "/api/v1/auth/oidc",
            None,
            json!({"code": "c", "redirect_uri": "http://127.0.0.1/cb"}),
        )
        .await;
    assert_eq!(
        (answer.status, &answer.body["error"]),
        (StatusCode::NOT_FOUND, &json!("not_configured"))
    );
    server.stop().await;
}

#[cfg(feature = "testing")]
mod oidc {
    use jwt_router::testing::provider::{Failure, FakeProvider};

    use super::*;

    const CLIENT_ID: &str = "bookstore-client";
    const REDIRECT: &str = "http://127.0.0.1:9/signed-in";

    async fn start_with_provider() -> (TempDb, Server, FakeProvider) {
        let provider = FakeProvider::start().await.expect("provider");
        provider.register_client(CLIENT_ID, "bookstore-secret");
        let db = temp_db();
        let server = Server::start(app::Config {
            oidc: Some(app::OidcConfig {
                issuer: provider.issuer().to_owned(),
                client_id: CLIENT_ID.to_owned(),
                client_secret: "bookstore-secret".to_owned(),
            }),
            ..db.config()
        })
        .await;
        (db, server, provider)
    }

    fn code(provider: &FakeProvider, email: &str, verified: bool) -> String {
        let claims = provider.email_claims(CLIENT_ID, email, verified);
        provider.code(provider.sign(&provider.first_kid(), &claims), None)
    }

    async fn sign_in(server: &Server, code: &str) -> Answer {
        server
            .post(
                "/api/v1/auth/oidc",
                None,
                json!({"code": code, "redirect_uri": REDIRECT}),
            )
            .await
    }

    #[tokio::test]
    async fn first_sign_in_creates_a_passwordless_user_whose_password_login_is_401() {
        let (_db, server, provider) = start_with_provider().await;
        let answer = sign_in(&server, &code(&provider, "Grace@Example.com", true)).await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        assert_eq!(
            answer.body["data"],
            json!({"id": 1, "name": "grace", "email": "grace@example.com", "admin": false})
        );
        assert_no_secrets(&answer);
        let me = server.get("/api/v1/users/me", Some(&answer.token())).await;
        assert_eq!(
            (me.status, &me.body["data"]["id"]),
            (StatusCode::OK, &json!(1))
        );
        let login = server
            .post(
                "/api/v1/users/login",
                None,
                json!({"email": "grace@example.com", "password": PASSWORD}),
            )
            .await;
        assert_eq!(
            (login.status, &login.body["error"]),
            (StatusCode::UNAUTHORIZED, &json!("invalid_credentials"))
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn returning_user_signs_in_by_email_in_any_case_and_admin_email_applies() {
        let (_db, server, provider) = start_with_provider().await;
        let (id, _) = server.user("Ada", "ada@example.com").await;
        let answer = sign_in(&server, &code(&provider, "ADA@example.com", true)).await;
        assert_eq!(
            (answer.status, &answer.body["data"]["id"]),
            (StatusCode::OK, &json!(id))
        );
        let admin = sign_in(&server, &code(&provider, ADMIN_EMAIL, true)).await;
        assert_eq!(
            (admin.status, &admin.body["data"]["admin"]),
            (StatusCode::OK, &json!(true))
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn refused_code_or_unverified_email_is_401_and_provider_down_is_502() {
        let (_db, server, provider) = start_with_provider().await;
        let unverified = sign_in(&server, &code(&provider, "eve@example.com", false)).await;
        assert_eq!(
            (unverified.status, &unverified.body["error"]),
            (StatusCode::UNAUTHORIZED, &json!("email_not_verified"))
        );
        let refused = sign_in(&server, "never-issued").await;
        assert_eq!(
            (refused.status, &refused.body["error"]),
            (StatusCode::UNAUTHORIZED, &json!("code_refused"))
        );
        let missing = server
            .post("/api/v1/auth/oidc", None, json!({"code": "c"}))
            .await;
        assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{missing:?}");
        provider.fail_token(Some(Failure::ServerError));
        let down = sign_in(&server, &code(&provider, "ada@example.com", true)).await;
        assert_eq!(
            (down.status, &down.body["error"]),
            (StatusCode::BAD_GATEWAY, &json!("provider_unavailable"))
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn provider_id_token_is_a_bearer_token_on_users_routes() {
        let (_db, server, provider) = start_with_provider().await;
        let (id, _) = server.user("Ada", "ada@example.com").await;
        let before = provider.requests();
        let headers = provider.headers_for(CLIENT_ID, "Ada@Example.com");
        let token = headers["authorization"]
            .to_str()
            .expect("header")
            .trim_start_matches("Bearer ");
        for _ in 0..5 {
            let me = server.get("/api/v1/users/me", Some(token)).await;
            assert_eq!(
                (me.status, &me.body["data"]["id"]),
                (StatusCode::OK, &json!(id)),
                "{me:?}"
            );
        }
        assert_eq!(provider.requests(), before, "no provider call per request");
        server.stop().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions: refresh, logout, logout everywhere (BOOKSTORE.md "Sessions")

impl Answer {
    fn refresh_token(&self) -> String {
        self.body["refresh_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no refresh token in {self:?}"))
            .to_owned()
    }
}

impl Server {
    /// A login of `email`'s user: its access and refresh tokens.
    async fn login(&self, email: &str) -> (String, String) {
        let answer = self
            .post(
                "/api/v1/users/login",
                None,
                json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        (answer.token(), answer.refresh_token())
    }

    async fn refresh(&self, refresh_token: &str) -> Answer {
        self.post(
            "/api/v1/auth/refresh",
            None,
            json!({ "refresh_token": refresh_token }),
        )
        .await
    }
}

#[tokio::test]
async fn registration_and_login_answers_carry_a_refresh_token() {
    let (_db, server) = start().await;
    let answer = server
        .post(
            "/api/v1/users",
            None,
            json!({ "name": "Ann", "email": "ann@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    assert!(answer.body["data"]["id"].is_i64());
    answer.refresh_token();
    let teacher = server
        .post(
            "/api/v1/teachers",
            None,
            json!({ "name": "Tom", "email": "tom@example.com", "password": PASSWORD }),
        )
        .await;
    teacher.refresh_token();
    let (_, refresh) = server.login("ann@example.com").await;
    assert_ne!(refresh, answer.refresh_token());
}

#[tokio::test]
async fn refresh_answers_a_new_pair_and_spends_the_old_refresh_token() {
    let (_db, server) = start().await;
    server.user("Ann", "ann@example.com").await;
    let (_, refresh) = server.login("ann@example.com").await;
    let answer = server.refresh(&refresh).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(
        answer.headers.get(CACHE_CONTROL).map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    let (access, next) = (answer.token(), answer.refresh_token());
    let me = server.get("/api/v1/users/me", Some(&access)).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    assert_eq!(server.refresh(&next).await.status, StatusCode::OK);
    // The spent one, again: refused, and the whole login with it.
    server
        .refresh(&refresh)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_revoked");
    server
        .get("/api/v1/users/me", Some(&access))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_revoked");
}

#[tokio::test]
async fn refresh_refuses_bad_bodies_and_tokens_of_the_wrong_kind() {
    let (_db, server) = start().await;
    server.user("Ann", "ann@example.com").await;
    let (access, refresh) = server.login("ann@example.com").await;
    for body in [json!({}), json!({ "refresh_token": 7 }), json!("token")] {
        let answer = server.post("/api/v1/auth/refresh", None, body).await;
        answer.assert_error(StatusCode::BAD_REQUEST, "invalid_body");
    }
    for token in [access.as_str(), "not-a-token", ""] {
        let answer = server.refresh(token).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{answer:?}");
    }
    // A refresh token is no access token.
    server
        .get("/api/v1/users/me", Some(&refresh))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
}

#[tokio::test]
async fn logout_refuses_the_token_and_its_refresh_token_from_then_on() {
    let (_db, server) = start().await;
    server.user("Ann", "ann@example.com").await;
    let (access, refresh) = server.login("ann@example.com").await;
    let (other, _) = server.login("ann@example.com").await;
    let answer = server
        .post("/api/v1/auth/logout", Some(&access), json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{answer:?}");
    server
        .get("/api/v1/users/me", Some(&access))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_revoked");
    server
        .refresh(&refresh)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_revoked");
    let me = server.get("/api/v1/users/me", Some(&other)).await;
    assert_eq!(me.status, StatusCode::OK, "another session: {me:?}");
    let anonymous = server.post("/api/v1/auth/logout", None, json!({})).await;
    anonymous.assert_error(StatusCode::UNAUTHORIZED, "missing_token");
}

#[tokio::test]
async fn logout_all_refuses_every_earlier_token_of_the_account_only() {
    let (_db, server) = start().await;
    server.user("Ann", "ann@example.com").await;
    let (_, bob) = server.user("Bob", "bob@example.com").await;
    let (first, refresh) = server.login("ann@example.com").await;
    let (second, _) = server.login("ann@example.com").await;
    let teacher = server.teacher("Tom", "tom@example.com").await;
    let answer = server
        .post("/api/v1/auth/logout-all", Some(&second), json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{answer:?}");
    for token in [&first, &second] {
        server
            .get("/api/v1/users/me", Some(token))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "token_revoked");
    }
    server
        .refresh(&refresh)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_revoked");
    let bob_me = server.get("/api/v1/users/me", Some(&bob)).await;
    assert_eq!(bob_me.status, StatusCode::OK);
    let tom_me = server.get("/api/v1/teachers/me", Some(&teacher)).await;
    assert_eq!(tom_me.status, StatusCode::OK);
    let (again, _) = server.login("ann@example.com").await;
    let me = server.get("/api/v1/users/me", Some(&again)).await;
    assert_eq!(me.status, StatusCode::OK, "a new login: {me:?}");
    // A teacher logs out everywhere too.
    let answer = server
        .post("/api/v1/auth/logout-all", Some(&teacher), json!({}))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{answer:?}");
    server
        .get("/api/v1/teachers/me", Some(&teacher))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_revoked");
}

// ---------------------------------------------------------------------------------------------
// Cookie sessions (`--features cookies`)

#[cfg(feature = "cookies")]
mod cookie_sessions {
    use super::*;

    /// A cookie login's `Set-Cookie` values and CSRF token.
    async fn cookie_login(server: &Server) -> (Vec<String>, String) {
        let answer = server
            .post(
                "/api/v1/users/login?session=cookie",
                None,
                json!({ "email": "ann@example.com", "password": PASSWORD }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        assert_eq!(
            answer.headers.get(CACHE_CONTROL).map(|v| v.as_bytes()),
            Some(&b"no-store"[..])
        );
        let mut fields: Vec<&String> = answer.body.as_object().expect("object").keys().collect();
        fields.sort();
        assert_eq!(fields, ["csrf_token"], "{answer:?}");
        let cookies = answer
            .headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().expect("text").to_owned())
            .collect();
        (
            cookies,
            answer.body["csrf_token"].as_str().expect("csrf").to_owned(),
        )
    }

    fn pairs(cookies: &[String]) -> String {
        cookies
            .iter()
            .filter_map(|cookie| cookie.split(';').next())
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn with_cookies(
        server: &Server,
        method: Method,
        path: &str,
        cookies: &str,
        csrf: Option<&str>,
    ) -> Answer {
        let mut request = server
            .client
            .request(method, format!("{}{path}", server.base))
            .header(reqwest::header::COOKIE, cookies);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if path.contains("books") {
            request = request.json(&json!({ "title": "Dune", "author": "Frank Herbert" }));
        }
        Answer::from(request.send().await.expect("an answer")).await
    }

    #[tokio::test]
    async fn a_cookie_login_sets_both_cookies_and_writes_need_the_csrf_header() {
        let (_db, server) = start().await;
        server.user("Ann", "ann@example.com").await;
        let (set_cookies, csrf) = cookie_login(&server).await;
        let access = set_cookies
            .iter()
            .find(|c| c.starts_with("access_token="))
            .expect("access cookie");
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
            assert!(access.contains(attribute), "{access}");
        }
        let csrf_cookie = set_cookies
            .iter()
            .find(|c| c.starts_with("csrf_token="))
            .expect("csrf cookie");
        assert!(!csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Strict"));

        let cookies = pairs(&set_cookies);
        let me = with_cookies(&server, Method::GET, "/api/v1/users/me", &cookies, None).await;
        assert_eq!(me.status, StatusCode::OK, "{me:?}");
        let refused = with_cookies(&server, Method::POST, "/api/v1/books", &cookies, None).await;
        refused.assert_error(StatusCode::FORBIDDEN, "csrf_failed");
        let forged = with_cookies(
            &server,
            Method::POST,
            "/api/v1/books",
            &cookies,
            Some("forged"),
        )
        .await;
        forged.assert_error(StatusCode::FORBIDDEN, "csrf_failed");
        let added = with_cookies(
            &server,
            Method::POST,
            "/api/v1/books",
            &cookies,
            Some(&csrf),
        )
        .await;
        assert_eq!(added.status, StatusCode::CREATED, "{added:?}");

        // Logout clears both cookies and revokes the session.
        let out = with_cookies(
            &server,
            Method::POST,
            "/api/v1/auth/logout",
            &cookies,
            Some(&csrf),
        )
        .await;
        assert_eq!(out.status, StatusCode::NO_CONTENT, "{out:?}");
        let cleared: Vec<&str> = out
            .headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().expect("text"))
            .collect();
        assert_eq!(cleared.len(), 2, "{cleared:?}");
        assert!(
            cleared.iter().all(|c| c.contains("Max-Age=0")),
            "{cleared:?}"
        );
        let after = with_cookies(&server, Method::GET, "/api/v1/users/me", &cookies, None).await;
        after.assert_error(StatusCode::UNAUTHORIZED, "token_revoked");
    }

    #[tokio::test]
    async fn cookie_secure_false_drops_secure_and_other_queries_are_400() {
        let db = temp_db();
        let server = Server::start(app::Config {
            cookie_secure: false,
            ..db.config()
        })
        .await;
        server.user("Ann", "ann@example.com").await;
        let (set_cookies, _) = cookie_login(&server).await;
        assert!(
            set_cookies.iter().all(|c| !c.contains("Secure")),
            "{set_cookies:?}"
        );
        let answer = server
            .post(
                "/api/v1/users/login?session=bearer",
                None,
                json!({ "email": "ann@example.com", "password": PASSWORD }),
            )
            .await;
        answer.assert_error(StatusCode::BAD_REQUEST, "invalid_query");
    }
}

// ---------------------------------------------------------------------------------------------
// Replicas: two bookstores on one database and one Redis (`REDIS_URL`, `--features redis`)

#[cfg(feature = "redis")]
#[tokio::test]
async fn two_bookstores_on_one_redis_share_logins_logouts_and_refreshes() {
    let Some(redis) = redis_server::RedisServer::start() else {
        return;
    };
    let db = temp_db();
    let config = || app::Config {
        redis_url: Some(redis.url()),
        ..db.config()
    };
    let (one, two) = (Server::start(config()).await, Server::start(config()).await);
    one.user("Ann", "ann@example.com").await;

    // Registered on one, logged in on the other; a logout on either is honoured by both.
    let (access, refresh) = two.login("ann@example.com").await;
    assert_eq!(
        one.get("/api/v1/users/me", Some(&access)).await.status,
        StatusCode::OK
    );
    let out = one
        .post("/api/v1/auth/logout", Some(&access), json!({}))
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{out:?}");
    two.get("/api/v1/users/me", Some(&access))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_revoked");
    two.refresh(&refresh)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_revoked");

    // A refresh token spent on one is refused on the other, which revokes the whole login.
    let (_, refresh) = one.login("ann@example.com").await;
    let next = one.refresh(&refresh).await;
    assert_eq!(next.status, StatusCode::OK, "{next:?}");
    two.refresh(&refresh)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_revoked");
    one.get("/api/v1/users/me", Some(&next.token()))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_revoked");

    // Logging out everywhere on one cuts off the sessions started on the other.
    let (elsewhere, _) = two.login("ann@example.com").await;
    let (here, _) = one.login("ann@example.com").await;
    let all = one
        .post("/api/v1/auth/logout-all", Some(&here), json!({}))
        .await;
    assert_eq!(all.status, StatusCode::NO_CONTENT, "{all:?}");
    two.get("/api/v1/users/me", Some(&elsewhere))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "token_revoked");

    // Login throttling counts the failures of both: 10 allowed, split between them.
    let wrong = json!({ "email": "ann@example.com", "password": "wrong password" });
    for server in [&one, &two].repeat(5) {
        let answer = server
            .post("/api/v1/users/login", None, wrong.clone())
            .await;
        answer.assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    for server in [&one, &two] {
        let right = json!({ "email": "ann@example.com", "password": PASSWORD });
        let answer = server.post("/api/v1/users/login", None, right).await;
        answer.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    }
}
