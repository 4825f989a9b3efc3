use jwt_router::public;

#[public(GET, "/health")]
fn health() -> &'static str {
    "ok"
}

fn main() {}
