use jwt_router::public;

#[public(get, "books", entity = "users")]
fn books<T>() {}

fn main() {}
