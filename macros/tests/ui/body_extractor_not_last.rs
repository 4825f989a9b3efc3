use axum::Json;
use jwt_router::{Tokens, public};

#[public(POST, "/login")]
async fn login(Json(_body): Json<String>, _tokens: Tokens) {}

fn main() {}
