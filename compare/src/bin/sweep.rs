//! The guard's decision with 10 to 10,000 declared routes: a valid token on the last route
//! declared, each size mounted by its own `JwtRoutes` from the generated modules (build.rs).

use std::process::ExitCode;

use axum::http::StatusCode;
use jwt_router::JwtRoutes;
use jwt_router_compare::apps::{self, App, User};
use jwt_router_compare::inproc::{self, Case};
use jwt_router_compare::{Options, counting};

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

include!(concat!(env!("OUT_DIR"), "/sweep.rs"));

fn main() -> ExitCode {
    let options = match Options::parse(&["sweep"]) {
        Ok(options) => options,
        Err(code) => return code,
    };
    let runtime = inproc::runtime();
    let mut cases = Vec::new();
    for modules in 1..=4 {
        let routes = 10usize.pow(modules);
        let builder = (0..modules).fold(
            JwtRoutes::<()>::builder()
                .secret(apps::SECRET)
                .entity::<User>(),
            |builder, k| builder.module(format!("{}::r{k}", module_path!())),
        );
        let jwt = builder.build().expect("valid configuration");
        let token = jwt.create_token::<User>(&1).expect("signs");
        let uri = format!("/s{}/7", routes - 1);
        let name = format!("{routes} routes");
        let app = App::Guarded(jwt.router(()));
        cases.push(Case::new(&name, app, &uri, Some(&token), StatusCode::OK));
    }
    inproc::measure(
        "route count",
        &runtime,
        &cases,
        options.rounds.unwrap_or(15),
    )
    .print(&options);
    ExitCode::SUCCESS
}
