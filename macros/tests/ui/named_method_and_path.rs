use jwt_router::public;

#[public(method = GET, path = "/books")]
async fn books() {}

fn main() {}
