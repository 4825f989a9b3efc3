//! Entities with an in-memory store, and a request helper.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use std::convert::Infallible;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::Response;
use http_body_util::BodyExt;
use jwt_router::{Entity, StoreError};
use serde_json::Value;
use tower::{Service, ServiceExt};

pub const SECRET: &str = "integration-test-secret-0123456789abcdef";

/// Now, in seconds since the Unix epoch, for tokens made by hand.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `claims` signed with `alg` and [`SECRET`], as a client holding the secret would.
pub fn sign(alg: jsonwebtoken::Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("signs")
}

/// The entity store: users and teachers by id, a switch to make it fail, a load counter.
#[derive(Clone, Default)]
pub struct Db {
    pub users: Arc<HashMap<u64, String>>,
    pub teachers: Arc<HashMap<String, String>>,
    pub failing: Arc<AtomicBool>,
    pub panicking: Arc<AtomicBool>,
    pub loads: Arc<AtomicUsize>,
}

impl Db {
    pub fn seeded() -> Self {
        Db {
            users: Arc::new(HashMap::from([
                (1, "ada".to_owned()),
                (2, "grace".to_owned()),
            ])),
            teachers: Arc::new(HashMap::from([("t-1".to_owned(), "turing".to_owned())])),
            ..Db::default()
        }
    }

    fn record_load(&self) -> Result<(), StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        assert!(!self.panicking.load(Ordering::SeqCst), "the store panics");
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::new("connection refused"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: u64,
    pub name: String,
}

impl Entity for User {
    const TABLE_NAME: &'static str = "users";
    type Id = u64;
    type Store = Db;

    fn id(&self) -> u64 {
        self.id
    }

    async fn load(db: &Db, id: &u64) -> Result<Option<Self>, StoreError> {
        db.record_load()?;
        Ok(db.users.get(id).map(|name| User {
            id: *id,
            name: name.clone(),
        }))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Teacher {
    pub teacher_id: String,
    pub name: String,
}

impl Entity for Teacher {
    const TABLE_NAME: &'static str = "teachers";
    type Id = String;
    type Store = Db;

    fn id(&self) -> String {
        self.teacher_id.clone()
    }

    async fn load(db: &Db, id: &String) -> Result<Option<Self>, StoreError> {
        db.record_load()?;
        Ok(db.teachers.get(id).map(|name| Teacher {
            teacher_id: id.clone(),
            name: name.clone(),
        }))
    }
}

pub fn ada() -> User {
    User {
        id: 1,
        name: "ada".into(),
    }
}

pub fn turing() -> Teacher {
    Teacher {
        teacher_id: "t-1".into(),
        name: "turing".into(),
    }
}

/// What a response carried: status, headers, and the body (JSON, or text as a JSON string).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn error_code(&self) -> &str {
        self.body["error"].as_str().unwrap_or("<no error field>")
    }

    pub fn challenge(&self) -> &str {
        self.headers
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("<none>")
    }
}

/// Any router: `axum::Router` or jwt-router's `GuardedRouter`.
pub trait App:
    Service<Request<Body>, Response = Response, Error = Infallible, Future: Send> + Clone + Send
{
}

impl<T> App for T where
    T: Service<Request<Body>, Response = Response, Error = Infallible, Future: Send> + Clone + Send
{
}

pub async fn send(app: &impl App, req: Request<Body>) -> Reply {
    let response = app
        .clone()
        .oneshot(req)
        .await
        .expect("router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let body = if bytes.is_empty() {
        Value::Null
    } else if is_json {
        serde_json::from_slice(&bytes).expect("a JSON response parses")
    } else {
        Value::String(String::from_utf8_lossy(&bytes).into_owned())
    };
    Reply {
        status,
        headers,
        body,
    }
}

pub fn request(method: &str, uri: &str, token: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Body::empty()).expect("valid request")
}

pub async fn get(app: &impl App, uri: &str, token: Option<&str>) -> Reply {
    send(app, request("GET", uri, token)).await
}
