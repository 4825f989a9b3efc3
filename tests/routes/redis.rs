//! The Redis session store (feature `redis`) against a real `redis-server` started on a free
//! 127.0.0.1 port in a temporary directory: the store's semantics, two replicas of the app
//! acting as one, and a Redis that goes away mid-run (503, no panic) and comes back.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use jwt_router::{GuardedRouter, MemorySessions, Presented, Revocation, SessionStore, Spend};

#[path = "../support/redis_server.rs"]
mod redis_server;

use crate::common::{Db, get};
use crate::sessions::{REVOKED, app_on, pair, post, refreshed, refused};
use redis_server::RedisServer;

fn presented<'a>(jti: Option<&'a str>, family: Option<&'a str>, issued_us: u64) -> Presented<'a> {
    Presented {
        jti,
        family,
        table: "users",
        sub: "1",
        issued_us,
    }
}

/// What every store must do, checked against `store`.
async fn conforms(store: &impl SessionStore, tag: &str) {
    let far = in_a_minute();
    let (a, b, f, g) = (
        format!("{tag}-a"),
        format!("{tag}-b"),
        format!("{tag}-f"),
        format!("{tag}-g"),
    );
    let revoked = |token| store.is_revoked(token);
    assert!(
        !revoked(presented(Some(&a), Some(&f), 10))
            .await
            .expect("answers")
    );
    store
        .revoke(Revocation::Token {
            jti: &a,
            until: far,
        })
        .await
        .expect("stored");
    assert!(
        revoked(presented(Some(&a), None, 10))
            .await
            .expect("answers")
    );
    assert!(
        !revoked(presented(Some(&b), Some(&f), 10))
            .await
            .expect("answers")
    );
    store
        .revoke(Revocation::Family {
            family: &f,
            until: far,
        })
        .await
        .expect("stored");
    assert!(
        revoked(presented(Some(&b), Some(&f), 10))
            .await
            .expect("answers")
    );
    assert!(
        !revoked(presented(Some(&b), Some(&g), 10))
            .await
            .expect("answers")
    );

    assert!(matches!(store.spend(&b, far).await, Ok(Spend::First)));
    assert!(matches!(store.spend(&b, far).await, Ok(Spend::Again)));

    // Attempt windows: counted, forgiven, reset when the window closes.
    let window = Duration::from_millis(400);
    let counts = |key| store.attempt(key, window);
    for expected in 1..=3 {
        let attempts = counts(&a).await.expect("counted");
        assert_eq!(attempts.count, expected);
        assert!(attempts.resets_in <= window && !attempts.resets_in.is_zero());
    }
    store.forgive(&a).await.expect("forgiven");
    assert_eq!(counts(&a).await.expect("counted").count, 3);
    assert_eq!(counts(&b).await.expect("counted").count, 1, "another key");
    tokio::time::sleep(window + Duration::from_millis(100)).await;
    assert_eq!(counts(&a).await.expect("counted").count, 1, "a new window");
    store
        .forgive(&f)
        .await
        .expect("no window: nothing to take back");
    assert_eq!(counts(&f).await.expect("counted").count, 1);
}

#[tokio::test]
async fn the_redis_store_keeps_the_memory_stores_semantics() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    conforms(&server.store().await, "r").await;
    conforms(&MemorySessions::new(), "m").await;
    // "Log out everywhere" only widens: an earlier instant doesn't shorten it.
    let store = server.store().await;
    let far = in_a_minute();
    for before_us in [2_000, 1_000] {
        let everywhere = Revocation::Entity {
            table: "users",
            sub: "1",
            before_us,
            until: far,
        };
        store.revoke(everywhere).await.expect("stored");
    }
    let revoked = |issued_us| store.is_revoked(presented(None, None, issued_us));
    assert!(revoked(2_000).await.expect("answers"));
    assert!(!revoked(2_001).await.expect("answers"));
}

/// A minute from now, in seconds since the Unix epoch: an expiry that outlives each test.
fn in_a_minute() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 60
}

#[tokio::test]
async fn of_concurrent_spends_through_redis_exactly_one_wins() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let store = server.store().await;
    let until = in_a_minute();
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let store = store.clone();
        racers.spawn(async move { store.spend("one-token", until).await.expect("answers") });
    }
    let mut first = 0;
    while let Some(spend) = racers.join_next().await {
        first += usize::from(spend.expect("no panic") == Spend::First);
    }
    assert_eq!(first, 1);
}

#[tokio::test]
async fn two_replicas_on_one_redis_act_as_one() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (one, two) = (app_on(server.store().await), app_on(server.store().await));
    let (access, refresh) = pair(&one, 1).await;
    assert_eq!(get(&two, "/me", Some(&access)).await.body, "ada");

    // A logout on one is refused on the other at once.
    let out = post(&two, "/logout", Some(&access)).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{out:?}");
    assert_eq!(refused(&get(&one, "/me", Some(&access)).await), REVOKED);
    assert_eq!(refused(&refreshed(&one, &refresh).await), REVOKED);

    // A refresh token spent on one is refused on the other, and revokes its login there.
    let (access, refresh) = pair(&one, 1).await;
    let next = refreshed(&one, &refresh).await;
    assert_eq!(next.status, StatusCode::OK, "{next:?}");
    assert_eq!(refused(&refreshed(&two, &refresh).await), REVOKED);
    let next_access = next.body["token"].as_str().expect("token");
    for token in [access.as_str(), next_access] {
        assert_eq!(refused(&get(&one, "/me", Some(token)).await), REVOKED);
    }
}

#[tokio::test]
async fn a_redis_that_goes_away_is_a_503_and_its_return_is_used_again() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let app = app_on(server.store().await);
    let (access, refresh) = pair(&app, 1).await;
    assert_eq!(get(&app, "/me", Some(&access)).await.body, "ada");

    server.stop();
    for reply in [
        get(&app, "/me", Some(&access)).await,
        refreshed(&app, &refresh).await,
        post(&app, "/logout", Some(&access)).await,
    ] {
        assert_eq!(
            refused(&reply),
            (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
            "{reply:?}"
        );
    }

    let _restarted = RedisServer::start_on(server.port).expect("restarts");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = get(&app, "/me", Some(&access)).await;
        if reply.status == StatusCode::OK {
            break;
        }
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{reply:?}");
        assert!(Instant::now() < deadline, "the store never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The restarted Redis kept nothing (no persistence): the refresh token is spendable.
    assert_eq!(refreshed(&app, &refresh).await.status, StatusCode::OK);
}

/// An app whose store caches "not revoked" answers with a bound far beyond any wait of these
/// tests: what they see comes from the channel and the heartbeat, never from the bound.
async fn cached_app(server: &RedisServer) -> GuardedRouter<Db> {
    app_on(
        server
            .store()
            .await
            .cache_not_revoked(Duration::from_secs(600)),
    )
}

/// Waits (up to 10 s) until `app`'s checks of `token` are answered from its cache: two in a row
/// that cost Redis no `MGET`.
async fn until_cached(server: &RedisServer, app: &GuardedRouter<Db>, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let before = server.calls("MGET");
        for _ in 0..2 {
            assert_eq!(get(app, "/me", Some(token)).await.body, "ada");
        }
        if server.calls("MGET") == before {
            return;
        }
        assert!(Instant::now() < deadline, "the cache never answered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `app` answers `token` 503 `store_unavailable`, which must be `within` from now.
async fn until_unavailable(app: &GuardedRouter<Db>, token: &str, within: Duration) {
    let started = Instant::now();
    loop {
        let reply = get(app, "/me", Some(token)).await;
        if reply.status != StatusCode::OK {
            let unavailable = (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable");
            assert_eq!(refused(&reply), unavailable, "{reply:?}");
            return;
        }
        assert!(
            started.elapsed() < within,
            "the cache still answers after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_not_revoked_cache_saves_round_trips_and_hears_every_replicas_revocations() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let cached = cached_app(&server).await;
    let plain = app_on(server.store().await);

    // Seen again, a token costs no round trip.
    let (access, _) = pair(&cached, 1).await;
    until_cached(&server, &cached, &access).await;
    let before = server.calls("MGET");
    for _ in 0..20 {
        assert_eq!(get(&cached, "/me", Some(&access)).await.body, "ada");
    }
    assert_eq!(server.calls("MGET"), before, "20 checks from the cache");

    // A logout on the other replica reaches the cached one by its message.
    let out = post(&plain, "/logout", Some(&access)).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let deadline = Instant::now() + Duration::from_secs(5);
    while refused(&get(&cached, "/me", Some(&access)).await) != REVOKED {
        assert!(
            Instant::now() < deadline,
            "the cached replica still serves a logged-out token"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // A logout through the cached replica itself is honoured there at once.
    let (access, _) = pair(&cached, 1).await;
    until_cached(&server, &cached, &access).await;
    let out = post(&cached, "/logout", Some(&access)).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(refused(&get(&cached, "/me", Some(&access)).await), REVOKED);

    // Redis gone: once the listener sees its connection drop, nothing is answered from the
    // cache and the check fails closed.
    let (access, _) = pair(&cached, 1).await;
    until_cached(&server, &cached, &access).await;
    server.stop();
    until_unavailable(&cached, &access, Duration::from_secs(5)).await;

    // Back: served again, and from the cache again once subscribed.
    let server = RedisServer::start_on(server.port).expect("restarts");
    until_cached(&server, &cached, &access).await;
}

#[tokio::test]
async fn a_not_revoked_cache_stops_answering_when_its_subscription_falls_silent() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cached = cached_app(&server).await;
    let (access, _) = pair(&cached, 1).await;
    until_cached(&server, &cached, &access).await;

    // Redis answers nobody for 8 s, the subscription's pings included, yet every connection
    // stays open: the cache must go deaf (3 s) rather than answer on.
    let paused = std::process::Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &server.port.to_string()])
        .args(["CLIENT", "PAUSE", "8000", "ALL"])
        .output()
        .expect("redis-cli runs");
    assert!(paused.status.success(), "{paused:?}");
    until_unavailable(&cached, &access, Duration::from_secs(7)).await;
}
