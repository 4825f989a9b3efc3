use jwt_router::authed;

#[authed(POST, "/books", scopes = ["books:\"write\""])]
async fn create() {}

fn main() {}
