use jwt_router::{authed, public};

#[public(POST, "/login", fresh)]
async fn login() {}

#[authed(POST, "/password", fresh, fresh)]
async fn password() {}

#[authed(entity = "users", fresh)]
async fn profile(_user: User) {}

#[authed(POST, "/email", fresh = true)]
async fn email() {}

struct User;

fn main() {}
