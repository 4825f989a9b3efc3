//! Sign-in with an OpenID Connect provider (feature `testing`, which brings `oidc`): a
//! `#[public]` handler exchanges a code at the fake provider's token endpoint over real HTTP on
//! 127.0.0.1, the ID token is verified locally, the member found by email or created, and our
//! own token answered. Every refusal is asserted by status and code.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRef, Query, State};
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use jwt_router::testing::provider::{Failure, FakeProvider};
use jwt_router::{
    AuthError, ClientAuth, Entity, Exchange, ExternalId, IssuerError, JwtRoutes, PendingSignIn,
    Provider, ProviderBuilder, StoreError, Tokens, authed, public,
};
use serde::Deserialize;
use serde_json::{Value, json};

#[allow(dead_code, unreachable_pub)]
#[path = "routes/common.rs"]
mod common;

use common::{Reply, get, send};

const CLIENT_ID: &str = "bookclub-client";
const CLIENT_SECRET: &str = "s3cret-never-in-a-url";
const SECRET: &str = "our own secret, of at least thirty-two bytes";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// Members by id and email; new ones only when `open` is set.
#[derive(Clone, Default)]
struct Members {
    rows: Arc<Mutex<Vec<String>>>,
    open: bool,
}

#[derive(Debug)]
struct Member {
    id: usize,
    email: String,
}

impl Entity for Member {
    const TABLE_NAME: &'static str = "members";
    type Id = usize;
    type Store = Members;

    fn id(&self) -> usize {
        self.id
    }

    async fn load(members: &Members, id: &usize) -> Result<Option<Self>, StoreError> {
        let rows = members
            .rows
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?;
        Ok(rows.get(*id).map(|email| Member {
            id: *id,
            email: email.clone(),
        }))
    }

    async fn load_by_claim(
        members: &Members,
        claim: &str,
        value: &str,
    ) -> Result<Option<Self>, StoreError> {
        let rows = members
            .rows
            .lock()
            .map_err(|_| StoreError::new("poisoned"))?;
        Ok(rows
            .iter()
            .position(|email| claim == "email" && email.eq_ignore_ascii_case(value))
            .map(|id| Member {
                id,
                email: rows[id].clone(),
            }))
    }
}

#[derive(Clone)]
struct App {
    members: Members,
    provider: Provider,
    /// The redirect flow's sign-ins in progress, by the `state` the browser's cookie holds.
    pending: Arc<Mutex<Vec<PendingSignIn>>>,
}

impl FromRef<App> for Members {
    fn from_ref(app: &App) -> Members {
        app.members.clone()
    }
}

#[derive(Deserialize)]
struct CodeBody {
    code: String,
    code_verifier: Option<String>,
    nonce: Option<String>,
}

async fn signed_in(
    app: &App,
    tokens: &Tokens,
    exchange: Exchange<'_>,
) -> Result<Json<Value>, AuthError> {
    let members = app.members.clone();
    let signed = if app.members.open {
        app.provider
            .sign_in_or_create::<Member, _, _>(
                tokens,
                &app.members,
                exchange,
                |claims| async move {
                    let email = claims
                        .verified_email()
                        .map_err(StoreError::new)?
                        .to_lowercase();
                    let mut rows = members
                        .rows
                        .lock()
                        .map_err(|_| StoreError::new("poisoned"))?;
                    rows.push(email.clone());
                    Ok(Member {
                        id: rows.len() - 1,
                        email,
                    })
                },
            )
            .await?
    } else {
        app.provider
            .sign_in::<Member>(tokens, &app.members, exchange)
            .await?
    };
    Ok(Json(json!({
        "id": signed.entity.id,
        "email": signed.entity.email,
        "created": signed.created,
        "token": signed.token,
    })))
}

/// The single-page flow: the client ran the redirect and posts the code.
#[public(POST, "/signin")]
async fn sign_in(
    State(app): State<App>,
    tokens: Tokens,
    Json(body): Json<CodeBody>,
) -> Result<Json<Value>, AuthError> {
    let mut exchange = Exchange::code(&body.code).redirect_uri(REDIRECT);
    if let Some(verifier) = &body.code_verifier {
        exchange = exchange.code_verifier(verifier);
    }
    if let Some(nonce) = &body.nonce {
        exchange = exchange.nonce(nonce);
    }
    signed_in(&app, &tokens, exchange).await
}

/// The server-rendered flow, first leg: off to the provider.
#[public(GET, "/login")]
async fn login(State(app): State<App>) -> Result<axum::response::Response, AuthError> {
    let authorization = app.provider.authorize(None)?;
    let cookie = format!(
        "signin={}; HttpOnly; SameSite=Lax",
        authorization.pending.state()
    );
    app.pending
        .lock()
        .map_err(|_| AuthError::StoreUnavailable)?
        .push(authorization.pending);
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, authorization.url),
            (header::SET_COOKIE, cookie),
        ],
    )
        .into_response())
}

#[derive(Deserialize)]
struct Callback {
    code: String,
    state: String,
}

/// Second leg: the provider sent the browser back; the cookie names its pending sign-in.
#[public(GET, "/callback")]
async fn callback(
    State(app): State<App>,
    tokens: Tokens,
    headers: axum::http::HeaderMap,
    Query(back): Query<Callback>,
) -> Result<Json<Value>, AuthError> {
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("signin="))
        .ok_or(AuthError::StateMismatch)?;
    let pending = {
        let mut all = app
            .pending
            .lock()
            .map_err(|_| AuthError::StoreUnavailable)?;
        let at = all
            .iter()
            .position(|pending| pending.state() == cookie)
            .ok_or(AuthError::StateMismatch)?;
        all.remove(at)
    };
    signed_in(&app, &tokens, pending.exchange(&back.code, &back.state)?).await
}

#[authed(GET, "/me", entity = "members")]
async fn me(member: Member) -> String {
    format!("{} {}", member.id, member.email)
}

struct Setup {
    provider: FakeProvider,
    app: jwt_router::GuardedRouter<App>,
    members: Members,
}

async fn setup(open: bool, auth: ClientAuth) -> Setup {
    setup_with(open, |provider| provider.client_auth(auth)).await
}

/// A setup whose provider configuration `configure` adjusts.
async fn setup_with(
    open: bool,
    configure: impl FnOnce(ProviderBuilder) -> ProviderBuilder,
) -> Setup {
    let provider = FakeProvider::start().await.expect("provider");
    provider.register_client(CLIENT_ID, CLIENT_SECRET);
    let oidc =
        Provider::builder(provider.issuer(), CLIENT_ID, CLIENT_SECRET).redirect_uri(REDIRECT);
    let oidc = configure(oidc)
        .issuer_options(|issuer| {
            issuer
                .timeout(Duration::from_secs(1))
                .cooldown(Duration::from_millis(100))
        })
        .discover()
        .await
        .expect("discovery");
    let members = Members {
        rows: Arc::new(Mutex::new(vec!["ada@example.com".to_owned()])),
        open,
    };
    let jwt = JwtRoutes::<App>::builder()
        .secret(SECRET)
        .entity::<Member>()
        .issuer::<Member>(oidc.issuer().clone(), ExternalId::VerifiedEmail)
        .module(module_path!())
        .build()
        .expect("valid configuration");
    let app = jwt.router(App {
        members: members.clone(),
        provider: oidc,
        pending: Arc::default(),
    });
    Setup {
        provider,
        app,
        members,
    }
}

impl Setup {
    fn code_for(&self, email: &str) -> String {
        let claims = self.provider.email_claims(CLIENT_ID, email, true);
        self.provider.code(
            self.provider.sign(&self.provider.first_kid(), &claims),
            None,
        )
    }

    async fn post(&self, body: Value) -> Reply {
        let request = Request::post("/signin")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        send(&self.app, request).await
    }

    async fn sign_in(&self, code: &str) -> Reply {
        self.post(json!({ "code": code })).await
    }
}

fn refused(reply: &Reply) -> (StatusCode, &str) {
    (reply.status, reply.error_code())
}

#[tokio::test]
async fn first_sign_in_creates_the_member_and_answers_our_token() {
    let setup = setup(true, ClientAuth::Post).await;
    let reply = setup.sign_in(&setup.code_for("Grace@Example.com")).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body["id"], 1);
    assert_eq!(reply.body["email"], "grace@example.com");
    assert_eq!(reply.body["created"], true);
    let token = reply.body["token"].as_str().expect("token");
    let me = get(&setup.app, "/me", Some(token)).await;
    assert_eq!(
        (me.status, me.body),
        (StatusCode::OK, json!("1 grace@example.com"))
    );
}

#[tokio::test]
async fn returning_member_is_found_by_email_in_any_case() {
    let setup = setup(true, ClientAuth::Post).await;
    for email in ["ada@example.com", "ADA@example.COM", " Ada@Example.com "] {
        let reply = setup.sign_in(&setup.code_for(email)).await;
        assert_eq!(reply.status, StatusCode::OK, "{email}: {reply:?}");
        assert_eq!(
            (&reply.body["id"], &reply.body["created"]),
            (&json!(0), &json!(false)),
            "{email}"
        );
    }
    assert_eq!(setup.members.rows.lock().expect("rows").len(), 1);
}

#[tokio::test]
async fn first_sign_in_is_refused_unless_the_app_allows_it() {
    let setup = setup(false, ClientAuth::Post).await;
    let reply = setup.sign_in(&setup.code_for("eve@example.com")).await;
    assert_eq!(
        refused(&reply),
        (StatusCode::UNAUTHORIZED, "unknown_entity")
    );
    let ada = setup.sign_in(&setup.code_for("ada@example.com")).await;
    assert_eq!((ada.status, &ada.body["id"]), (StatusCode::OK, &json!(0)));
}

#[tokio::test]
async fn each_failed_check_is_a_401_with_its_code() {
    let setup = setup(true, ClientAuth::Post).await;
    let provider = &setup.provider;
    let kid = provider.first_kid();
    let valid = || provider.email_claims(CLIENT_ID, "ada@example.com", true);
    let with = |field: &str, value: Value| {
        let mut claims = valid();
        claims[field] = value;
        provider.code(provider.sign(&kid, &claims), None)
    };
    // A key the provider never publishes: a second provider's, under the first's claims.
    let stranger = FakeProvider::start().await.expect("second provider");
    let unknown_key = provider.code(stranger.sign(&stranger.first_kid(), &valid()), None);
    let cases = [
        (with("aud", json!("someone-else")), "wrong_audience"),
        (with("azp", json!("someone-else")), "wrong_audience"),
        (
            with("iss", json!("https://evil.example.com")),
            "wrong_issuer",
        ),
        (with("exp", json!(1)), "token_expired"),
        (unknown_key, "unknown_key"),
        (with("email_verified", json!(false)), "email_not_verified"),
        (with("email", Value::Null), "email_not_verified"),
        ("never-issued".to_owned(), "code_refused"),
    ];
    for (code, expected) in cases {
        let reply = setup.sign_in(&code).await;
        assert_eq!(
            refused(&reply),
            (StatusCode::UNAUTHORIZED, expected),
            "{reply:?}"
        );
    }
    assert_eq!(setup.members.rows.lock().expect("rows").len(), 1);
}

#[tokio::test]
async fn a_hosted_domain_admits_only_its_accounts() {
    let setup = setup_with(true, |provider| provider.hosted_domain("example.com")).await;
    let provider = &setup.provider;
    let code = |hd: Option<&str>| {
        let mut claims = provider.email_claims(CLIENT_ID, "ada@example.com", true);
        if let Some(hd) = hd {
            claims["hd"] = json!(hd);
        }
        provider.code(provider.sign(&provider.first_kid(), &claims), None)
    };
    let reply = setup.sign_in(&code(Some("example.com"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    for hd in [Some("other.example"), Some("EXAMPLE.COM.evil"), None] {
        let reply = setup.sign_in(&code(hd)).await;
        assert_eq!(
            refused(&reply),
            (StatusCode::UNAUTHORIZED, "wrong_hosted_domain"),
            "{hd:?}"
        );
    }
    // The redirect flow asks the provider for the domain's accounts too.
    let login = get(&setup.app, "/login", None).await;
    let location = login.headers[header::LOCATION].to_str().expect("location");
    assert!(location.contains("&hd=example.com"), "{location}");
}

#[tokio::test]
async fn a_provider_without_a_needed_endpoint_is_a_startup_error() {
    for (field, need) in [
        ("token_endpoint", "sign-in"),
        ("authorization_endpoint", "sign-in"),
        ("jwks_uri", "verifying the issuer's tokens"),
    ] {
        let provider = FakeProvider::start().await.expect("provider");
        provider.omit_from_discovery(field);
        let refused = Provider::builder(provider.issuer(), CLIENT_ID, CLIENT_SECRET)
            .discover()
            .await
            .expect_err("no provider without the endpoint");
        assert!(
            matches!(refused, IssuerError::MissingEndpoint { field: named } if named == field),
            "{refused:?}"
        );
        assert_eq!(
            refused.to_string(),
            format!("the discovery document has no `{field}`, which {need} needs")
        );
    }
}

#[tokio::test]
async fn nonce_must_be_the_one_sent() {
    let setup = setup(true, ClientAuth::Post).await;
    let provider = &setup.provider;
    let mut claims = provider.email_claims(CLIENT_ID, "ada@example.com", true);
    claims["nonce"] = json!("n-1");
    let sign = |claims: &Value| provider.code(provider.sign(&provider.first_kid(), claims), None);
    let ok = setup
        .post(json!({"code": sign(&claims), "nonce": "n-1"}))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    let other = setup
        .post(json!({"code": sign(&claims), "nonce": "n-2"}))
        .await;
    assert_eq!(
        refused(&other),
        (StatusCode::UNAUTHORIZED, "nonce_mismatch")
    );
    claims.as_object_mut().expect("object").remove("nonce");
    let missing = setup
        .post(json!({"code": sign(&claims), "nonce": "n-1"}))
        .await;
    assert_eq!(
        refused(&missing),
        (StatusCode::UNAUTHORIZED, "nonce_mismatch")
    );
}

#[tokio::test]
async fn pkce_verifier_must_match_the_challenge_and_a_code_is_single_use() {
    let setup = setup(true, ClientAuth::Post).await;
    let provider = &setup.provider;
    let verifier = "a-verifier-of-at-least-forty-three-characters-long";
    let challenge = s256(verifier);
    let id_token = provider.sign(
        &provider.first_kid(),
        &provider.email_claims(CLIENT_ID, "ada@example.com", true),
    );
    let code = provider.code(id_token.clone(), Some(&challenge));
    let wrong = setup
        .post(json!({"code": code, "code_verifier": "another-verifier-of-forty-three-characters"}))
        .await;
    assert_eq!(refused(&wrong), (StatusCode::UNAUTHORIZED, "code_refused"));
    let absent = setup
        .sign_in(&provider.code(id_token.clone(), Some(&challenge)))
        .await;
    assert_eq!(refused(&absent), (StatusCode::UNAUTHORIZED, "code_refused"));
    // An authorization request stripped of its challenge (a downgrade) is caught at the
    // exchange, which still sends the verifier.
    let stripped = setup
        .post(json!({"code": provider.code(id_token.clone(), None), "code_verifier": verifier}))
        .await;
    assert_eq!(
        refused(&stripped),
        (StatusCode::UNAUTHORIZED, "code_refused")
    );
    let code = provider.code(id_token, Some(&challenge));
    let right = setup
        .post(json!({"code": code, "code_verifier": verifier}))
        .await;
    assert_eq!(right.status, StatusCode::OK, "{right:?}");
    let again = setup
        .post(json!({"code": code, "code_verifier": verifier}))
        .await;
    assert_eq!(refused(&again), (StatusCode::UNAUTHORIZED, "code_refused"));
}

/// RFC 7636's S256, computed here rather than by the library under test.
fn s256(verifier: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Follows the redirect flow as a browser would: the app's `/login`, the provider's
/// authorization endpoint (approving `email`), back to the app's `/callback` with `tamper`
/// applied to the query.
async fn browser_flow(setup: &Setup, email: &str, tamper: impl FnOnce(String) -> String) -> Reply {
    let login = get(&setup.app, "/login", None).await;
    assert_eq!(login.status, StatusCode::FOUND, "{login:?}");
    let location = login.headers[header::LOCATION].to_str().expect("location");
    let cookie = login.headers[header::SET_COOKIE].to_str().expect("cookie");
    let cookie = cookie.split(';').next().expect("cookie value").to_owned();
    assert!(location.starts_with(&format!("{}/authorize?", setup.provider.issuer())));
    jwt_router::install_default_tls_provider();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let at_provider = client
        .get(format!("{location}&login_hint={email}"))
        .send()
        .await
        .expect("the provider answers");
    assert_eq!(at_provider.status(), StatusCode::SEE_OTHER);
    let back = at_provider.headers()[header::LOCATION]
        .to_str()
        .expect("location");
    let query = back
        .strip_prefix(&format!("{REDIRECT}?"))
        .expect("back to the redirect URI");
    let request = Request::get(format!("/callback?{}", tamper(query.to_owned())))
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .expect("request");
    send(&setup.app, request).await
}

#[tokio::test]
async fn redirect_flow_signs_in_with_state_nonce_and_pkce() {
    let setup = setup(true, ClientAuth::Post).await;
    let reply = browser_flow(&setup, "ada%40example.com", |query| query).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(
        (&reply.body["id"], &reply.body["created"]),
        (&json!(0), &json!(false))
    );
    let token = setup.provider.recorded();
    let exchange = token
        .iter()
        .find(|request| request.uri == "/token")
        .expect("a token request");
    assert!(exchange.body.contains("code_verifier="), "{exchange:?}");
}

#[tokio::test]
async fn redirect_flow_refuses_a_forged_state() {
    let setup = setup(true, ClientAuth::Post).await;
    let reply = browser_flow(&setup, "ada%40example.com", |query| {
        let code = query
            .split('&')
            .find(|pair| pair.starts_with("code="))
            .expect("code");
        format!("{code}&state=forged")
    })
    .await;
    assert_eq!(
        refused(&reply),
        (StatusCode::UNAUTHORIZED, "state_mismatch")
    );
    assert_eq!(reply.headers[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(setup.provider.requests().token, 0, "no code exchanged");
}

#[tokio::test]
async fn client_secret_travels_in_the_body_or_basic_auth_never_a_url() {
    for auth in [ClientAuth::Post, ClientAuth::Basic] {
        let setup = setup(true, auth).await;
        let reply = setup.sign_in(&setup.code_for("ada@example.com")).await;
        assert_eq!(reply.status, StatusCode::OK, "{auth:?}: {reply:?}");
        let recorded = setup.provider.recorded();
        assert!(recorded.len() >= 3, "{recorded:?}");
        assert!(
            recorded
                .iter()
                .all(|request| !request.uri.contains(CLIENT_SECRET)),
            "{recorded:?}"
        );
        let token = recorded
            .iter()
            .find(|request| request.uri == "/token")
            .expect("token request");
        assert_eq!(token.method, "POST");
        match auth {
            ClientAuth::Post => {
                assert!(
                    token
                        .body
                        .contains(&format!("client_secret={CLIENT_SECRET}"))
                );
                assert_eq!(token.authorization, None);
            }
            _ => {
                assert!(!token.body.contains(CLIENT_SECRET), "{token:?}");
                assert!(
                    token
                        .authorization
                        .as_deref()
                        .is_some_and(|value| value.starts_with("Basic "))
                );
            }
        }
    }
}

#[tokio::test]
async fn a_wrong_client_secret_is_refused_by_the_provider() {
    let setup = setup(true, ClientAuth::Basic).await;
    setup.provider.register_client(CLIENT_ID, "rotated-secret");
    let reply = setup.sign_in(&setup.code_for("ada@example.com")).await;
    assert_eq!(refused(&reply), (StatusCode::UNAUTHORIZED, "code_refused"));
}

#[tokio::test]
async fn provider_down_or_failing_is_502() {
    let setup = setup(true, ClientAuth::Post).await;
    for failure in [
        Failure::ServerError,
        Failure::Hang(Duration::from_secs(3)),
        Failure::MalformedJson,
    ] {
        setup.provider.fail_token(Some(failure.clone()));
        let reply = setup.sign_in(&setup.code_for("ada@example.com")).await;
        assert_eq!(
            refused(&reply),
            (StatusCode::BAD_GATEWAY, "provider_unavailable"),
            "{failure:?}"
        );
    }
    let code = setup.code_for("ada@example.com");
    let Setup { provider, app, .. } = setup;
    drop(provider);
    let request = Request::post("/signin")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "code": code }).to_string()))
        .expect("request");
    let reply = send(&app, request).await;
    assert_eq!(
        refused(&reply),
        (StatusCode::BAD_GATEWAY, "provider_unavailable")
    );
}

#[tokio::test]
async fn a_key_rotated_in_mid_run_is_fetched_once() {
    let setup = setup(true, ClientAuth::Post).await;
    assert_eq!(
        setup
            .sign_in(&setup.code_for("ada@example.com"))
            .await
            .status,
        StatusCode::OK
    );
    let provider = &setup.provider;
    let old = provider.first_kid();
    let new = provider.add_key(jwt_router::Algorithm::EdDSA);
    provider.remove_key(&old);
    let jwks_before = provider.requests().jwks;
    let claims = provider.email_claims(CLIENT_ID, "ada@example.com", true);
    let reply = setup
        .sign_in(&provider.code(provider.sign(&new, &claims), None))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(provider.requests().jwks, jwks_before + 1);
}

#[tokio::test]
async fn provider_id_tokens_are_bearer_tokens_with_no_provider_call_per_request() {
    let setup = setup(false, ClientAuth::Post).await;
    let before = setup.provider.requests();
    let headers = setup.provider.headers_for(CLIENT_ID, "Ada@example.com");
    let token = headers[header::AUTHORIZATION]
        .to_str()
        .expect("header")
        .trim_start_matches("Bearer ");
    for _ in 0..20 {
        let me = get(&setup.app, "/me", Some(token)).await;
        assert_eq!(
            (me.status, me.body),
            (StatusCode::OK, json!("0 ada@example.com"))
        );
    }
    assert_eq!(setup.provider.requests(), before);
}

#[tokio::test]
async fn userinfo_answers_the_claims_of_the_exchanged_code() {
    let setup = setup(true, ClientAuth::Post).await;
    jwt_router::install_default_tls_provider();
    let client = reqwest::Client::new();
    let answer: Value = client
        .post(format!("{}/token", setup.provider.issuer()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=authorization_code&code={}",
            setup.code_for("ada@example.com")
        ))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let access = answer["access_token"].as_str().expect("access token");
    let userinfo = client
        .get(format!("{}/userinfo", setup.provider.issuer()))
        .bearer_auth(access)
        .send()
        .await
        .expect("userinfo");
    assert_eq!(userinfo.status(), StatusCode::OK);
    let claims: Value = userinfo.json().await.expect("json");
    assert_eq!(
        (&claims["email"], &claims["email_verified"]),
        (&json!("ada@example.com"), &json!(true))
    );
}
