//! Runtime of [jwt-router](https://docs.rs/jwt-router): use the `jwt-router` crate, which
//! re-exports everything public here together with the attribute macros.

mod config;
mod entity;
mod error;
mod extract;
mod guard;
mod router;
mod table;
mod token;

#[doc(hidden)]
pub mod __private;
pub mod testing;

pub use config::{ConfigError, JwtRoutes, JwtRoutesBuilder};
pub use entity::{Authed, Entity, StoreError};
pub use error::AuthError;
pub use extract::Tokens;
pub use guard::{Guard, GuardLayer};
pub use router::{GuardedRouter, GuardedRouterFuture};
pub use table::{Method, Policy, RouteInfo, RouteTable};
pub use token::Claims;
