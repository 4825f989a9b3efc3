//! Parameter types named like the generic parameters of the generated extractor checks: the
//! checks still test the user's types against the router's state.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jwt_router::{JwtRoutes, public};

#[derive(Clone, Default)]
struct AppState;

struct S;

struct M;

impl<St: Send + Sync> FromRequestParts<St> for S {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        Ok(S)
    }
}

impl<St: Send + Sync> FromRequestParts<St> for M {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(_: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        Ok(M)
    }
}

#[public(GET, "/s-m", state = AppState)]
async fn s_m(_: S, _: M) {}

fn main() {
    let jwt = JwtRoutes::<AppState>::builder()
        .secret("ui-test-secret-0123456789abcdefghij")
        .build()
        .expect("valid configuration");
    assert_eq!(jwt.route_table().len(), 1);
    let _router = jwt.router(AppState);
}
