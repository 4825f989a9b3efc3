//! The in-process and loopback tables (see the library's documentation for the options).

use std::process::ExitCode;

use jwt_router_compare::{Options, counting, inproc, loopback};

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

fn main() -> ExitCode {
    let options = match Options::parse(&["inproc", "loopback"]) {
        Ok(options) => options,
        Err(code) => return code,
    };
    for table in &options.tables {
        match table.as_str() {
            "inproc" => inproc::run(&options),
            _ => loopback::run(&options),
        }
    }
    ExitCode::SUCCESS
}
