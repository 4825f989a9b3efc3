use jwt_router::public;

#[public(GET, "/books\u{7}")]
async fn books() {}

fn main() {}
