//! Two bookstore processes behind one `SECRET_KEY`, on one real PostgreSQL (`DATABASE_URL`) and
//! one real Redis (`REDIS_URL`), act as one: a user registered on one logs in on the other, a
//! logout on one is refused on the other at once, a refresh token spent on one is refused (and
//! its login revoked) on the other, and failed logins are counted across both.
//!
//! Each replica is this test binary again, run as `bookstore_replica` (an ignored test that
//! serves the bookstore until it is killed), so it is always built from the code under test.

#[path = "../examples/bookstore/app/mod.rs"]
mod app;
#[path = "support/bookstore.rs"]
#[allow(dead_code)]
mod fixture;
#[path = "support/postgres_server.rs"]
mod postgres_server;
#[path = "support/redis_server.rs"]
#[allow(dead_code)]
mod redis_server;

use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use fixture::{PASSWORD, TempDb};

/// Serves the bookstore as a replica when the parent test starts this binary for it.
#[test]
#[ignore = "a bookstore replica, started in its own process by two_bookstore_processes_act_as_one"]
fn bookstore_replica() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let config = app::Config {
        redis_url: Some(var("REPLICA_REDIS_URL")),
        ..fixture::config(var("REPLICA_DATABASE_URL"))
    };
    let port: u16 = var("REPLICA_PORT").parse().expect("a port");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .expect("binds");
        app::serve(config, listener, std::future::pending())
            .await
            .expect("serves");
    });
}

/// A replica process, killed on drop.
struct Replica {
    child: Child,
    base: String,
}

impl Replica {
    async fn start(client: &Client, database_url: &str, redis_url: &str) -> Self {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(std::env::current_exe().expect("this test binary"))
            .args(["--ignored", "--exact", "bookstore_replica", "--nocapture"])
            .env("REPLICA_DATABASE_URL", database_url)
            .env("REPLICA_REDIS_URL", redis_url)
            .env("REPLICA_PORT", port.to_string())
            .stdout(Stdio::null())
            .spawn()
            .expect("the replica starts");
        let replica = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let health = client.get(format!("{}/health", replica.base)).send().await;
            if health.is_ok_and(|answer| answer.status() == StatusCode::OK) {
                return replica;
            }
            assert!(
                Instant::now() < deadline,
                "the replica never answered /health"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Status and JSON body of a POST (with a bearer token, if any).
async fn post(
    client: &Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.expect("an answer");
    let status = answer.status();
    (status, answer.json().await.unwrap_or(Value::Null))
}

async fn me(client: &Client, replica: &Replica, token: &str) -> (StatusCode, Value) {
    let answer = client
        .get(format!("{}/api/v1/users/me", replica.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("an answer");
    let status = answer.status();
    (status, answer.json().await.unwrap_or(Value::Null))
}

fn text<'a>(body: &'a Value, field: &str) -> &'a str {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {body}"))
}

#[tokio::test]
async fn two_bookstore_processes_act_as_one() {
    let Some(redis) = redis_server::RedisServer::start() else {
        return;
    };
    let db = TempDb::postgres();
    let database_url = db.database_url();
    // With `oidc`, reqwest has rustls but no crypto provider of its own.
    #[cfg(feature = "oidc")]
    jwt_router::install_default_tls_provider();
    let client = Client::new();
    // One after the other: the first migrates the database.
    let one = Replica::start(&client, &database_url, &redis.url()).await;
    let two = Replica::start(&client, &database_url, &redis.url()).await;
    let login = |replica: &Replica, password: &str| {
        post(
            &client,
            format!("{}/api/v1/users/login", replica.base),
            None,
            json!({ "email": "ann@example.com", "password": password }),
        )
    };

    let (status, _) = post(
        &client,
        format!("{}/api/v1/users", one.base),
        None,
        json!({ "name": "Ann", "email": "ann@example.com", "password": PASSWORD }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // Registered on one, logged in on the other; logged out on one, refused on the other.
    let (status, pair) = login(&two, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let access = text(&pair, "token");
    assert_eq!(me(&client, &one, access).await.0, StatusCode::OK);
    let (status, _) = post(
        &client,
        format!("{}/api/v1/auth/logout", one.base),
        Some(access),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = me(&client, &two, access).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::UNAUTHORIZED, &json!("token_revoked"))
    );

    // A refresh token spent on one is refused on the other, and its login with it.
    let (_, pair) = login(&one, PASSWORD).await;
    let refresh = json!({ "refresh_token": text(&pair, "refresh_token") });
    let (status, next) = post(
        &client,
        format!("{}/api/v1/auth/refresh", one.base),
        None,
        refresh.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{next}");
    let (status, body) = post(
        &client,
        format!("{}/api/v1/auth/refresh", two.base),
        None,
        refresh,
    )
    .await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::UNAUTHORIZED, &json!("token_revoked"))
    );
    let (status, _) = me(&client, &one, text(&next, "token")).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the login's newer access token is revoked too"
    );

    // Failed logins are counted across both: 10 allowed, then 429 on either, right password or not.
    for replica in [&one, &two].repeat(5) {
        assert_eq!(
            login(replica, "a wrong password").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    for replica in [&one, &two] {
        let (status, body) = login(replica, PASSWORD).await;
        assert_eq!(
            (status, &body["error"]),
            (StatusCode::TOO_MANY_REQUESTS, &json!("too_many_requests"))
        );
    }
    // The replicas stop before their database goes.
    drop((one, two));
    drop(db);
}
