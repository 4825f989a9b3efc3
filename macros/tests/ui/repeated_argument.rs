use jwt_router::public;

#[public(GET, "/books", state = Db, state = Db)]
async fn books() {}

#[derive(Clone)]
struct Db;

fn main() {}
