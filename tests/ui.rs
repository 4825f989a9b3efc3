//! Compile-time behaviour of `#[public]`, `#[ignored]` and `#[authed]`: each misuse in
//! `tests/ui/*.rs` fails with the error recorded in its `.stderr`, and every accepted form in
//! `tests/ui/pass/` compiles and runs. Regenerate the snapshots with
//! `TRYBUILD=overwrite cargo test --test ui`, then review the diff like code.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
