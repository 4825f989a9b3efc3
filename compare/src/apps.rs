//! The same `GET` handler behind each guard, and the tokens each accepts.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use jwt_router::{GuardedRouter, JwtRoutes};
use serde::{Deserialize, Serialize};

// The benches' secret, entity and routes (`/x` authed, `/me` for users, `/p` public).
#[path = "../../benches/common/mod.rs"]
mod common;
pub use common::{SECRET, User, expired_token};
/// The audience of the peers' tokens: axum-jwt-auth refuses a validation without one.
const AUDIENCE: &str = "compare";

/// A guarded app: jwt-router's own router, or an axum router with a peer's guard (or none).
#[derive(Clone)]
pub enum App {
    Axum(Router),
    Guarded(GuardedRouter<()>),
    #[cfg(feature = "peers")]
    Axum07(axum07::Router),
}

async fn plain_handler() -> &'static str {
    "x"
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// jwt-router with this module's three routes, and a token it minted.
pub fn jwt_router() -> (GuardedRouter<()>, String) {
    let jwt = jwt_router_builder().build().expect("valid configuration");
    let token = jwt.create_token::<User>(&1).expect("signs");
    (jwt.router(()), token)
}

fn jwt_router_builder() -> jwt_router::JwtRoutesBuilder<()> {
    JwtRoutes::<()>::builder()
        .secret(SECRET)
        .entity::<User>()
        .module(module_path!())
}

/// jwt-router as above, remembering up to 10,000 verified tokens.
#[cfg(feature = "verified-cache")]
pub fn jwt_router_cached() -> GuardedRouter<()> {
    let jwt = jwt_router_builder().verified_cache(10_000).build();
    jwt.expect("valid configuration").router(())
}

/// What the peers decode: the registered claims they check, with the audience they demand.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PeerClaims {
    sub: String,
    aud: String,
    iat: u64,
    exp: u64,
}

/// An HS256 token every peer accepts for an hour.
pub fn peer_token() -> String {
    sign(&PeerClaims {
        sub: "1".into(),
        aud: AUDIENCE.into(),
        iat: now(),
        exp: now() + 3600,
    })
}

fn sign(claims: &impl Serialize) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("signs")
}

/// The handler with no auth at all.
pub fn plain() -> Router {
    Router::new().route("/x", get(plain_handler))
}

/// What an app without a library writes: a `from_fn` middleware around `jsonwebtoken::decode`.
pub fn hand_written() -> Router {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[AUDIENCE]);
    let keys = Arc::new((DecodingKey::from_secret(SECRET.as_bytes()), validation));
    Router::new()
        .route("/x", get(plain_handler))
        .layer(middleware::from_fn_with_state(keys, hand_written_auth))
}

async fn hand_written_auth(
    State(keys): State<Arc<(DecodingKey, Validation)>>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let Some(token) = token else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    match jsonwebtoken::decode::<PeerClaims>(token, &keys.0, &keys.1) {
        Ok(data) => {
            request.extensions_mut().insert(data.claims);
            next.run(request).await
        }
        Err(_) => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// jwt-authorizer 0.15: its layer around the handler, on the axum (0.7) it is written for.
#[cfg(feature = "peers")]
pub async fn jwt_authorizer() -> axum07::Router {
    use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, Validation};
    let authorizer: Authorizer<PeerClaims> = JwtAuthorizer::from_secret(SECRET)
        .validation(Validation::new().aud(&[AUDIENCE]))
        .build()
        .await
        .expect("jwt-authorizer builds");
    axum07::Router::new()
        .route("/x", axum07::routing::get(plain_handler))
        .layer(authorizer.into_layer())
}

/// axum-jwt-auth 0.7: its extractor on the handler, its decoder in the state.
#[cfg(feature = "peers")]
pub fn axum_jwt_auth() -> Router {
    use axum_jwt_auth::{Claims, Decoder, LocalDecoder};
    use jsonwebtoken10::{Algorithm, DecodingKey, Validation};
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[AUDIENCE]);
    let decoder = LocalDecoder::builder()
        .keys(vec![DecodingKey::from_secret(SECRET.as_bytes())])
        .validation(validation)
        .build()
        .expect("axum-jwt-auth builds");
    let decoder: Decoder<PeerClaims> = Arc::new(decoder);
    async fn handler(_claims: Claims<PeerClaims>) -> &'static str {
        "x"
    }
    Router::new().route("/x", get(handler)).with_state(decoder)
}
