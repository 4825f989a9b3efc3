use jwt_router::ignored;

#[ignored(GET, "/", entity = "users")]
async fn home() {}

fn main() {}
