//! Sessions: token pairs, refresh rotation with reuse detection, logout, logout everywhere,
//! the guard's revocation check, and a store that fails (closed).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use jwt_router::{
    Attempts, AuthError, Claims, GuardedRouter, JwtRoutes, JwtRoutesBuilder, MemorySessions,
    Presented, Revocation, SessionStore, Spend, StoreError, StoreFuture, TokenPair, Tokens, authed,
    public,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::common::{Db, Reply, SECRET, User, get, now, request, send};

#[public(POST, "/login/{id}")]
async fn login(
    State(db): State<Db>,
    tokens: Tokens,
    Path(id): Path<u64>,
) -> Result<Json<TokenPair>, AuthError> {
    let name = db.users.get(&id).ok_or(AuthError::EntityNotFound)?;
    let user = User {
        id,
        name: name.clone(),
    };
    Ok(Json(tokens.create_pair_for(&user)?))
}

/// A token without a family, as apps minted before sessions.
#[public(POST, "/plain-login/{id}")]
async fn plain_login(tokens: Tokens, Path(id): Path<u64>) -> Result<String, AuthError> {
    tokens.create_token::<User>(&id)
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: String,
}

#[public(POST, "/refresh")]
async fn refresh(
    tokens: Tokens,
    Json(body): Json<RefreshBody>,
) -> Result<Json<TokenPair>, AuthError> {
    Ok(Json(tokens.refresh(&body.refresh_token).await?))
}

#[authed(POST, "/logout")]
async fn logout(tokens: Tokens) -> Result<StatusCode, AuthError> {
    tokens.logout().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[authed(POST, "/logout-all", entity = "users")]
async fn logout_all(user: User, tokens: Tokens) -> Result<StatusCode, AuthError> {
    tokens.logout_everywhere::<User>(&user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Tokens minted for the caller's own entity stay in the caller's session.
#[authed(POST, "/renew", entity = "users")]
async fn renew(user: User, tokens: Tokens) -> Result<String, AuthError> {
    Ok(format!(
        "{} {}",
        tokens.update_token()?,
        tokens.create_token::<User>(&user.id)?
    ))
}

/// A sensitive route: only a token minted by a login.
#[authed(POST, "/password", entity = "users", fresh)]
async fn change_password(user: User) -> String {
    format!("{} may change the password", user.name)
}

#[authed(GET, "/me", entity = "users")]
async fn me(user: User) -> String {
    user.name
}

#[public(GET, "/maybe")]
async fn maybe(claims: Option<Claims>) -> String {
    claims.map_or_else(|| "anonymous".to_owned(), |c| c.sub)
}

/// The in-memory store behind a switch that makes it fail, as a shared store does when its
/// server goes away.
#[derive(Clone, Default)]
struct Flaky {
    store: Arc<MemorySessions>,
    failing: Arc<AtomicBool>,
}

impl Flaky {
    fn check(&self) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::new("connection refused"));
        }
        Ok(())
    }
}

impl SessionStore for Flaky {
    fn spend<'a>(&'a self, jti: &'a str, until: u64) -> StoreFuture<'a, Spend> {
        match self.check() {
            Ok(()) => self.store.spend(jti, until),
            Err(err) => Box::pin(async { Err(err) }),
        }
    }

    fn revoke<'a>(&'a self, revocation: Revocation<'a>) -> StoreFuture<'a, ()> {
        match self.check() {
            Ok(()) => self.store.revoke(revocation),
            Err(err) => Box::pin(async { Err(err) }),
        }
    }

    fn is_revoked<'a>(&'a self, token: Presented<'a>) -> StoreFuture<'a, bool> {
        match self.check() {
            Ok(()) => self.store.is_revoked(token),
            Err(err) => Box::pin(async { Err(err) }),
        }
    }

    fn attempt<'a>(&'a self, key: &'a str, window: Duration) -> StoreFuture<'a, Attempts> {
        match self.check() {
            Ok(()) => self.store.attempt(key, window),
            Err(err) => Box::pin(async { Err(err) }),
        }
    }

    fn forgive<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        match self.check() {
            Ok(()) => self.store.forgive(key),
            Err(err) => Box::pin(async { Err(err) }),
        }
    }
}

/// This module's routes, 15-minute access and 1-hour refresh tokens.
fn builder() -> JwtRoutesBuilder<Db> {
    JwtRoutes::builder()
        .secret(SECRET)
        .expire_in(Duration::from_secs(900))
        .refresh_expire_in(Duration::from_secs(3600))
        .entity::<User>()
        .module(module_path!())
}

/// This module's routes on `store`: one replica of the app.
pub(crate) fn app_on(store: impl SessionStore) -> GuardedRouter<Db> {
    let jwt = builder().sessions(store).build();
    jwt.expect("valid configuration").router(Db::seeded())
}

fn app() -> (GuardedRouter<Db>, Flaky) {
    let store = Flaky::default();
    (app_on(store.clone()), store)
}

pub(crate) async fn post(app: &GuardedRouter<Db>, uri: &str, token: Option<&str>) -> Reply {
    send(app, request("POST", uri, token)).await
}

pub(crate) async fn pair(app: &GuardedRouter<Db>, id: u64) -> (String, String) {
    let reply = post(app, &format!("/login/{id}"), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    let token = |field: &str| reply.body[field].as_str().expect(field).to_owned();
    (token("token"), token("refresh_token"))
}

pub(crate) async fn refreshed(app: &GuardedRouter<Db>, refresh_token: &str) -> Reply {
    let body = json!({ "refresh_token": refresh_token }).to_string();
    let request = Request::post("/refresh")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("request");
    send(app, request).await
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("JSON")
}

/// The two tokens `/renew` mints for the caller of `access`: `update_token`'s and
/// `create_token`'s.
async fn renewed(app: &GuardedRouter<Db>, access: &str) -> Vec<String> {
    let reply = post(app, "/renew", Some(access)).await;
    let tokens = reply.body.as_str().expect("tokens");
    tokens.split(' ').map(str::to_owned).collect()
}

pub(crate) fn refused(reply: &Reply) -> (StatusCode, &str) {
    (reply.status, reply.error_code())
}

pub(crate) const REVOKED: (StatusCode, &str) = (StatusCode::UNAUTHORIZED, "token_revoked");

#[tokio::test]
async fn a_login_pair_serves_and_refreshes_and_each_token_keeps_its_use() {
    let (app, _) = app();
    let (access, refresh) = pair(&app, 1).await;
    let (a, r) = (claims_of(&access), claims_of(&refresh));
    assert_eq!(a["fam"], r["fam"], "one family");
    assert_eq!((&a["refresh"], &r["refresh"]), (&Value::Null, &json!(true)));
    assert_eq!(
        a["exp"].as_u64().expect("exp") - a["iat"].as_u64().expect("iat"),
        900
    );
    assert_eq!(
        r["exp"].as_u64().expect("exp") - r["iat"].as_u64().expect("iat"),
        3600
    );
    assert_ne!(a["jti"], r["jti"]);

    assert_eq!(get(&app, "/me", Some(&access)).await.body, "ada");
    // A refresh token is no access token, on an authed route or an optional one.
    for uri in ["/me", "/maybe"] {
        let reply = get(&app, uri, Some(&refresh)).await;
        assert_eq!(refused(&reply), (StatusCode::UNAUTHORIZED, "invalid_token"));
        assert_eq!(
            reply.body["message"],
            "a refresh token is not an access token"
        );
    }
    // And an access token buys no pair.
    let reply = refreshed(&app, &access).await;
    assert_eq!(refused(&reply), (StatusCode::UNAUTHORIZED, "invalid_token"));

    let reply = refreshed(&app, &refresh).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    let new_access = reply.body["token"].as_str().expect("token");
    let new_refresh = reply.body["refresh_token"].as_str().expect("refresh token");
    let (na, nr) = (claims_of(new_access), claims_of(new_refresh));
    assert_eq!(
        (&na["fam"], &nr["fam"]),
        (&a["fam"], &a["fam"]),
        "same family"
    );
    assert_eq!(
        nr["exp"], r["exp"],
        "the session ends when its login's refresh does"
    );
    assert_eq!(get(&app, "/me", Some(new_access)).await.body, "ada");
    assert_eq!(
        get(&app, "/me", Some(&access)).await.body,
        "ada",
        "not revoked"
    );
}

#[tokio::test]
async fn a_replayed_refresh_token_revokes_its_whole_family_and_only_it() {
    let (app, _) = app();
    let (first_access, first_refresh) = pair(&app, 1).await;
    let (other_access, _) = pair(&app, 1).await;
    let second = refreshed(&app, &first_refresh).await;
    assert_eq!(second.status, StatusCode::OK);
    let second_access = second.body["token"].as_str().expect("token");
    let second_refresh = second.body["refresh_token"].as_str().expect("refresh");

    // The thief (or the owner, second) presents the spent token again.
    let replay = refreshed(&app, &first_refresh).await;
    assert_eq!(refused(&replay), REVOKED);
    for access in [first_access.as_str(), second_access] {
        assert_eq!(refused(&get(&app, "/me", Some(access)).await), REVOKED);
    }
    assert_eq!(refused(&refreshed(&app, second_refresh).await), REVOKED);
    // Another login of the same user is another family.
    assert_eq!(get(&app, "/me", Some(&other_access)).await.body, "ada");
}

#[tokio::test]
async fn of_concurrent_refreshes_of_one_token_exactly_one_wins() {
    let (app, _) = app();
    let (_, refresh) = pair(&app, 1).await;
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (app, refresh) = (app.clone(), refresh.clone());
        racers.spawn(async move { refreshed(&app, &refresh).await });
    }
    let mut won = 0;
    while let Some(reply) = racers.join_next().await {
        let reply = reply.expect("no panic");
        match reply.status {
            StatusCode::OK => won += 1,
            _ => assert_eq!(refused(&reply), REVOKED),
        }
    }
    assert_eq!(won, 1);
}

#[tokio::test]
async fn refresh_expiry_is_exact_and_forged_refresh_tokens_fail() {
    let (app, _) = app();
    let now = now();
    let forge = |exp: u64, secret: &str| {
        let claims = json!({
            "sub": "1", "table_name": "users", "iat": now - 10, "exp": exp,
            "jti": format!("r-{exp}-{}", secret.len()), "fam": "f", "refresh": true,
        });
        jsonwebtoken::encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("encodes")
    };
    let expired = refreshed(&app, &forge(now, SECRET)).await;
    assert_eq!(
        refused(&expired),
        (StatusCode::UNAUTHORIZED, "token_expired")
    );
    let valid = refreshed(&app, &forge(now + 5, SECRET)).await;
    assert_eq!(valid.status, StatusCode::OK, "{valid:?}");
    let forged = refreshed(&app, &forge(now + 5, "another secret of 32 bytes or more")).await;
    assert_eq!(
        refused(&forged),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    // A refresh token without a family or id is not one this server minted.
    let claims = json!({
        "sub": "1", "table_name": "users", "iat": now, "exp": now + 60, "refresh": true,
    });
    let bare = jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("encodes");
    let reply = refreshed(&app, &bare).await;
    assert_eq!(refused(&reply), (StatusCode::UNAUTHORIZED, "invalid_token"));
}

#[tokio::test]
async fn logout_revokes_the_token_and_its_refresh_token_not_other_sessions() {
    let (app, _) = app();
    let (access, refresh) = pair(&app, 1).await;
    let (other, _) = pair(&app, 1).await;
    let renewed = renewed(&app, &access).await;
    for token in &renewed {
        assert_eq!(get(&app, "/me", Some(token)).await.body, "ada");
    }
    let reply = post(&app, "/logout", Some(&access)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{reply:?}");
    assert_eq!(refused(&get(&app, "/me", Some(&access)).await), REVOKED);
    assert_eq!(refused(&get(&app, "/maybe", Some(&access)).await), REVOKED);
    assert_eq!(refused(&refreshed(&app, &refresh).await), REVOKED);
    for token in &renewed {
        assert_eq!(refused(&get(&app, "/me", Some(token)).await), REVOKED);
    }
    assert_eq!(get(&app, "/me", Some(&other)).await.body, "ada");
    assert_eq!(get(&app, "/maybe", None).await.body, "anonymous");
}

#[tokio::test]
async fn logout_everywhere_cuts_off_every_earlier_token_of_the_entity_only() {
    let (app, _) = app();
    let (access, refresh) = pair(&app, 1).await;
    let plain = post(&app, "/plain-login/1", None).await;
    let plain = plain.body.as_str().expect("token").to_owned();
    // A token minted before sessions existed: no jti, no family, a whole-second iat.
    let now = now();
    let legacy = jsonwebtoken::encode(
        &Header::default(),
        &json!({ "sub": "1", "table_name": "users", "iat": now, "exp": now + 60 }),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("encodes");
    let (grace, _) = pair(&app, 2).await;
    for token in [&access, &plain, &legacy] {
        assert_eq!(get(&app, "/me", Some(token)).await.status, StatusCode::OK);
    }

    let reply = post(&app, "/logout-all", Some(&legacy)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{reply:?}");
    for token in [&access, &plain, &legacy] {
        assert_eq!(refused(&get(&app, "/me", Some(token)).await), REVOKED);
    }
    assert_eq!(refused(&refreshed(&app, &refresh).await), REVOKED);
    assert_eq!(get(&app, "/me", Some(&grace)).await.body, "grace");
    // A login right after is a new session, in the same second or not.
    let (fresh, _) = pair(&app, 1).await;
    assert_eq!(get(&app, "/me", Some(&fresh)).await.body, "ada");
}

/// A refresh that checked its token just before a logout everywhere mints its pair just after
/// (an attacker refreshing a stolen token in a loop won this race about half the time): the
/// pair belongs to a session begun before the logout, and is refused with it.
#[tokio::test]
async fn a_token_minted_after_logout_everywhere_from_an_earlier_session_is_refused() {
    let jwt = builder()
        .sessions(MemorySessions::new())
        .build()
        .expect("valid configuration");
    let app = jwt.router(Db::seeded());
    let (access, refresh) = pair(&app, 1).await;
    let next = refreshed(&app, &refresh).await;
    assert_eq!(next.status, StatusCode::OK, "{next:?}");
    let refreshed_access = next.body["token"].as_str().expect("token").to_owned();
    // What the refresh in flight had verified, before the logout.
    let checked = jwt.verify(&refreshed_access).expect("verifies");

    let reply = post(&app, "/logout-all", Some(&access)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{reply:?}");
    let minted_after = jwt.update_token(&checked).expect("renews");
    assert!(
        claims_of(&minted_after)["iat_us"].as_u64() > claims_of(&access)["iat_us"].as_u64(),
        "minted after the logout"
    );
    for token in [&refreshed_access, &minted_after] {
        assert_eq!(refused(&get(&app, "/me", Some(token)).await), REVOKED);
    }
    // A login after the logout is a session of its own.
    let (fresh, _) = pair(&app, 1).await;
    assert_eq!(get(&app, "/me", Some(&fresh)).await.body, "ada");
}

#[tokio::test]
async fn a_failing_store_fails_closed_with_503_and_recovers() {
    let (app, store) = app();
    let (access, refresh) = pair(&app, 1).await;
    store.failing.store(true, Ordering::SeqCst);
    for reply in [
        get(&app, "/me", Some(&access)).await,
        get(&app, "/maybe", Some(&access)).await,
        refreshed(&app, &refresh).await,
        post(&app, "/logout", Some(&access)).await,
    ] {
        assert_eq!(
            refused(&reply),
            (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
            "{reply:?}"
        );
    }
    // Routes that need no session answer as before.
    assert_eq!(get(&app, "/maybe", None).await.body, "anonymous");
    store.failing.store(false, Ordering::SeqCst);
    assert_eq!(get(&app, "/me", Some(&access)).await.body, "ada");
    assert_eq!(refreshed(&app, &refresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_full_memory_store_refuses_new_revocations_instead_of_dropping_old_ones() {
    let app = JwtRoutes::builder()
        .secret(SECRET)
        .sessions(MemorySessions::with_capacity(1))
        .entity::<User>()
        .module(module_path!())
        .build()
        .expect("valid configuration")
        .router(Db::seeded());
    let (first, _) = pair(&app, 1).await;
    let (second, _) = pair(&app, 1).await;
    // One entry for the token, one for the family: the second can't be stored.
    let reply = post(&app, "/logout", Some(&first)).await;
    assert_eq!(
        refused(&reply),
        (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
    );
    assert_eq!(refused(&get(&app, "/me", Some(&first)).await), REVOKED);
    let reply = post(&app, "/logout", Some(&second)).await;
    assert_eq!(refused(&reply).0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(get(&app, "/me", Some(&second)).await.body, "ada");
}

#[tokio::test]
async fn without_a_store_pairs_are_a_configuration_error_and_tokens_stay_stateless() {
    let app = builder()
        .build()
        .expect("valid configuration")
        .router(Db::seeded());
    let reply = post(&app, "/login/1", None).await;
    assert_eq!(
        refused(&reply),
        (StatusCode::INTERNAL_SERVER_ERROR, "misconfigured")
    );
    let token = post(&app, "/plain-login/1", None).await;
    let token = token.body.as_str().expect("token").to_owned();
    assert_eq!(get(&app, "/me", Some(&token)).await.body, "ada");
    let reply = post(&app, "/logout", Some(&token)).await;
    assert_eq!(refused(&reply).1, "misconfigured");
}

#[tokio::test]
async fn a_fresh_route_takes_only_a_token_minted_by_a_login() {
    let (app, _) = app();
    let (access, refresh) = pair(&app, 1).await;
    let reply = post(&app, "/password", Some(&access)).await;
    assert_eq!(reply.body, "ada may change the password", "{reply:?}");
    let plain = post(&app, "/plain-login/1", None).await;
    let plain = plain.body.as_str().expect("token").to_owned();
    assert_eq!(
        post(&app, "/password", Some(&plain)).await.status,
        StatusCode::OK
    );

    let refreshed = refreshed(&app, &refresh).await;
    let refreshed = refreshed.body["token"].as_str().expect("token").to_owned();
    let renewed = renewed(&app, &access).await;
    for token in [&refreshed, &renewed[0], &renewed[1]] {
        // Still a valid token elsewhere.
        assert_eq!(get(&app, "/me", Some(token)).await.body, "ada");
        let reply = post(&app, "/password", Some(token)).await;
        assert_eq!(
            refused(&reply),
            (StatusCode::UNAUTHORIZED, "fresh_token_required")
        );
        assert_eq!(reply.challenge(), "Bearer error=\"invalid_token\"");
    }
    let table = app.route_table().to_string();
    assert!(
        table
            .lines()
            .any(|line| line.contains("/password") && line.contains("authed (fresh)")),
        "{table}"
    );
}

#[tokio::test]
async fn a_cached_token_is_still_checked_against_the_store() {
    let jwt = builder()
        .sessions(MemorySessions::new())
        .verified_cache(16)
        .build();
    let app = jwt.expect("valid configuration").router(Db::seeded());
    let (access, refresh) = pair(&app, 1).await;
    assert_eq!(get(&app, "/me", Some(&access)).await.status, StatusCode::OK);
    // A refresh token is never remembered as an access token, however often it is shown.
    for _ in 0..2 {
        let reply = get(&app, "/me", Some(&refresh)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    // The access token was verified and remembered; logging out still revokes it at once.
    let reply = post(&app, "/logout", Some(&access)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = get(&app, "/me", Some(&access)).await;
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::UNAUTHORIZED, "token_revoked")
    );
}
