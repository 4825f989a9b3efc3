use jwt_router::ignored;

#[ignored(GET, "/health", scopes = ["health:read"])]
async fn health() {}

fn main() {}
