use jwt_router::{authed, public};

#[public(GET, "/books")]
#[authed(GET, "/books")]
async fn books() {}

fn main() {}
