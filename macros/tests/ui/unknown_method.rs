use jwt_router::public;

#[public(FETCH, "/books")]
async fn books() {}

fn main() {}
