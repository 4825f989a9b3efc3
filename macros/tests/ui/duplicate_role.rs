use jwt_router::authed;

#[authed(GET, "/users", roles = ["admin", "editor", "admin"])]
async fn list() {}

fn main() {}
