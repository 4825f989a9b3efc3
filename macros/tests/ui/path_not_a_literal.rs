use jwt_router::public;

#[public(GET, /books/{id})]
async fn book() {}

fn main() {}
