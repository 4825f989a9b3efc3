//! Compile-time behaviour of `#[public]`, `#[ignored]` and `#[authed]`: each misuse in
//! `tests/ui/*.rs` fails with the error recorded in its `.stderr`, and every accepted form in
//! `tests/ui/pass/` compiles and runs. Regenerate the snapshots with
//! `TRYBUILD=overwrite cargo test -p jwt-router-macros --test ui`, then review the diff like code.
//!
//! The suite lives in the macro crate, not the facade, because trybuild compiles every
//! dev-dependency of the crate it runs in (under `target/tests/trybuild`, a target directory of
//! its own): here that is the facade and axum, not the examples' database and HTTP client.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
