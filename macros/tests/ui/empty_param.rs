use jwt_router::authed;

#[authed(GET, "/books/{}")]
async fn book() {}

fn main() {}
