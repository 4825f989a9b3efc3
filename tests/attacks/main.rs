//! Attacks on the guard: forged and malformed tokens, where credentials are carried, time
//! boundaries, path and method tricks against a real server, property tests, and the cost of
//! a refused request. One binary; each module declares its own handlers and mounts only them
//! (`.module(module_path!())`).
//!
//! Every refusal is asserted by status *and* body code. Tests that document a library bug are
//! named for the behaviour the library should have; see the report of issue 5.

// The entity fixtures of the core tests, reused as they are (not every item is used here).
#[allow(dead_code, unreachable_pub)]
#[path = "../routes/common.rs"]
mod common;

mod composition;
mod cost;
mod credentials;
mod isolation;
mod paths;
mod props;
mod support;
mod times;
mod tokens;
