#[path = "common/mod.rs"]
mod common;

use common::Teacher;
use jwt_router::authed;

#[authed(GET, "/grades", entity = "users")]
async fn grades(teacher: Teacher) -> String {
    teacher.id.to_string()
}

fn main() {}
