use jwt_router::public;

#[public(GET, "/me", entity = "users")]
async fn me() {}

fn main() {}
