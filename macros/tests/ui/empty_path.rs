use jwt_router::public;

#[public(GET, "")]
async fn root() {}

fn main() {}
