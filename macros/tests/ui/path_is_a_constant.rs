use jwt_router::public;

const BOOKS: &str = "/books";

#[public(GET, BOOKS)]
async fn books() {}

fn main() {}
