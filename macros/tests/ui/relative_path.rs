use jwt_router::public;

#[public(GET, "books")]
async fn books() {}

fn main() {}
