use jwt_router::public;

#[public(state = Db, GET, "/books")]
async fn books() {}

#[derive(Clone)]
struct Db;

fn main() {}
