use jwt_router::public;

#[public(GET, "/books?page=1")]
async fn books() {}

fn main() {}
