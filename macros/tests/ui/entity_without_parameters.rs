use jwt_router::authed;

#[authed(GET, "/me", entity = "users")]
async fn me() -> &'static str {
    "me"
}

fn main() {}
