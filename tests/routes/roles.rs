//! Roles and scopes on the attribute: decided by the guard from the token, before the route's
//! extractors, store or body.

use std::io::{self, Write};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use jwt_router::testing::token_for;
use jwt_router::{Claims, Entity, GuardedRouter, JwtRoutes, StoreError, Tokens, authed};
use serde_json::{Value, json};

use crate::common::{Db, Reply, SECRET, get, request, send};

/// A caller whose roles and scopes are minted into its tokens.
#[derive(Debug, Clone)]
struct Member {
    id: u64,
    roles: Vec<&'static str>,
    scopes: Vec<&'static str>,
}

impl Entity for Member {
    const TABLE_NAME: &'static str = "members";
    type Id = u64;
    type Store = Db;

    fn id(&self) -> u64 {
        self.id
    }

    async fn load(db: &Db, id: &u64) -> Result<Option<Self>, StoreError> {
        db.loads.fetch_add(1, Ordering::SeqCst);
        Ok(Some(member(*id, &[], &[])))
    }

    fn roles(&self) -> Vec<String> {
        self.roles.iter().map(|r| (*r).to_owned()).collect()
    }

    fn scopes(&self) -> Vec<String> {
        self.scopes.iter().map(|s| (*s).to_owned()).collect()
    }
}

/// Another entity type, granted the same role names.
#[derive(Debug, Clone)]
struct Staff(Member);

impl Entity for Staff {
    const TABLE_NAME: &'static str = "staff";
    type Id = u64;
    type Store = Db;

    fn id(&self) -> u64 {
        self.0.id
    }

    async fn load(db: &Db, id: &u64) -> Result<Option<Self>, StoreError> {
        Member::load(db, id).await.map(|m| m.map(Staff))
    }

    fn roles(&self) -> Vec<String> {
        self.0.roles()
    }
}

fn member(id: u64, roles: &[&'static str], scopes: &[&'static str]) -> Member {
    Member {
        id,
        roles: roles.to_vec(),
        scopes: scopes.to_vec(),
    }
}

#[authed(GET, "/members", entity = "members", roles = ["admin"])]
async fn list(member: Member) -> String {
    format!("list for {}", member.id)
}

#[authed(OPTIONS, "/members", roles = ["admin"])]
async fn members_options() -> &'static str {
    "options"
}

#[authed(GET, "/desk", roles = ["admin", "editor"])]
async fn desk(claims: Claims) -> String {
    format!("desk for {}", claims.sub)
}

#[authed(POST, "/books", scopes = ["books:read", "books:write"])]
async fn write_book(Json(book): Json<Value>) -> Json<Value> {
    Json(book)
}

#[authed(GET, "/audit", roles = ["admin"], scopes = ["audit"])]
async fn audit() -> &'static str {
    "audit"
}

#[authed(GET, "/renew")]
async fn renew(tokens: Tokens) -> String {
    tokens.update_token().unwrap_or_default()
}

fn jwt() -> JwtRoutes<Db> {
    JwtRoutes::builder()
        .secret(SECRET)
        .api_name("/api/v1")
        .entity::<Member>()
        .entity::<Staff>()
        .module(module_path!())
        .build()
        .expect("valid configuration")
}

fn app(db: Db) -> GuardedRouter<Db> {
    jwt().router(db)
}

fn token(roles: &[&'static str], scopes: &[&'static str]) -> String {
    token_for(&jwt(), &member(1, roles, scopes))
}

fn assert_refused(reply: &Reply, scope: &str) {
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::FORBIDDEN, "insufficient_scope"),
        "{reply:?}"
    );
    assert_eq!(
        reply.challenge(),
        format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\"")
    );
}

#[tokio::test]
async fn a_role_route_admits_a_token_with_the_role() {
    let reply = get(
        &app(Db::default()),
        "/api/v1/members",
        Some(&token(&["admin"], &[])),
    )
    .await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("list for 1"))
    );
}

#[tokio::test]
async fn a_token_without_the_role_is_403_before_the_store_is_read() {
    let db = Db::default();
    for roles in [&[][..], &["editor"], &["Admin"], &["admin "]] {
        let reply = get(
            &app(db.clone()),
            "/api/v1/members",
            Some(&token(roles, &[])),
        )
        .await;
        assert_refused(&reply, "admin");
        assert_eq!(
            reply.body["message"], "this route needs the role `admin`",
            "{roles:?}"
        );
    }
    assert_eq!(db.loads.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn roles_are_any_of() {
    for roles in [&["admin"][..], &["editor"], &["reader", "editor"]] {
        let reply = get(
            &app(Db::default()),
            "/api/v1/desk",
            Some(&token(roles, &[])),
        )
        .await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::OK, Some("desk for 1")),
            "{roles:?}"
        );
    }
    let reply = get(
        &app(Db::default()),
        "/api/v1/desk",
        Some(&token(&["reader"], &[])),
    )
    .await;
    assert_refused(&reply, "admin editor");
    assert_eq!(
        reply.body["message"],
        "this route needs one of the roles `admin`, `editor`"
    );
}

fn post_book(token: &str, body: &'static str) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri("/api/v1/books")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("request")
}

#[tokio::test]
async fn scopes_are_all_of() {
    let both = token(&[], &["books:read", "books:write"]);
    let reply = send(&app(Db::default()), post_book(&both, r#"{"title":"Dune"}"#)).await;
    assert_eq!(
        (reply.status, reply.body.clone()),
        (StatusCode::OK, json!({ "title": "Dune" }))
    );
    for scopes in [&["books:write"][..], &["books:read"], &["books:read:write"]] {
        let one = token(&[], scopes);
        let reply = send(&app(Db::default()), post_book(&one, r#"{"title":"Dune"}"#)).await;
        assert_refused(&reply, "books:read books:write");
        assert_eq!(
            reply.body["message"],
            "this route needs the scopes `books:read`, `books:write`"
        );
    }
}

#[tokio::test]
async fn roles_and_scopes_together_need_both() {
    let app = app(Db::default());
    let both = get(&app, "/api/v1/audit", Some(&token(&["admin"], &["audit"]))).await;
    assert_eq!(
        (both.status, both.body.as_str()),
        (StatusCode::OK, Some("audit"))
    );
    for (roles, scopes) in [(&["admin"][..], &[][..]), (&[], &["audit"])] {
        let reply = get(&app, "/api/v1/audit", Some(&token(roles, scopes))).await;
        assert_refused(&reply, "admin audit");
        assert_eq!(
            reply.body["message"],
            "this route needs one of the roles `admin` and the scopes `audit`"
        );
    }
}

#[tokio::test]
async fn a_refused_body_is_never_read() {
    // A malformed body would be a 400 from `Json`: the guard answers first.
    let reply = send(
        &app(Db::default()),
        post_book(&token(&["admin"], &[]), "{not json"),
    )
    .await;
    assert_refused(&reply, "books:read books:write");
    let allowed = token(&[], &["books:read", "books:write"]);
    let reply = send(&app(Db::default()), post_book(&allowed, "{not json")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{reply:?}");
}

#[tokio::test]
async fn head_follows_the_get_route_roles() {
    let app = app(Db::default());
    let reply = send(
        &app,
        request("HEAD", "/api/v1/members", Some(&token(&[], &[]))),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.challenge(),
        "Bearer error=\"insufficient_scope\", scope=\"admin\""
    );
    let admin = token(&["admin"], &[]);
    let reply = send(&app, request("HEAD", "/api/v1/members", Some(&admin))).await;
    assert_eq!((reply.status, reply.body), (StatusCode::OK, Value::Null));
}

#[tokio::test]
async fn options_follows_its_own_declared_roles() {
    let app = app(Db::default());
    let reply = send(
        &app,
        request("OPTIONS", "/api/v1/members", Some(&token(&[], &[]))),
    )
    .await;
    assert_refused(&reply, "admin");
    let admin = token(&["admin"], &[]);
    let reply = send(&app, request("OPTIONS", "/api/v1/members", Some(&admin))).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, Some("options"))
    );
}

#[tokio::test]
async fn a_role_granted_to_another_entity_type_is_403_wrong_entity() {
    let staff = token_for(&jwt(), &Staff(member(1, &["admin"], &[])));
    let reply = get(&app(Db::default()), "/api/v1/members", Some(&staff)).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::FORBIDDEN, "wrong_entity")
    );
    // Routes without an entity take any entity's role: the role is what they declare.
    let reply = get(&app(Db::default()), "/api/v1/desk", Some(&staff)).await;
    assert_eq!(reply.body.as_str(), Some("desk for 1"));
}

fn payload(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("three segments");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// `claims` signed with the app's own secret: what a leaked-secret or buggy minter would send.
fn signed(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("signs")
}

#[tokio::test]
async fn a_tampered_roles_claim_fails_the_signature() {
    let token = token(&["reader"], &[]);
    let mut claims = payload(&token);
    claims["roles"] = json!(["admin"]);
    let parts: Vec<&str> = token.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(claims.to_string());
    let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
    let reply = get(&app(Db::default()), "/api/v1/members", Some(&tampered)).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    assert_eq!(
        reply.body["message"],
        "the token's signature does not match"
    );
}

#[tokio::test]
async fn a_roles_claim_of_the_wrong_json_type_is_401() {
    let mut claims = payload(&token(&[], &[]));
    for roles in [
        json!("admin"),
        json!({ "admin": true }),
        json!([1]),
        json!(true),
    ] {
        claims["roles"] = roles.clone();
        let reply = get(
            &app(Db::default()),
            "/api/v1/members",
            Some(&signed(&claims)),
        )
        .await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (StatusCode::UNAUTHORIZED, "invalid_token"),
            "{roles}"
        );
        assert_eq!(
            reply.body["message"], "the token's header or claims are not the expected JSON",
            "{roles}"
        );
    }
    claims["roles"] = json!(["admin"]);
    claims["scope"] = json!(["audit"]);
    let reply = get(&app(Db::default()), "/api/v1/audit", Some(&signed(&claims))).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
}

#[tokio::test]
async fn minted_grants_are_claims_and_survive_renewal() {
    let token = token(&["admin", "editor"], &["books:read", "audit"]);
    let claims = payload(&token);
    assert_eq!(claims["roles"], json!(["admin", "editor"]));
    assert_eq!(claims["scope"], "books:read audit");
    let renewed = get(&app(Db::default()), "/api/v1/renew", Some(&token)).await;
    let renewed = renewed.body.as_str().expect("a token");
    assert_eq!(payload(renewed)["roles"], claims["roles"]);
    assert_eq!(payload(renewed)["scope"], claims["scope"]);
    // `create_token` mints no grants: the claims are absent, not empty.
    let bare = jwt().create_token::<Member>(&1).expect("token");
    assert_eq!(payload(&bare).get("roles"), None);
    assert_eq!(payload(&bare).get("scope"), None);
}

#[test]
fn a_scope_that_would_split_is_not_minted() {
    for bad in ["books write", ""] {
        let err = jwt()
            .create_token_for(&member(1, &[], &[bad]))
            .expect_err("minted");
        assert_eq!(err.code(), "misconfigured", "{bad:?}");
    }
}

#[test]
fn the_route_table_prints_roles_and_scopes() {
    let table = jwt().route_table();
    let members = table.iter().find(|r| r.handler == "list").expect("listed");
    assert_eq!((members.roles, members.scopes), (&["admin"][..], &[][..]));
    let printed = table.to_string();
    let line = |handler: &str| {
        printed
            .lines()
            .find(|line| line.contains(handler))
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
    };
    assert!(printed.starts_with("METHOD"), "{printed}");
    assert_eq!(
        line("desk").expect("desk row")[..6],
        ["GET", "/api/v1/desk", "authed", "-", "admin|editor", "-"]
    );
    assert_eq!(
        line("write_book").expect("write_book row")[..7],
        [
            "POST",
            "/api/v1/books",
            "authed",
            "-",
            "-",
            "books:read",
            "books:write"
        ]
    );
}

/// The log lines `build` writes with `configure`.
fn build_logs(
    configure: impl FnOnce() -> Result<JwtRoutes<Db>, jwt_router::ConfigError>,
) -> String {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("unpoisoned").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || configure().expect("valid configuration"));
    let bytes = buffer.0.lock().expect("unpoisoned").clone();
    String::from_utf8(bytes).expect("UTF-8 logs")
}

fn builder(module: &str) -> jwt_router::JwtRoutesBuilder<Db> {
    JwtRoutes::builder()
        .secret(SECRET)
        .entity::<Member>()
        .entity::<Staff>()
        .module(module)
}

#[test]
fn the_role_audit_warns_about_authed_routes_without_roles_when_asked() {
    let logs = build_logs(|| builder(module_path!()).audit_roles().build());
    let warnings: Vec<&str> = logs.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{logs}");
    assert!(
        warnings[0].contains("an authed route declares no roles or scopes")
            && warnings[0].contains("path=/renew")
            && warnings[0].contains("handler=\"renew\"")
            && warnings[0].contains("tests/routes/roles.rs:"),
        "{logs}"
    );
    assert_eq!(build_logs(|| builder(module_path!()).build()), "");
    // An app without roles has nothing to audit.
    let plain = builder("routes::tokens")
        .build()
        .expect("valid configuration");
    assert!(
        plain
            .route_table()
            .iter()
            .any(|r| r.policy == jwt_router::Policy::Authed)
    );
    assert_eq!(
        build_logs(|| builder("routes::tokens").audit_roles().build()),
        ""
    );
}
