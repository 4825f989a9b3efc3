use jwt_router::authed;

#[authed(GET, "/me", entity = "")]
async fn me() {}

fn main() {}
