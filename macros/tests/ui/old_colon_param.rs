use jwt_router::authed;

#[authed(GET, "/books/:id")]
async fn book() {}

fn main() {}
