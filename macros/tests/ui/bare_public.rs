use jwt_router::public;

#[public]
async fn health() {}

fn main() {}
