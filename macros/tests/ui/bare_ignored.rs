use jwt_router::ignored;

#[ignored]
async fn home() {}

fn main() {}
