//! `state = AppState` for a handler whose `State<Db>` is a sub-state reached by `FromRef`, and
//! state found from a `State<T>` parameter, whatever its path.

#[path = "../common/mod.rs"]
mod common;

use axum::extract::{FromRef, State};
use common::Db;
use jwt_router::{JwtRoutes, public};

#[derive(Clone, Default)]
struct AppState {
    db: Db,
}

impl FromRef<AppState> for Db {
    fn from_ref(state: &AppState) -> Db {
        state.db.clone()
    }
}

#[public(GET, "/books", state = AppState)]
async fn books(State(_db): State<Db>) {}

#[public(GET, "/state", state = AppState,)]
async fn whole(_: axum::extract::State<AppState>) {}

#[public(GET, "/found")]
async fn found(State(_state): State<AppState>) {}

fn main() {
    let jwt = JwtRoutes::<AppState>::builder()
        .secret("ui-test-secret-0123456789abcdefghij")
        .build()
        .expect("every handler's state is the router's");
    assert_eq!(jwt.route_table().len(), 3);
    let _router = jwt.router(AppState::default());
}
