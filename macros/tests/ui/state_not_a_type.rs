use jwt_router::public;

#[public(GET, "/books", state = "Db")]
async fn books() {}

fn main() {}
