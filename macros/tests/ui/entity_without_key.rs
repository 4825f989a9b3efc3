use jwt_router::authed;

#[authed(GET, "/me", "users")]
async fn me() {}

fn main() {}
