//! Helpers for your own tests: tokens and headers for an entity in one call.
//!
//! ```
//! # extern crate jwt_router_runtime as jwt_router;
//! # use jwt_router::{Entity, JwtRoutes, StoreError};
//! # struct User { id: i64 }
//! # impl Entity for User { const TABLE_NAME: &'static str = "users"; type Id = i64; type Store = ();
//! #   fn id(&self) -> i64 { self.id }
//! #   async fn load(_: &(), id: &i64) -> Result<Option<Self>, StoreError> { Ok(Some(User { id: *id })) } }
//! let jwt = JwtRoutes::<()>::builder()
//!     .secret("a test secret of at least 32 bytes!!")
//!     .entity::<User>()
//!     .build()
//!     .unwrap();
//! let headers = jwt_router::testing::headers_for(&jwt, &User { id: 7 });
//! assert!(headers["authorization"].to_str().unwrap().starts_with("Bearer ey"));
//! ```

#[cfg(feature = "testing")]
pub mod provider;

use axum::http::{HeaderMap, HeaderValue, header};

use crate::{Entity, JwtRoutes};

/// A valid token for `entity`, with its roles and scopes.
///
/// # Panics
/// If the token cannot be signed, which a built [`JwtRoutes`] never fails to do.
pub fn token_for<S, E>(jwt: &JwtRoutes<S>, entity: &E) -> String
where
    S: Clone + Send + Sync + 'static,
    E: Entity,
{
    match jwt.create_token_for(entity) {
        Ok(token) => token,
        Err(err) => panic!("jwt-router test token: {err}"),
    }
}

/// `Authorization: Bearer <token>` for `entity`, as a header map to add to a test request.
pub fn headers_for<S, E>(jwt: &JwtRoutes<S>, entity: &E) -> HeaderMap
where
    S: Clone + Send + Sync + 'static,
    E: Entity,
{
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, bearer(&token_for(jwt, entity)));
    headers
}

/// The `Authorization` value `Bearer <token>`.
///
/// # Panics
/// If `token` contains characters a header cannot carry (a real token never does).
pub fn bearer(token: &str) -> HeaderValue {
    match HeaderValue::try_from(format!("Bearer {token}")) {
        Ok(value) => value,
        Err(err) => panic!("jwt-router test header: {err}"),
    }
}
