use jwt_router::authed;

#[authed(GET, "/books/{id}/pages/{id}")]
async fn page() {}

fn main() {}
