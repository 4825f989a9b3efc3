use jwt_router::authed;

#[authed(GET, "/users/{user-id}")]
async fn user() {}

fn main() {}
