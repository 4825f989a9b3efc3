use jwt_router::public;

#[public(GET, "/health")]
async fn health<T: Default>() {}

fn main() {}
