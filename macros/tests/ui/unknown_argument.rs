use jwt_router::authed;

#[authed(GET, "/me", entiy = "users")]
async fn me() {}

fn main() {}
