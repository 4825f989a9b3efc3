use jwt_router::public;

#[public(GET, "/books")]
#[public(GET, "/library")]
async fn books() {}

fn main() {}
