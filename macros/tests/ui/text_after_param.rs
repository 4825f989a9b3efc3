use jwt_router::authed;

#[authed(GET, "/books/{id}.json")]
async fn book() {}

fn main() {}
