use jwt_router::public;

#[public(GET, "/users", roles = ["admin"])]
async fn list() {}

fn main() {}
