//! jwt-router side by side with no auth and with the alternatives: the same handler behind each
//! guard, timed in interleaved rounds so every ratio compares figures taken moments apart.
//!
//! ```sh
//! cargo run --release --manifest-path compare/Cargo.toml                 # in-process and loopback
//! cargo run --release --manifest-path compare/Cargo.toml -- inproc       # or: loopback
//! cargo run --release --manifest-path compare/Cargo.toml --bin sweep     # 10 to 10,000 routes
//! ```
//!
//! `--rounds N` sets the rounds, `--seconds S` the load per case and round over loopback,
//! `--only TEXT` keeps the cases whose name holds TEXT (and the baseline), and
//! `--tsv` prints one `table<TAB>case<TAB>value` line per figure instead of tables (what
//! `before-after.sh` reads). The sweep is a binary of its own so that the 10,000 handlers it
//! declares are compiled only for it.

pub mod apps;
pub mod counting;
pub mod inproc;
pub mod loopback;
pub mod report;

use std::process::ExitCode;

/// What the command line asked for.
pub struct Options {
    /// The tables to print, in order.
    pub tables: Vec<String>,
    pub rounds: Option<usize>,
    /// Only the cases whose name holds this (and the first, every ratio's baseline).
    pub only: Option<String>,
    pub seconds: f64,
    pub tsv: bool,
}

impl Options {
    /// The command line's options, `tables` naming what this binary can print (all of them
    /// when none is named).
    pub fn parse(tables: &[&str]) -> Result<Self, ExitCode> {
        let mut options = Options {
            tables: Vec::new(),
            rounds: None,
            only: None,
            seconds: 1.0,
            tsv: false,
        };
        let usage = |problem: &str| {
            eprintln!(
                "error: {problem}\n\
                 usage: [{}] [--rounds N] [--seconds S] [--only TEXT] [--tsv]",
                tables.join("] [")
            );
            ExitCode::from(2)
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut number = || args.next().and_then(|value| value.parse::<f64>().ok());
            match arg.as_str() {
                table if tables.contains(&table) => options.tables.push(arg),
                "--tsv" => options.tsv = true,
                "--rounds" => match number() {
                    Some(n) if n >= 1.0 && n.fract() == 0.0 => options.rounds = Some(n as usize),
                    _ => return Err(usage("--rounds takes a whole number of at least 1")),
                },
                "--seconds" => match number() {
                    Some(s) if s > 0.0 => options.seconds = s,
                    _ => return Err(usage("--seconds takes a positive number")),
                },
                "--only" => match args.next() {
                    Some(only) => options.only = Some(only),
                    None => return Err(usage("--only takes part of a case's name")),
                },
                other => return Err(usage(&format!("unknown argument {other:?}"))),
            }
        }
        if options.tables.is_empty() {
            options.tables = tables.iter().map(|t| (*t).to_owned()).collect();
        }
        Ok(options)
    }

    /// `cases` without those `--only` leaves out; the first always stays.
    pub fn keep<T: Named>(&self, cases: Vec<T>) -> Vec<T> {
        let Some(only) = &self.only else {
            return cases;
        };
        cases
            .into_iter()
            .enumerate()
            .filter(|(i, case)| *i == 0 || case.name().contains(only.as_str()))
            .map(|(_, case)| case)
            .collect()
    }
}

/// A case `--only` can pick by name.
pub trait Named {
    fn name(&self) -> &str;
}
