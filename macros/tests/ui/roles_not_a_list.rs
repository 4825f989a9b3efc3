use jwt_router::authed;

#[authed(GET, "/users", roles = "admin")]
async fn list() {}

fn main() {}
