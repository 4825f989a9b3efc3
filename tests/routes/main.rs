//! Integration tests of the core: the router a user builds, driven request by request.
//! One binary; each module declares its own handlers and mounts only them (`.module`).

mod common;
mod compose;
mod entities;
mod guard;
mod keys;
mod optional;
#[cfg(feature = "redis")]
mod redis;
mod rendering;
mod roles;
mod sessions;
mod startup;
mod tokens;

/// The inner app of `compose`'s nesting test: its own keys, its own public route, outside every
/// other module's `.module(..)`.
mod nested_inner {
    #[jwt_router::public(GET, "/maybe")]
    async fn maybe(claims: Option<jwt_router::Claims>) -> String {
        format!("{:?}", claims.map(|c| c.sub))
    }
}
