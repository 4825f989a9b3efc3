#![doc = include_str!("../README.md")]

pub use jwt_router_macros::{authed, ignored, public};
#[cfg(feature = "redis")]
pub use jwt_router_runtime::RedisSessions;
pub use jwt_router_runtime::{
    Attempts, Audience, AuthError, Authed, Claims, ConfigError, Entity, Guard, GuardFuture,
    GuardLayer, GuardedRouter, GuardedRouterFuture, GuardedService, JwtRoutes, JwtRoutesBuilder,
    Key, MemorySessions, Method, Policy, Presented, Problem, Revocation, RouteInfo, RouteTable,
    SessionStore, Source, Spend, StoreError, StoreFuture, TokenPair, Tokens, testing,
};
#[cfg(feature = "oidc")]
pub use jwt_router_runtime::{
    Authorization, ClientAuth, Exchange, ExternalId, GOOGLE_ISSUER, Issuer, IssuerBuilder,
    IssuerClaims, IssuerError, PendingSignIn, Provider, ProviderBuilder, SignedIn,
    install_default_tls_provider,
};
#[cfg(feature = "cookies")]
pub use jwt_router_runtime::{CSRF_HEADER, ClearCookies, CookieSession, Cookies};

/// jsonwebtoken's JWK types and algorithms, for [`Key::from_jwk`] and [`JwtRoutes::jwks`].
#[cfg(feature = "asymmetric")]
pub use jwt_router_runtime::{Algorithm, KeyError, jwk};

/// The route table as OpenAPI (feature `openapi`).
#[cfg(feature = "openapi")]
pub use jwt_router_runtime::openapi;

#[doc(hidden)]
pub mod __private {
    pub use jwt_router_runtime::__private::*;
}
