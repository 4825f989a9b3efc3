//! Runtime of [jwt-router](https://docs.rs/jwt-router): use the `jwt-router` crate, which
//! re-exports everything public here together with the attribute macros.

mod builder;
mod config_error;
mod context;
#[cfg(feature = "cookies")]
mod cookies;
mod credentials;
mod entity;
mod error;
#[cfg(feature = "oidc")]
mod external;
mod extract;
mod guard;
#[cfg(feature = "oidc")]
mod issuer;
mod jwt_routes;
mod keys;
#[cfg(feature = "redis")]
mod not_revoked;
#[cfg(feature = "openapi")]
pub mod openapi;
#[cfg(feature = "redis")]
mod redis_store;
mod router;
mod sessions;
#[cfg(feature = "oidc")]
mod signin;
mod table;
mod token;
mod verified;

#[doc(hidden)]
pub mod __private;
pub mod testing;

pub use builder::JwtRoutesBuilder;
pub use config_error::{ConfigError, Problem, Source};
#[cfg(feature = "cookies")]
pub use cookies::{CSRF_HEADER, ClearCookies, CookieSession, Cookies};
pub use entity::{Authed, Entity, StoreError};
pub use error::AuthError;
#[cfg(feature = "oidc")]
pub use external::ExternalId;
pub use extract::{TokenPair, Tokens};
pub use guard::{Guard, GuardFuture, GuardLayer};
#[cfg(feature = "oidc")]
pub use issuer::{Issuer, IssuerBuilder, IssuerClaims, IssuerError, install_default_tls_provider};
pub use jwt_routes::JwtRoutes;
pub use keys::Key;
#[cfg(feature = "asymmetric")]
pub use keys::KeyError;
#[cfg(feature = "redis")]
pub use redis_store::RedisSessions;
pub use router::{GuardedRouter, GuardedRouterFuture, GuardedService};
pub use sessions::{
    Attempts, MemorySessions, Presented, Revocation, SessionStore, Spend, StoreFuture,
};
#[cfg(feature = "oidc")]
pub use signin::{
    Authorization, ClientAuth, Exchange, GOOGLE_ISSUER, PendingSignIn, Provider, ProviderBuilder,
    SignedIn,
};
pub use table::{Method, Policy, RouteInfo, RouteTable};
pub use token::{Audience, Claims};

/// jsonwebtoken's JWK types and algorithms, for [`Key::from_jwk`] and [`JwtRoutes::jwks`].
#[cfg(feature = "asymmetric")]
pub use jsonwebtoken::{Algorithm, jwk};
