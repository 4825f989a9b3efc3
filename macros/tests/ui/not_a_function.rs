use jwt_router::public;

#[public(GET, "/books")]
struct Books;

fn main() {}
