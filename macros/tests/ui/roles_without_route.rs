use jwt_router::authed;

#[authed(entity = "users", roles = ["admin"])]
async fn profile(_user: User) {}

struct User;

fn main() {}
