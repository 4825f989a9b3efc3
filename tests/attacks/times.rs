//! Time claims at their exact boundaries, without and with leeway: a token is valid iff
//! `now < exp + leeway`, `nbf <= now + leeway` and `iat <= now + leeway`.
//!
//! Each check computes its boundary from the current second and is repeated if the clock
//! ticked meanwhile (`within_one_second`); the assertions themselves are exact.

use std::time::Duration;

use axum::http::StatusCode;
use jwt_router::{Claims, GuardedRouter, JwtRoutes, authed};
use serde_json::json;

use crate::common::{Db, Reply, SECRET, User, get};
use crate::support::{HS256_HEADER, assert_refused, assert_served, signed, within_one_second};

#[authed(GET, "/clock")]
async fn clock(claims: Claims) -> String {
    format!("sub {}", claims.sub)
}

fn app(leeway: u64) -> GuardedRouter<Db> {
    JwtRoutes::builder()
        .secret(SECRET)
        .entity::<User>()
        .leeway(Duration::from_secs(leeway))
        .module(module_path!())
        .build()
        .expect("valid configuration")
        .router(Db::seeded())
}

/// Which claim is placed at an offset from now; the others are comfortably valid.
#[derive(Debug, Clone, Copy)]
enum At {
    Exp,
    Nbf,
    Iat,
}

/// The reply to a token whose claim `at` is `now + offset`, `now` being the server's second.
async fn reply_at(app: &GuardedRouter<Db>, at: At, offset: i64) -> Reply {
    within_one_second(|now| async move {
        let t = now.checked_add_signed(offset).expect("in range");
        let mut claims = json!({
            "sub": "1", "table_name": "users", "iat": now - 100, "exp": now + 3600
        });
        match at {
            At::Exp => claims["exp"] = json!(t),
            At::Nbf => claims["nbf"] = json!(t),
            At::Iat => claims["iat"] = json!(t),
        }
        let token = signed(HS256_HEADER, &claims.to_string());
        get(app, "/clock", Some(&token)).await
    })
    .await
}

async fn expect(leeway: u64, at: At, offset: i64, refused_with: Option<&str>) {
    let reply = reply_at(&app(leeway), at, offset).await;
    let what = format!("{at:?} = now {offset:+} with leeway {leeway}");
    match refused_with {
        None => assert_served(&reply, "sub 1", &what),
        Some(code) => assert_refused(&reply, code, &what),
    }
}

fn leeways() -> [i64; 3] {
    [0, 1, 30]
}

#[tokio::test]
async fn exp_is_valid_strictly_before_exp_plus_leeway() {
    for l in leeways() {
        let leeway = l.unsigned_abs();
        expect(leeway, At::Exp, 1 - l, None).await;
        expect(leeway, At::Exp, 3600, None).await;
        expect(leeway, At::Exp, -l, Some("token_expired")).await;
        expect(leeway, At::Exp, -l - 1, Some("token_expired")).await;
    }
}

#[tokio::test]
async fn nbf_may_be_at_most_leeway_ahead() {
    for l in leeways() {
        let leeway = l.unsigned_abs();
        expect(leeway, At::Nbf, l - 1, None).await;
        expect(leeway, At::Nbf, l, None).await;
        expect(leeway, At::Nbf, l + 1, Some("invalid_token")).await;
    }
}

#[tokio::test]
async fn iat_may_be_at_most_leeway_ahead() {
    for l in leeways() {
        let leeway = l.unsigned_abs();
        expect(leeway, At::Iat, l - 1, None).await;
        expect(leeway, At::Iat, l, None).await;
        expect(leeway, At::Iat, l + 1, Some("invalid_token")).await;
    }
}

#[tokio::test]
async fn leeway_counts_whole_seconds() {
    // 1.9 s of leeway is 1 s: a token expired 2 s ago stays expired.
    let app = JwtRoutes::builder()
        .secret(SECRET)
        .entity::<User>()
        .leeway(Duration::from_millis(1900))
        .module(module_path!())
        .build()
        .expect("valid configuration")
        .router(Db::seeded());
    assert_eq!(
        reply_at(&app, At::Exp, 0).await.status,
        StatusCode::OK,
        "exp = now within 1 s of leeway"
    );
    assert_refused(
        &reply_at(&app, At::Exp, -1).await,
        "token_expired",
        "exp = now - 1 with 1.9 s of leeway",
    );
}
