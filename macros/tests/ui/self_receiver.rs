use jwt_router::public;

struct Books;

impl Books {
    #[public(GET, "/books")]
    async fn list(&self) {}
}

fn main() {}
