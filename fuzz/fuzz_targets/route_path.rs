//! The macros' route-path validator (macros/src/route_path.rs, compiled in here: a proc-macro
//! crate exports only macros) against axum 0.8 itself: a path the validator accepts must mount
//! without axum panicking, and an error must point at a character of the path.

#![no_main]

use std::panic::{self, AssertUnwindSafe};

use axum::Router;
use axum::routing::get;
use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unreachable_pub)]
#[path = "../../macros/src/route_path.rs"]
mod route_path;

fuzz_target!(|path: &str| {
    match route_path::validate(path) {
        Ok(()) => {
            // Silence the panic message (and libFuzzer's abort-on-panic hook) while axum tries.
            let fuzzer_hook = panic::take_hook();
            panic::set_hook(Box::new(|_| {}));
            let mounted = panic::catch_unwind(AssertUnwindSafe(|| {
                Router::<()>::new().route(path, get(|| async {}))
            }));
            panic::set_hook(fuzzer_hook);
            assert!(
                mounted.is_ok(),
                "validator accepts {path:?}, axum panics on it"
            );
        }
        Err((offset, message)) => {
            assert!(
                offset <= path.len() && path.is_char_boundary(offset),
                "offset {offset} is not a character of {path:?}"
            );
            assert!(!message.is_empty());
        }
    }
    let mangled = route_path::mangle(path);
    assert!(
        mangled
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    );
});
