use jwt_router::authed;

#[authed(GET, "/users", roles = [admin, "editor"])]
async fn list() {}

fn main() {}
