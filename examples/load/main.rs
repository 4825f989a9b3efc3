//! Bounded load test of the bookstore on loopback: `cargo run --release --example load`.
//!
//! Runs the bookstore in a child process (this binary with `--serve`) so its memory is measured
//! alone, registers a few users and a teacher, then sends a bounded mix of valid, expired,
//! forged, wrong-entity and tokenless requests over many keep-alive connections. Exits 1 on any
//! 5xx, any answer other than the expected one, a changed book list, or server memory growing
//! from the first to the last tenth of the run.
//!
//! Options: `--requests N` (200000), `--concurrency C` (64, one connection each),
//! `--duration SECS` (60, a hard cap), `--max-rss-ratio R` (1.5). Loopback only.

#[path = "../bookstore/app/mod.rs"]
mod app;
mod mix;
mod report;
mod server;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Client;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use self::mix::{Fixtures, Worker};
use self::report::Stats;
use self::server::Server;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--serve") => server::serve(args.get(1).cloned().unwrap_or_default().into()),
        _ => Options::parse(&args).and_then(run),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("load: FAILED");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("load: {err}");
            ExitCode::FAILURE
        }
    }
}

struct Options {
    requests: u64,
    concurrency: usize,
    duration: Duration,
    max_rss_ratio: f64,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, Error> {
        let mut opts = Self {
            requests: 200_000,
            concurrency: 64,
            duration: Duration::from_secs(60),
            max_rss_ratio: 1.5,
        };
        for pair in args.chunks(2) {
            let [name, value] = pair else {
                return Err(format!("{pair:?}: every option takes a value").into());
            };
            match name.as_str() {
                "--requests" => opts.requests = value.parse()?,
                "--concurrency" => opts.concurrency = value.parse()?,
                "--duration" => opts.duration = Duration::from_secs(value.parse()?),
                "--max-rss-ratio" => opts.max_rss_ratio = value.parse()?,
                _ => {
                    return Err(format!("unknown option {name} (see examples/load/main.rs)").into());
                }
            }
        }
        Ok(opts)
    }
}

/// Starts the server, loads it, stops it; whether every check passed.
fn run(opts: Options) -> Result<bool, Error> {
    let server = Server::start()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let passed = runtime.block_on(load(&opts, &server))?;
    let status = server.stop()?;
    println!("server stopped: {status}");
    Ok(passed && status.success())
}

async fn load(opts: &Options, server: &Server) -> Result<bool, Error> {
    server.wait_healthy(&client()?).await?;
    let boot_kib = server::rss_kib(server.pid());
    let setup_started = Instant::now();
    let fx = Arc::new(Fixtures::new(&server.base).await?);
    println!(
        "setup: {} in {:.1?}",
        fx.describe(),
        setup_started.elapsed()
    );

    let start_kib = server::rss_kib(server.pid());
    let started = Instant::now();
    let (stop_sampling, stopped) = oneshot::channel();
    let sampler = tokio::spawn(server::sample(server.pid(), started, stopped));
    let (sent, next) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let deadline = started + opts.duration;
    let mut workers = JoinSet::new();
    for _ in 0..opts.concurrency {
        let mut worker = Worker::new(client()?, Arc::clone(&fx), Arc::clone(&sent));
        let (next, limit) = (Arc::clone(&next), opts.requests);
        workers.spawn(async move {
            while worker.sent() < limit && Instant::now() < deadline {
                worker.op(next.fetch_add(1, Ordering::Relaxed)).await;
            }
            worker.stats
        });
    }
    let mut stats = Stats::default();
    while let Some(done) = workers.join_next().await {
        stats.merge(done?);
    }
    let elapsed = started.elapsed();
    let _ = stop_sampling.send(());
    let memory = server::Memory {
        boot_kib,
        start_kib,
        samples: sampler.await?,
    };
    let books_intact = fx.books_intact(&client()?).await?;
    Ok(report::report(opts, &stats, elapsed, &memory, books_intact))
}

/// A client of its own for each worker: one keep-alive connection each.
fn client() -> Result<Client, Error> {
    // With `oidc`, reqwest has rustls but no provider of its own (see the function's docs).
    #[cfg(feature = "oidc")]
    jwt_router::install_default_tls_provider();
    Ok(Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(10))
        .build()?)
}
