use jwt_router::public;

#[public(GET)]
async fn books() {}

fn main() {}
