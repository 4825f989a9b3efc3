//! One path under several methods, and the same path as an ignored (root) and an API route:
//! neither is a duplicate.

use jwt_router::{JwtRoutes, authed, ignored, public};

#[public(GET, "/books")]
async fn list() {}

#[authed(POST, "/books")]
async fn create() {}

#[ignored(GET, "/books")]
async fn page() {}

fn main() {
    let jwt = JwtRoutes::<()>::builder()
        .secret("ui-test-secret-0123456789abcdefghij")
        .api_name("/api")
        .build()
        .expect("valid configuration");
    assert_eq!(jwt.route_table().len(), 3);
    let _router = jwt.router(());
}
