use jwt_router::authed;

#[authed]
async fn me() {}

fn main() {}
