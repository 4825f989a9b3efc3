use jwt_router::public;

#[public(GET, "/books#top")]
async fn books() {}

fn main() {}
