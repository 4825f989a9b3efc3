//! A fake OpenID Connect provider on `127.0.0.1`, for tests of code that verifies an issuer's
//! tokens: a discovery document, a JWKS of keys generated per run, ID tokens minted with any
//! claims, key rotation, failures on demand, and request counts.
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

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey};
use rand_core::{OsRng, RngCore};
use serde_json::{Value, json};
use tokio::task::AbortHandle;

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
    /// Any other path: a verifier that follows `jku` or `x5u` shows up here.
    pub other: u64,
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
    cache_control: Mutex<Option<String>>,
    discovery_failure: Mutex<Option<Failure>>,
    jwks_failure: Mutex<Option<Failure>>,
    discovery: AtomicU64,
    jwks: AtomicU64,
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
            .fallback(other)
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
        match lock(&self.state.keys).first() {
            Some(key) => key.kid.clone(),
            None => panic!("the fake provider publishes no key"),
        }
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
        let now = now();
        json!({
            "iss": self.issuer,
            "aud": audience,
            "sub": sub,
            "iat": now,
            "exp": now + 300,
        })
    }

    /// A valid ID token for `audience` and `sub`, signed with the first key.
    pub fn id_token(&self, audience: &str, sub: &str) -> String {
        self.sign(&self.first_kid(), &self.claims(audience, sub))
    }

    /// `claims` signed with the published key `kid`, with the header that key calls for.
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let alg = self.with_key(kid, |key| key.alg);
        self.sign_with_header(kid, &json!({"alg": alg, "typ": "JWT", "kid": kid}), claims)
    }

    /// `claims` under any `header`, signed with key `kid` by that key's own algorithm: for
    /// tokens whose header lies (another `alg`, a `jku`, a forged `kid`).
    ///
    /// # Panics
    /// If `kid` is not a published key.
    pub fn sign_with_header(&self, kid: &str, header: &Value, claims: &Value) -> String {
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
        match lock(&self.state.keys).iter().find(|key| key.kid == kid) {
            Some(key) => f(key),
            None => panic!("the fake provider publishes no key `{kid}`"),
        }
    }

    /// The `issuer` the discovery document claims (`None`: the real one).
    pub fn set_document_issuer(&self, issuer: Option<&str>) {
        *lock(&self.state.document_issuer) = issuer.map(str::to_owned);
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

    /// The requests received so far.
    pub fn requests(&self) -> Requests {
        Requests {
            discovery: self.state.discovery.load(Ordering::SeqCst),
            jwks: self.state.jwks.load(Ordering::SeqCst),
            other: self.state.other.load(Ordering::SeqCst),
        }
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
    let document = json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/jwks", state.issuer),
        "authorization_endpoint": format!("{}/authorize", state.issuer),
        "token_endpoint": format!("{}/token", state.issuer),
        "id_token_signing_alg_values_supported": ["ES256", "EdDSA", "RS256"],
    });
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
