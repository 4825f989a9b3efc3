//! A fake OpenID Connect provider on `127.0.0.1`, for tests of code that verifies an issuer's
//! tokens or signs users in: a discovery document, a JWKS of keys generated per run, ID tokens
//! minted with any claims, authorization codes exchanged at a real token endpoint (client
//! authentication and PKCE checked), an authorization endpoint that approves any email (or
//! answers `access_denied` when its form is cancelled), a userinfo endpoint, key rotation, failures on demand, and every request recorded.
//!
//! ```
//! # extern crate jwt_router_runtime as jwt_router;
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use jwt_router::Issuer;
//! use jwt_router::testing::provider::FakeProvider;
//!
//! let provider = FakeProvider::start().await.unwrap();
//! let issuer = Issuer::discover(provider.issuer(), "my-app").await.unwrap();
//! let token = provider.id_token("my-app", "user-1");
//! assert_eq!(issuer.verify(&token).await.unwrap().sub, "user-1");
//! # }
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey};
use rand_core::{OsRng, RngCore};
use serde_json::{Value, json};
use tokio::task::AbortHandle;

use crate::signin::challenge;
use crate::token::now;

/// A failure the provider answers with instead of its document, until cleared.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Failure {
    /// `500 Internal Server Error`.
    ServerError,
    /// The normal answer, after this delay (longer than the client's timeout).
    Hang(Duration),
    /// A `200` whose body is this many bytes, streamed without a `Content-Length`.
    HugeBody(usize),
    /// A `200` whose body is not JSON.
    MalformedJson,
    /// The key set with its first key listed twice (JWKS only).
    DuplicateKids,
    /// `302 Found` to this location.
    Redirect(String),
}

/// Requests the provider has received, by endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Requests {
    /// `/.well-known/openid-configuration`.
    pub discovery: u64,
    /// The key set (`/jwks`).
    pub jwks: u64,
    /// The authorization endpoint (`/authorize`).
    pub authorize: u64,
    /// The token endpoint (`/token`).
    pub token: u64,
    /// The userinfo endpoint (`/userinfo`).
    pub userinfo: u64,
    /// Any other path: a verifier that follows `jku` or `x5u` shows up here.
    pub other: u64,
}

/// One request the provider received, as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recorded {
    /// The method.
    pub method: String,
    /// The path and query, as sent.
    pub uri: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The body, as text (lossy).
    pub body: String,
}

/// A code the token endpoint exchanges once for its ID token.
#[derive(Debug, Clone)]
struct Grant {
    id_token: String,
    code_challenge: Option<String>,
    redirect_uri: Option<String>,
}

/// A fake OpenID Connect provider serving on `127.0.0.1`; stops when dropped.
#[derive(Debug)]
pub struct FakeProvider {
    issuer: String,
    state: Arc<ProviderState>,
    server: AbortHandle,
}

#[derive(Debug, Default)]
struct ProviderState {
    issuer: String,
    keys: Mutex<Vec<SigningKey>>,
    document_issuer: Mutex<Option<String>>,
    /// Fields left out of the discovery document.
    omitted: Mutex<Vec<String>>,
    cache_control: Mutex<Option<String>>,
    discovery_failure: Mutex<Option<Failure>>,
    jwks_failure: Mutex<Option<Failure>>,
    token_failure: Mutex<Option<Failure>>,
    /// The client id and secret the token endpoint requires, once registered.
    client: Mutex<Option<(String, String)>>,
    codes: Mutex<HashMap<String, Grant>>,
    /// Access tokens handed out, with the claims userinfo answers for them.
    access_tokens: Mutex<HashMap<String, Value>>,
    recorded: Mutex<Vec<Recorded>>,
    discovery: AtomicU64,
    jwks: AtomicU64,
    authorize: AtomicU64,
    token: AtomicU64,
    userinfo: AtomicU64,
    other: AtomicU64,
}

struct SigningKey {
    kid: String,
    alg: Algorithm,
    key: EncodingKey,
    jwk: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeProvider {
    /// Starts a provider on `127.0.0.1` on a free port, with one ES256 key.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let issuer = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(ProviderState {
            issuer: issuer.clone(),
            ..ProviderState::default()
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .fallback(other)
            .layer(middleware::from_fn_with_state(Arc::clone(&state), record))
            .with_state(Arc::clone(&state));
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let provider = Self {
            issuer,
            state,
            server: server.abort_handle(),
        };
        provider.add_key(Algorithm::ES256);
        Ok(provider)
    }

    /// The issuer URL, `http://127.0.0.1:<port>`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Publishes a new key for `alg` (ES256, EdDSA or RS256) and returns its `kid`. ES256 and
    /// EdDSA keys are generated per call; RSA generation is slow in debug builds, so RS256
    /// keys share one key pair generated once per process, each under its own `kid`.
    ///
    /// # Panics
    /// For another algorithm.
    pub fn add_key(&self, alg: Algorithm) -> String {
        let key = match alg {
            Algorithm::ES256 => es256(),
            Algorithm::EdDSA => ed25519(),
            Algorithm::RS256 => rs256().clone(),
            other => panic!("the fake provider has no {other:?} keys"),
        };
        let kid = random_id();
        let mut jwk = match Jwk::from_encoding_key(&key, alg) {
            Ok(jwk) => jwk,
            Err(err) => panic!("fake provider JWK: {err}"),
        };
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        lock(&self.state.keys).push(SigningKey {
            kid: kid.clone(),
            alg,
            key,
            jwk,
        });
        kid
    }

    /// Stops publishing the key `kid`, as a provider does when it rotates a key out.
    pub fn remove_key(&self, kid: &str) {
        lock(&self.state.keys).retain(|key| key.kid != kid);
    }

    /// The `kid` of the first published key.
    ///
    /// # Panics
    /// If no key is published.
    pub fn first_kid(&self) -> String {
        self.state.first_kid()
    }

    /// The published JWK of `kid`.
    pub fn jwk(&self, kid: &str) -> Option<Jwk> {
        lock(&self.state.keys)
            .iter()
            .find(|key| key.kid == kid)
            .map(|key| key.jwk.clone())
    }

    /// Claims of a valid ID token for `audience` and `sub`, issued now, valid 5 minutes.
    pub fn claims(&self, audience: &str, sub: &str) -> Value {
        self.state.claims(audience, sub)
    }

    /// Claims of a valid ID token for `audience` and `email` (its `sub` derived from the
    /// lowercased email, so one person keeps one `sub`), with `email_verified` as given.
    pub fn email_claims(&self, audience: &str, email: &str, verified: bool) -> Value {
        self.state.email_claims(audience, email, verified)
    }

    /// A valid ID token for `audience` and `sub`, signed with the first key.
    pub fn id_token(&self, audience: &str, sub: &str) -> String {
        self.sign(&self.first_kid(), &self.claims(audience, sub))
    }

    /// `claims` signed with the published key `kid`, with the header that key calls for.
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        self.state.sign(kid, claims)
    }

    /// `claims` under any `header`, signed with key `kid` by that key's own algorithm: for
    /// tokens whose header lies (another `alg`, a `jku`, a forged `kid`).
    ///
    /// # Panics
    /// If `kid` is not a published key.
    pub fn sign_with_header(&self, kid: &str, header: &Value, claims: &Value) -> String {
        self.state.sign_with_header(kid, header, claims)
    }

    /// `Authorization: Bearer` with a valid ID token for `audience` and the verified `email`:
    /// a request as a client holding the provider's token makes it. For a request as a given
    /// entity with this app's own token, use [`headers_for`](crate::testing::headers_for).
    pub fn headers_for(&self, audience: &str, email: &str) -> HeaderMap {
        let token = self.sign(&self.first_kid(), &self.email_claims(audience, email, true));
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, super::bearer(&token));
        headers
    }

    /// A code the token endpoint exchanges, once, for `id_token`; with `code_challenge` (PKCE
    /// S256), only together with the verifier of that challenge, and without, only with no
    /// verifier.
    pub fn code(&self, id_token: impl Into<String>, code_challenge: Option<&str>) -> String {
        self.state.grant(Grant {
            id_token: id_token.into(),
            code_challenge: code_challenge.map(str::to_owned),
            redirect_uri: None,
        })
    }

    /// From now on the token endpoint requires this client id and secret, in the body or by
    /// HTTP Basic (until then it takes any client).
    pub fn register_client(&self, client_id: &str, client_secret: &str) {
        *lock(&self.state.client) = Some((client_id.to_owned(), client_secret.to_owned()));
    }

    /// The `issuer` the discovery document claims (`None`: the real one).
    pub fn set_document_issuer(&self, issuer: Option<&str>) {
        *lock(&self.state.document_issuer) = issuer.map(str::to_owned);
    }

    /// Leaves `field` (e.g. `"token_endpoint"`) out of the discovery document from now on: a
    /// provider that doesn't offer what the app needs.
    pub fn omit_from_discovery(&self, field: &str) {
        lock(&self.state.omitted).push(field.to_owned());
    }

    /// The `Cache-Control` header of the key set's answer (`None`: no header).
    pub fn set_cache_control(&self, value: Option<&str>) {
        *lock(&self.state.cache_control) = value.map(str::to_owned);
    }

    /// Makes the discovery endpoint fail (`None`: answer normally).
    pub fn fail_discovery(&self, failure: Option<Failure>) {
        *lock(&self.state.discovery_failure) = failure;
    }

    /// Makes the key set endpoint fail (`None`: answer normally).
    pub fn fail_jwks(&self, failure: Option<Failure>) {
        *lock(&self.state.jwks_failure) = failure;
    }

    /// Makes the token endpoint fail (`None`: answer normally).
    pub fn fail_token(&self, failure: Option<Failure>) {
        *lock(&self.state.token_failure) = failure;
    }

    /// The requests received so far, counted by endpoint.
    pub fn requests(&self) -> Requests {
        let state = &self.state;
        Requests {
            discovery: state.discovery.load(Ordering::SeqCst),
            jwks: state.jwks.load(Ordering::SeqCst),
            authorize: state.authorize.load(Ordering::SeqCst),
            token: state.token.load(Ordering::SeqCst),
            userinfo: state.userinfo.load(Ordering::SeqCst),
            other: state.other.load(Ordering::SeqCst),
        }
    }

    /// Every request received so far, in order.
    pub fn recorded(&self) -> Vec<Recorded> {
        lock(&self.state.recorded).clone()
    }
}

impl ProviderState {
    fn first_kid(&self) -> String {
        match lock(&self.keys).first() {
            Some(key) => key.kid.clone(),
            None => panic!("the fake provider publishes no key"),
        }
    }

    fn claims(&self, audience: &str, sub: &str) -> Value {
        let now = now();
        json!({
            "iss": self.issuer,
            "aud": audience,
            "sub": sub,
            "iat": now,
            "exp": now + 300,
        })
    }

    fn email_claims(&self, audience: &str, email: &str, verified: bool) -> Value {
        let mut claims = self.claims(audience, &format!("sub-{}", email.to_lowercase()));
        claims["email"] = json!(email);
        claims["email_verified"] = json!(verified);
        claims
    }

    fn sign(&self, kid: &str, claims: &Value) -> String {
        let alg = self.with_key(kid, |key| key.alg);
        self.sign_with_header(kid, &json!({"alg": alg, "typ": "JWT", "kid": kid}), claims)
    }

    fn sign_with_header(&self, kid: &str, header: &Value, claims: &Value) -> String {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.with_key(kid, |key| {
            jsonwebtoken::crypto::sign(message.as_bytes(), &key.key, key.alg)
        });
        match signature {
            Ok(signature) => format!("{message}.{signature}"),
            Err(err) => panic!("fake provider signing: {err}"),
        }
    }

    fn with_key<T>(&self, kid: &str, f: impl FnOnce(&SigningKey) -> T) -> T {
        match lock(&self.keys).iter().find(|key| key.kid == kid) {
            Some(key) => f(key),
            None => panic!("the fake provider publishes no key `{kid}`"),
        }
    }

    fn grant(&self, grant: Grant) -> String {
        let code = random_id();
        lock(&self.codes).insert(code.clone(), grant);
        code
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn discovery(State(state): State<Arc<ProviderState>>) -> Response {
    state.discovery.fetch_add(1, Ordering::SeqCst);
    let failure = lock(&state.discovery_failure).clone();
    let issuer = lock(&state.document_issuer)
        .clone()
        .unwrap_or_else(|| state.issuer.clone());
    let mut document = json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/jwks", state.issuer),
        "authorization_endpoint": format!("{}/authorize", state.issuer),
        "token_endpoint": format!("{}/token", state.issuer),
        "userinfo_endpoint": format!("{}/userinfo", state.issuer),
        "id_token_signing_alg_values_supported": ["ES256", "EdDSA", "RS256"],
    });
    if let Some(fields) = document.as_object_mut() {
        for field in lock(&state.omitted).iter() {
            fields.remove(field);
        }
    }
    answer(failure, document, None).await
}

async fn jwks(State(state): State<Arc<ProviderState>>) -> Response {
    state.jwks.fetch_add(1, Ordering::SeqCst);
    let failure = lock(&state.jwks_failure).clone();
    let mut keys: Vec<Jwk> = lock(&state.keys)
        .iter()
        .map(|key| key.jwk.clone())
        .collect();
    if matches!(failure, Some(Failure::DuplicateKids))
        && let Some(first) = keys.first().cloned()
    {
        keys.push(first);
    }
    let cache_control = lock(&state.cache_control).clone();
    answer(failure, json!({ "keys": keys }), cache_control).await
}

/// Records every request, body included (up to 64 KiB, which no test exceeds).
async fn record(State(state): State<Arc<ProviderState>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    lock(&state.recorded).push(Recorded {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        authorization: parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// Approves any sign-in: with a `login_hint`, at once, as that (verified) email; without,
/// after a form asks for one. Redirects back with a code and the `state`, or, when the form's
/// Cancel is pressed (`deny`), with `error=access_denied` as a user declining consent would.
async fn authorize(
    State(state): State<Arc<ProviderState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    state.authorize.fetch_add(1, Ordering::SeqCst);
    let param = |name: &str| query.get(name).map(String::as_str);
    let (Some(client_id), Some(redirect_uri)) = (param("client_id"), param("redirect_uri")) else {
        return (
            StatusCode::BAD_REQUEST,
            "client_id and redirect_uri are required",
        )
            .into_response();
    };
    if param("code_challenge_method").is_some_and(|method| method != "S256") {
        return (StatusCode::BAD_REQUEST, "only S256 challenges").into_response();
    }
    let Ok(mut back) = url::Url::parse(redirect_uri) else {
        return (StatusCode::BAD_REQUEST, "redirect_uri is not a URL").into_response();
    };
    if param("deny").is_some() {
        back.query_pairs_mut().append_pair("error", "access_denied");
    } else {
        // A form submitted by Cancel carries an empty `login_hint`: that is no email.
        let Some(email) = param("login_hint").filter(|email| !email.is_empty()) else {
            return Html(sign_in_form(&query)).into_response();
        };
        let mut claims = state.email_claims(client_id, email, true);
        if let Some(nonce) = param("nonce") {
            claims["nonce"] = json!(nonce);
        }
        let code = state.grant(Grant {
            id_token: state.sign(&state.first_kid(), &claims),
            code_challenge: param("code_challenge").map(str::to_owned),
            redirect_uri: Some(redirect_uri.to_owned()),
        });
        back.query_pairs_mut().append_pair("code", &code);
    }
    if let Some(state) = param("state") {
        back.query_pairs_mut().append_pair("state", state);
    }
    Redirect::to(back.as_str()).into_response()
}

/// The page asking which email signs in, carrying the authorization request along.
fn sign_in_form(query: &HashMap<String, String>) -> String {
    let hidden: String = query
        .iter()
        .map(|(name, value)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                escape(name),
                escape(value)
            )
        })
        .collect();
    format!(
        r#"<!doctype html><meta charset="utf-8"><title>Fake provider</title>
<h1>Fake OpenID Connect provider</h1>
<form method="get" action="/authorize">{hidden}
<label>Sign in as <input name="login_hint" type="email" required autofocus></label>
<button>Continue</button> <button name="deny" value="1" formnovalidate>Cancel</button></form>"#
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The token endpoint: client authentication, a single-use code, its redirect URI and PKCE
/// verifier checked; answers an access token and the code's ID token.
async fn token(
    State(state): State<Arc<ProviderState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.token.fetch_add(1, Ordering::SeqCst);
    let failure = lock(&state.token_failure).clone();
    if failure.is_some() {
        return answer(failure, json!({}), None).await;
    }
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str);
    if !client_authenticated(&state, &headers, field("client_id"), field("client_secret")) {
        return refusal(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if field("grant_type") != Some("authorization_code") {
        return refusal(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    // Removed before any check: a code is spent by its first use, right or wrong.
    let Some(grant) = field("code").and_then(|code| lock(&state.codes).remove(code)) else {
        return refusal(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let redirect_ok = grant
        .redirect_uri
        .as_deref()
        .is_none_or(|uri| field("redirect_uri") == Some(uri));
    // A verifier for a code issued without a challenge is refused too (RFC 9700 §2.1.1): else
    // an authorization request stripped of its challenge would pass unnoticed.
    let pkce_ok = match (grant.code_challenge.as_deref(), field("code_verifier")) {
        (Some(expected), Some(verifier)) => challenge(verifier) == expected,
        (None, None) => true,
        _ => false,
    };
    if !redirect_ok || !pkce_ok {
        return refusal(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let access_token = random_id();
    let claims = grant
        .id_token
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload).ok())
        .and_then(|payload| serde_json::from_slice(&payload).ok())
        .unwrap_or(Value::Null);
    lock(&state.access_tokens).insert(access_token.clone(), claims);
    axum::Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": grant.id_token,
    }))
    .into_response()
}

/// Whether the request authenticates as the registered client: by HTTP Basic (form-encoded id
/// and secret, RFC 6749 §2.3.1) or by the body, not both.
fn client_authenticated(
    state: &ProviderState,
    headers: &HeaderMap,
    body_id: Option<&str>,
    body_secret: Option<&str>,
) -> bool {
    let Some((id, secret)) = lock(&state.client).clone() else {
        return true;
    };
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()
        })
        .and_then(|decoded| String::from_utf8(decoded).ok());
    match (basic, body_secret) {
        (Some(basic), None) => basic
            .split_once(':')
            .is_some_and(|(given_id, given_secret)| {
                let decode = |text: &str| {
                    form_urlencoded::parse(format!("x={text}").as_bytes())
                        .next()
                        .map(|(_, value)| value.into_owned())
                };
                decode(given_id).as_deref() == Some(id.as_str())
                    && decode(given_secret).as_deref() == Some(secret.as_str())
            }),
        (None, Some(given_secret)) => body_id == Some(id.as_str()) && given_secret == secret,
        _ => false,
    }
}

fn refusal(status: StatusCode, error: &str) -> Response {
    (status, axum::Json(json!({ "error": error }))).into_response()
}

/// The ID token claims of the code that produced the bearer access token.
async fn userinfo(State(state): State<Arc<ProviderState>>, headers: HeaderMap) -> Response {
    state.userinfo.fetch_add(1, Ordering::SeqCst);
    let claims = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .and_then(|token| lock(&state.access_tokens).get(token).cloned());
    match claims {
        Some(claims) => axum::Json(json!({
            "sub": claims["sub"],
            "email": claims["email"],
            "email_verified": claims["email_verified"],
        }))
        .into_response(),
        None => refusal(StatusCode::UNAUTHORIZED, "invalid_token"),
    }
}

async fn other(State(state): State<Arc<ProviderState>>) -> StatusCode {
    state.other.fetch_add(1, Ordering::SeqCst);
    StatusCode::NOT_FOUND
}

async fn answer(
    failure: Option<Failure>,
    document: Value,
    cache_control: Option<String>,
) -> Response {
    match failure {
        Some(Failure::ServerError) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Some(Failure::Hang(delay)) => tokio::time::sleep(delay).await,
        Some(Failure::HugeBody(size)) => {
            const CHUNK: usize = 64 * 1024;
            let chunks = (0..size.div_ceil(CHUNK)).map(move |i| {
                let len = CHUNK.min(size - i * CHUNK);
                Ok::<_, std::convert::Infallible>(Bytes::from(vec![b' '; len]))
            });
            return Body::from_stream(futures_util::stream::iter(chunks)).into_response();
        }
        Some(Failure::MalformedJson) => {
            return ([(header::CONTENT_TYPE, "application/json")], "{\"keys\": [").into_response();
        }
        Some(Failure::Redirect(location)) => {
            return (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
        }
        Some(Failure::DuplicateKids) | None => {}
    }
    let mut response = axum::Json(document).into_response();
    if let Some(value) = cache_control.and_then(|value| value.parse().ok()) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

fn random_id() -> String {
    let mut bytes = [0; 12];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn es256() -> EncodingKey {
    use p256::pkcs8::EncodePrivateKey;
    match p256::SecretKey::random(&mut OsRng).to_pkcs8_der() {
        Ok(der) => EncodingKey::from_ec_der(der.as_bytes()),
        Err(err) => panic!("fake provider ES256 key: {err}"),
    }
}

fn ed25519() -> EncodingKey {
    // PKCS#8 v1 (RFC 8410 §7), without the public key: the 48-byte form jsonwebtoken reads;
    // ed25519-dalek's own encoder writes v2 with the public key appended.
    const PKCS8_V1_PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let seed = ed25519_dalek::SigningKey::generate(&mut OsRng).to_bytes();
    EncodingKey::from_ed_der(&[&PKCS8_V1_PREFIX[..], &seed].concat())
}

fn rs256() -> &'static EncodingKey {
    static KEY: OnceLock<EncodingKey> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        match rsa::RsaPrivateKey::new(&mut OsRng, 2048).map(|key| key.to_pkcs1_der()) {
            Ok(Ok(der)) => EncodingKey::from_rsa_der(der.as_bytes()),
            _ => panic!("fake provider RS256 key could not be generated"),
        }
    })
}
