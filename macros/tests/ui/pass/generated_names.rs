//! Handlers named like the variables and items the expansion uses still mount: the generated
//! names can't capture or shadow the user's.

use jwt_router::{JwtRoutes, authed, public};

#[public(GET, "/method")]
async fn method() {}

#[public(GET, "/state")]
async fn state() {}

#[authed(GET, "/mount")]
async fn mount() {}

fn main() {
    let jwt = JwtRoutes::<()>::builder()
        .secret("ui-test-secret-0123456789abcdefghij")
        .build()
        .expect("valid configuration");
    assert_eq!(jwt.route_table().len(), 3);
    let _router = jwt.router(());
}
