//! One bad argument is the only error: the handler is still emitted as written, so the code
//! that calls it compiles (no "cannot find function `me`", no wrapper signature mismatch).

#[path = "common/mod.rs"]
mod common;

use common::User;
use jwt_router::authed;

#[authed(FETCH, "/me", entity = "users")]
async fn me(user: User) -> i64 {
    user.id
}

fn main() {
    let _ = me(User { id: 1 });
}
