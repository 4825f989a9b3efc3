use jwt_router::public;

#[public(get, "/books")]
async fn books() {}

fn main() {}
