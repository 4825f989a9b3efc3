//! The route-count sweep's handlers (feature `sweep`): module `r0` declares routes 0..10, `r1`
//! 10..100, `r2` 100..1,000 and `r3` 1,000..10,000, so mounting `r0..=rk` mounts 10^(k+1).

use std::fmt::Write;

fn main() {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let mut code = String::new();
    if std::env::var_os("CARGO_FEATURE_SWEEP").is_some() {
        for (module, range) in [(0, 0..10), (1, 10..100), (2, 100..1000), (3, 1000..10000)] {
            writeln!(code, "pub mod r{module} {{ use jwt_router::authed;").unwrap();
            for i in range {
                writeln!(
                    code,
                    "#[authed(GET, \"/s{i}/{{id}}\")] async fn s{i}() -> &'static str {{ \"x\" }}"
                )
                .unwrap();
            }
            code.push_str("}\n");
        }
    }
    std::fs::write(out.join("sweep.rs"), code).expect("writes the sweep's handlers");
    println!("cargo::rerun-if-changed=build.rs");
}
