//! Bounded load test of the bookstore on loopback: `cargo run --release --example load`.
//!
//! Runs the bookstore in a child process (this binary with `--serve`) so its memory is measured
//! alone, registers a few users and a teacher, then sends a bounded mix of valid, expired,
//! forged, wrong-entity and tokenless requests over many keep-alive connections. Exits 1 on any
//! 5xx, any answer other than the expected one, a changed book list, or server memory growing
//! from the first to the last tenth of the run.
//!
//! Options: `--requests N` (200000), `--concurrency C` (64, one connection each),
//! `--duration SECS` (60, a hard cap), `--max-rss-ratio R` (1.5), `--replicas K` (1). Loopback
//! only.
//!
//! With `--replicas K` (2 or more; built with `--features redis`, PostgreSQL and redis-server
//! installed), K servers behind one secret share one PostgreSQL the run starts, and the
//! workers take them in turn. The same load runs three times: with each server's sessions in
//! its own process, then with sessions in one Redis (a logout on one server is then checked on
//! the next), then with Redis and each server's not-revoked cache (60 s, emptied by every
//! revocation's message); the valid-request latencies give the cost of the revocation check.

#[path = "../bookstore/app/mod.rs"]
mod app;
mod mix;
#[cfg(feature = "redis")]
#[path = "../../tests/support/postgres_server.rs"]
#[allow(dead_code)]
mod postgres_server;
#[cfg(feature = "redis")]
#[path = "../../tests/support/redis_server.rs"]
#[allow(dead_code)]
mod redis_server;
mod report;
mod server;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Client;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use self::mix::{Class, Fixtures, Worker};
use self::report::Stats;
use self::server::{Server, Stores};

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
    replicas: usize,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, Error> {
        let mut opts = Self {
            requests: 200_000,
            concurrency: 64,
            duration: Duration::from_secs(60),
            max_rss_ratio: 1.5,
            replicas: 1,
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
                "--replicas" => opts.replicas = value.parse()?,
                _ => {
                    return Err(format!("unknown option {name} (see examples/load/main.rs)").into());
                }
            }
        }
        if opts.replicas == 0 || opts.concurrency < opts.replicas {
            return Err("--replicas must be at least 1 and at most --concurrency".into());
        }
        Ok(opts)
    }
}

/// One server on its own SQLite file, or `--replicas`; whether every check passed.
fn run(opts: Options) -> Result<bool, Error> {
    if opts.replicas == 1 {
        return Ok(run_phase(&opts, &Stores::default())?.passed);
    }
    run_replicas(&opts)
}

/// The same load on `--replicas` servers sharing one PostgreSQL: sessions in each process,
/// then in one Redis; whether every check of both passed.
#[cfg(feature = "redis")]
fn run_replicas(opts: &Options) -> Result<bool, Error> {
    let redis = redis_server::RedisServer::start().ok_or("--replicas needs redis-server")?;
    let mut phases = Vec::new();
    for (name, redis_url, redis_cache_seconds) in [
        ("sessions in each process", None, 0),
        ("sessions in one Redis", Some(redis.url()), 0),
        ("Redis + not-revoked cache", Some(redis.url()), 60),
    ] {
        // A fresh database each time: the setup registers the same accounts.
        let postgres =
            postgres_server::PostgresServer::start().ok_or("--replicas needs PostgreSQL")?;
        println!("\n== {} servers on one PostgreSQL, {name}", opts.replicas);
        let stores = Stores {
            database_url: Some(postgres.url()),
            redis_url,
            redis_cache_seconds,
        };
        phases.push((name, run_phase(opts, &stores)?));
    }
    println!("\n== the revocation check in Redis: valid requests");
    for (name, phase) in &phases {
        println!(
            "{name:<26} p50 {:>9.2?}  p99 {:>9.2?}  {:>7.0} req/s",
            phase.valid_p50, phase.valid_p99, phase.rate
        );
    }
    if let [(_, local), shared @ ..] = &phases[..] {
        for (name, phase) in shared {
            println!(
                "{name} / in each process: p50 x{:.2}, throughput x{:.2}",
                phase.valid_p50.as_secs_f64() / local.valid_p50.as_secs_f64(),
                phase.rate / local.rate
            );
        }
    }
    Ok(phases.iter().all(|(_, phase)| phase.passed))
}

#[cfg(not(feature = "redis"))]
fn run_replicas(_: &Options) -> Result<bool, Error> {
    Err("--replicas shares sessions in Redis: build with `--features redis`".into())
}

/// What one load run found.
struct Phase {
    passed: bool,
    /// For `--replicas`' comparison.
    #[cfg_attr(not(feature = "redis"), expect(dead_code))]
    valid_p50: Duration,
    #[cfg_attr(not(feature = "redis"), expect(dead_code))]
    valid_p99: Duration,
    /// Requests a second.
    #[cfg_attr(not(feature = "redis"), expect(dead_code))]
    rate: f64,
}

/// Starts the servers on `stores`, loads them, stops them.
fn run_phase(opts: &Options, stores: &Stores) -> Result<Phase, Error> {
    let servers = (0..opts.replicas)
        .map(|n| Server::start(n, stores))
        .collect::<Result<Vec<_>, _>>()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let shared_sessions = stores.redis_url.is_some();
    let mut phase = runtime.block_on(load(opts, &servers, shared_sessions))?;
    for server in servers {
        let status = server.stop()?;
        println!("server stopped: {status}");
        phase.passed &= status.success();
    }
    Ok(phase)
}

/// Loads `servers` (the first one's memory is watched).
async fn load(opts: &Options, servers: &[Server], shared_sessions: bool) -> Result<Phase, Error> {
    for server in servers {
        server.wait_healthy(&client()?).await?;
    }
    let server = &servers[0];
    let boot_kib = server::rss_kib(server.pid());
    let setup_started = Instant::now();
    let bases = servers.iter().map(|server| server.base.clone()).collect();
    let fx = Arc::new(Fixtures::new(bases, shared_sessions).await?);
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
    for n in 0..opts.concurrency {
        let mut worker = Worker::new(n, client()?, Arc::clone(&fx), Arc::clone(&sent));
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
    let passed = report::report(opts, &stats, elapsed, &memory, books_intact);
    Ok(Phase {
        passed,
        valid_p50: stats.percentile(Class::Valid, 0.50),
        valid_p99: stats.percentile(Class::Valid, 0.99),
        rate: stats.requests() as f64 / elapsed.as_secs_f64(),
    })
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
