use jwt_router::ignored;

#[ignored(GET, "/assets/{*}")]
async fn asset() {}

fn main() {}
