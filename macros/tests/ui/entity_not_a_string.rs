use jwt_router::authed;

#[authed(GET, "/me", entity = User)]
async fn me() {}

struct User;

fn main() {}
