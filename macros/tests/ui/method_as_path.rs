use jwt_router::public;

#[public(Method::GET, "/books")]
async fn books() {}

fn main() {}
