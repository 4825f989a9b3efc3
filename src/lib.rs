#![doc = include_str!("../README.md")]

pub use jwt_router_macros::{authed, ignored, public};
pub use jwt_router_runtime::{
    AuthError, Authed, Claims, ConfigError, Entity, Guard, GuardFuture, GuardLayer, GuardedRouter,
    GuardedRouterFuture, GuardedService, JwtRoutes, JwtRoutesBuilder, Method, Policy, Problem,
    RouteInfo, RouteTable, Source, StoreError, Tokens, testing,
};
#[cfg(feature = "oidc")]
pub use jwt_router_runtime::{Issuer, IssuerBuilder, IssuerClaims, IssuerError};

#[doc(hidden)]
pub mod __private {
    pub use jwt_router_runtime::__private::*;
}
