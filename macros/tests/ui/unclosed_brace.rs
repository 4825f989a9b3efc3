use jwt_router::authed;

#[authed(GET, "/books/{id/pages")]
async fn pages() {}

fn main() {}
