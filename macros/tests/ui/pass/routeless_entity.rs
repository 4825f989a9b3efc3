//! `#[authed(entity = "..")]` without a route: the handler gets the entity and is mounted by
//! hand; it is not in the route table.

#[path = "../common/mod.rs"]
mod common;

use axum::extract::State;
use axum::routing::get;
use common::{Db, User};
use jwt_router::{JwtRoutes, authed};

#[authed(entity = "users")]
async fn me(user: User) -> String {
    user.id.to_string()
}

#[authed(entity = "users", state = Db)]
async fn with_state(user: User, State(_db): State<Db>) -> String {
    user.id.to_string()
}

fn main() {
    let jwt = JwtRoutes::<Db>::builder()
        .secret("ui-test-secret-0123456789abcdefghij")
        .entity::<User>()
        .build()
        .expect("valid configuration");
    assert!(jwt.route_table().is_empty());
    let _router = jwt
        .router(Db)
        .route("/me", get(me))
        .route("/state", get(with_state));
}
