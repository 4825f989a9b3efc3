use jwt_router::ignored;

#[ignored(GET, "/assets/{*file}/meta")]
async fn meta() {}

fn main() {}
