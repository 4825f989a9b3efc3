use jwt_router::public;

#[public(TRACE, "/books")]
async fn books() {}

fn main() {}
