use jwt_router::authed;

#[authed(GET, "/users", roles = [])]
async fn list() {}

fn main() {}
