//! Roles (any of) and scopes (all of) on `#[authed]`, with and without an entity, reach the
//! route table as written, in any order among the named arguments.

#[path = "../common/mod.rs"]
mod common;

use common::{Db, User};
use jwt_router::{JwtRoutes, authed};

#[authed(GET, "/users", entity = "users", roles = ["admin"])]
async fn list(_admin: User) {}

#[authed(POST, "/books", scopes = ["books:read", "books:write",], roles = ["editor", "admin"])]
async fn create() {}

#[authed(GET, "/punctuation", scopes = ["!#$%&'()*+,-./:;<=>?@[]^_`{|}~"])]
async fn punctuation() {}

fn main() {
    let jwt = JwtRoutes::<Db>::builder()
        .secret("ui-test-secret-0123456789abcdefghij")
        .entity::<User>()
        .build()
        .expect("valid configuration");
    let grants: Vec<_> = jwt
        .route_table()
        .iter()
        .map(|r| (r.handler, r.roles, r.scopes))
        .collect();
    assert_eq!(
        grants,
        [
            ("create", &["editor", "admin"][..], &["books:read", "books:write"][..]),
            ("punctuation", &[][..], &["!#$%&'()*+,-./:;<=>?@[]^_`{|}~"][..]),
            ("list", &["admin"][..], &[][..]),
        ]
    );
}
