//! Startup validation, module subsets and the route table listing.

use axum::extract::State;
use axum::http::StatusCode;
use jwt_router::{JwtRoutes, Method, Policy, Problem, authed, ignored, public};

use crate::common::{Db, SECRET, User, get};

fn build(module: &str) -> Result<JwtRoutes<Db>, jwt_router::ConfigError> {
    JwtRoutes::builder()
        .secret(SECRET)
        .api_name("/v1")
        .entity::<User>()
        .module(module)
        .build()
}

mod duplicates {
    pub mod a {
        #[jwt_router::public(GET, "/dup")]
        async fn first() {}
    }
    pub mod b {
        #[jwt_router::authed(GET, "/dup")]
        async fn second() {}
    }
}

mod unknown_entity {
    /// An entity type the builder below never registers.
    pub struct Admin;

    impl jwt_router::Entity for Admin {
        const TABLE_NAME: &'static str = "admins";
        type Id = u64;
        type Store = ();

        fn id(&self) -> u64 {
            0
        }

        async fn load(_: &(), _: &u64) -> Result<Option<Self>, jwt_router::StoreError> {
            Ok(Some(Admin))
        }
    }

    #[jwt_router::authed(GET, "/admins", entity = "admins")]
    async fn admins(_admin: Admin) {}
}

mod wrong_state {
    #[derive(Clone)]
    pub struct Other;

    #[jwt_router::public(GET, "/other")]
    async fn other(_: axum::extract::State<Other>) {}
}

mod conflicting {
    #[jwt_router::public(GET, "/users/{id}")]
    async fn by_id() {}

    #[jwt_router::public(POST, "/users/{name}")]
    async fn by_name() {}
}

mod app_a {
    #[jwt_router::ignored(GET, "/")]
    async fn home() -> &'static str {
        "app a"
    }
}

mod app_b {
    #[jwt_router::ignored(GET, "/")]
    async fn home() -> &'static str {
        "app b"
    }
}

mod listed {
    use super::*;

    #[ignored(GET, "/")]
    async fn index() {}

    #[public(POST, "/users")]
    async fn create() {}

    #[authed(GET, "/users/{id}", entity = "users")]
    async fn show(_user: User, State(_db): State<Db>) {}
}

fn module(name: &str) -> String {
    format!("{}::{name}", module_path!())
}

#[test]
fn duplicate_routes_across_modules_fail_at_startup_with_both_locations() {
    let err = build(&module("duplicates")).expect_err("duplicate accepted");
    let text = err.to_string();
    let [
        Problem::DuplicateRoute {
            method,
            path,
            first,
            second,
        },
    ] = err.problems()
    else {
        panic!("one duplicate expected: {text}");
    };
    assert_eq!((*method, path.as_str()), (Method::Get, "/v1/dup"));
    // Which is "first" follows link order.
    let mut handlers = [first.handler, second.handler];
    handlers.sort_unstable();
    assert_eq!(handlers, ["first", "second"]);
    assert!(text.contains("GET /v1/dup is declared twice"), "{text}");
    assert!(
        text.contains("`first` at tests/routes/startup.rs:"),
        "{text}"
    );
    assert!(
        text.contains("`second` at tests/routes/startup.rs:"),
        "{text}"
    );
}

#[test]
fn unregistered_entity_fails_at_startup_with_its_location() {
    let err = build(&module("unknown_entity")).expect_err("unknown entity accepted");
    let text = err.to_string();
    assert!(
        matches!(
            err.problems(),
            [Problem::UnregisteredEntity { table: "admins", entity_type: Some("Admin"), route }]
                if route.handler == "admins" && route.file == file!()
        ),
        "{text}"
    );
    assert!(
        text.contains("`admins` at tests/routes/startup.rs:"),
        "{text}"
    );
    assert!(text.contains("entity = \"admins\""), "{text}");
    assert!(
        text.contains("add .entity::<Admin>() to the builder"),
        "{text}"
    );
}

#[test]
fn config_error_debug_lists_problems_as_display_does() {
    // `main` returning `Result<_, Box<dyn Error>>` prints the error with `Debug`.
    let err = JwtRoutes::<Db>::builder()
        .secret("short")
        .api_name("no-slash")
        .module("nothing")
        .build()
        .expect_err("weak secret accepted");
    let debug = format!("{err:?}");
    assert_eq!(debug, err.to_string());
    assert!(
        debug.starts_with("jwt-router configuration is invalid:\n  - the secret is 5 bytes"),
        "{debug}"
    );
    assert!(
        debug.contains("\n  - api_name \"no-slash\" must start with '/'"),
        "{debug}"
    );
}

#[test]
fn handler_state_other_than_the_routers_fails_at_startup() {
    let err = build(&module("wrong_state")).expect_err("state mismatch accepted");
    assert!(
        matches!(
            err.problems(),
            [Problem::StateMismatch { route, handler_state, .. }]
                if route.handler == "other" && handler_state.ends_with("wrong_state::Other")
        ),
        "{err}"
    );
    assert!(err.to_string().contains("takes state"), "{err}");
    assert!(err.to_string().contains("state = "), "{err}");
}

#[test]
fn routes_axum_cannot_hold_together_fail_at_startup_not_with_a_panic() {
    let err = build(&module("conflicting")).expect_err("conflict accepted");
    let text = err.to_string();
    // Which of the two is reported first follows link order; both must be named with a location.
    let [Problem::ConflictingRoutes { route, other, .. }] = err.problems() else {
        panic!("one conflict expected: {text}");
    };
    let mut handlers = [Some(route.handler), other.map(|o| o.handler)];
    handlers.sort();
    assert_eq!(handlers, [Some("by_id"), Some("by_name")]);
    assert!(text.contains("conflicts with /v1/users/{"), "{text}");
    for handler in [
        "`by_id` at tests/routes/startup.rs:",
        "`by_name` at tests/routes/startup.rs:",
    ] {
        assert!(text.contains(handler), "{text}");
    }
}

#[test]
fn every_problem_is_listed_at_once() {
    let err = JwtRoutes::<Db>::builder()
        .secret("short")
        .module(module("duplicates"))
        .module(module("unknown_entity"))
        .build()
        .expect_err("invalid");
    let problems = err.problems();
    assert_eq!(problems.len(), 3, "{err}");
    assert_eq!(
        problems[0],
        Problem::ShortSecret {
            bytes: 5,
            needed: 32
        }
    );
    // The route problems follow link order.
    for kind in [
        |p: &Problem| matches!(p, Problem::DuplicateRoute { .. }),
        |p: &Problem| matches!(p, Problem::UnregisteredEntity { .. }),
    ] {
        assert_eq!(problems.iter().filter(|p| kind(p)).count(), 1, "{err}");
    }
}

#[tokio::test]
async fn one_binary_mounts_chosen_module_subsets() {
    for (name, expected) in [("app_a", "app a"), ("app_b", "app b")] {
        let app = build(&module(name)).expect("valid").router(Db::seeded());
        let reply = get(&app, "/", None).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::OK, Some(expected))
        );
    }
}

#[test]
fn route_table_lists_full_paths_policies_entities_and_sources() {
    let table = build(&module("listed")).expect("valid").route_table();
    let rows: Vec<_> = table
        .iter()
        .map(|r| (r.method, r.path.as_str(), r.policy, r.entity, r.handler))
        .collect();
    assert_eq!(
        rows,
        [
            (Some(Method::Get), "/", Policy::Ignored, None, "index"),
            (
                Some(Method::Post),
                "/v1/users",
                Policy::Public,
                None,
                "create"
            ),
            (
                Some(Method::Get),
                "/v1/users/{id}",
                Policy::Authed,
                Some("users"),
                "show"
            ),
        ]
    );
    let printed = table.to_string();
    assert!(printed.starts_with("METHOD"), "{printed}");
    assert!(
        printed.contains("/v1/users/{id}") && printed.contains("tests/routes/startup.rs:"),
        "{printed}"
    );
}
