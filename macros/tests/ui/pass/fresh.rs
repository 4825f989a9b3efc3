//! `fresh` on `#[authed]`, before or among the named arguments, reaches the route table.

#[path = "../common/mod.rs"]
mod common;

use common::{Db, User};
use jwt_router::{JwtRoutes, authed};

#[authed(POST, "/password", entity = "users", fresh)]
async fn password(_user: User) {}

#[authed(DELETE, "/account", fresh, roles = ["owner"])]
async fn close() {}

#[authed(GET, "/books")]
async fn books() {}

fn main() {
    let jwt = JwtRoutes::<Db>::builder()
        .secret("ui-test-secret-0123456789abcdefghij")
        .entity::<User>()
        .build()
        .expect("valid configuration");
    let fresh: Vec<_> = jwt
        .route_table()
        .iter()
        .map(|r| (r.handler, r.fresh))
        .collect();
    assert_eq!(
        fresh,
        [("close", true), ("books", false), ("password", true)]
    );
}
