use jwt_router::authed;

#[authed(GET, "/users", roles = ["admin", "", "admin"], scopes = ["a b", "c\\d"])]
async fn list() {}

fn main() {}
