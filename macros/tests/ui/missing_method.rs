use jwt_router::public;

#[public("/books")]
async fn books() {}

fn main() {}
