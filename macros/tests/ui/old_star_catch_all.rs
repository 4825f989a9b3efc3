use jwt_router::ignored;

#[ignored(GET, "/assets/*file")]
async fn asset() {}

fn main() {}
