//! The bookstore in a child process (this binary with `--serve`), and its memory.

use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use reqwest::Client;
use tokio::sync::oneshot;

use super::{Error, app};

/// The server's signing key, which the load client also uses to make expired tokens.
pub(crate) const SECRET: &[u8] = b"load test: a fixed secret of well over thirty-two bytes";

/// Where the servers keep their data: by default a SQLite file of the server's and sessions in
/// its process; with `--replicas`, one PostgreSQL and (in the second phase) one Redis for all.
#[derive(Clone, Default)]
pub(crate) struct Stores {
    pub(crate) database_url: Option<String>,
    pub(crate) redis_url: Option<String>,
    /// With Redis: the servers' "not revoked" cache, in seconds (0: none).
    pub(crate) redis_cache_seconds: u64,
}

/// `--serve <dir>`: serves the bookstore on 127.0.0.1:0 with a database in `dir` (or at
/// `LOAD_DATABASE_URL`, sessions at `LOAD_REDIS_URL`), prints the port on stdout, and stops
/// gracefully when stdin closes (so also when the parent dies), then removes the database.
pub(crate) fn serve(dir: PathBuf) -> Result<bool, Error> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let config = app::Config {
        database_url: std::env::var("LOAD_DATABASE_URL").unwrap_or_else(|_| {
            format!("sqlite://{}?mode=rwc", dir.join("bookstore.db").display())
        }),
        secret: SECRET.to_vec(),
        admin_email: None,
        expire_minutes: 15,
        expire_days: 30,
        password_params: argon2::Params::DEFAULT,
        connections: app::ConnectionLimits::default(),
        logins: app::LoginLimits::default(),
        oidc: None,
        cookie_secure: true,
        redis_url: std::env::var("LOAD_REDIS_URL").ok(),
        redis_cache_seconds: std::env::var("LOAD_REDIS_CACHE_SECONDS")
            .ok()
            .and_then(|seconds| seconds.parse().ok())
            .unwrap_or(0),
    };
    let served = tokio::runtime::Runtime::new()?.block_on(async {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{}", listener.local_addr()?.port())?;
        stdout.flush()?;
        let (closed, stdin_closed) = oneshot::channel();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            let _ = closed.send(());
        });
        app::serve(config, listener, async {
            let _ = stdin_closed.await;
        })
        .await
    });
    // Only what the server made there, then `dir` if that left it empty.
    for file in ["bookstore.db", "bookstore.db-wal", "bookstore.db-shm"] {
        let _ = std::fs::remove_file(dir.join(file));
    }
    let _ = std::fs::remove_dir(&dir);
    served.map(|()| true)
}

/// The child process; killed on drop if it is still running, its database removed.
pub(crate) struct Server {
    child: Child,
    dir: PathBuf,
    pub(crate) base: String,
}

impl Server {
    /// The `n`th server of this run, on `stores`.
    pub(crate) fn start(n: usize, stores: &Stores) -> Result<Self, Error> {
        let dir = std::env::temp_dir().join(format!("jwt-router-load-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let mut command = Command::new(std::env::current_exe()?);
        if let Some(url) = &stores.database_url {
            command.env("LOAD_DATABASE_URL", url);
        }
        if let Some(url) = &stores.redis_url {
            command.env("LOAD_REDIS_URL", url);
            let seconds = stores.redis_cache_seconds.to_string();
            command.env("LOAD_REDIS_CACHE_SECONDS", seconds);
        }
        let child = command
            .arg("--serve")
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut server = Self {
            child,
            dir,
            base: String::new(),
        };
        let stdout = server.child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30))?;
        let port: u16 = line
            .trim()
            .parse()
            .map_err(|_| "the server did not start")?;
        server.base = format!("http://127.0.0.1:{port}");
        Ok(server)
    }

    /// Waits (up to 30 s) for `GET /health` to answer 200: the database is migrated.
    pub(crate) async fn wait_healthy(&self, client: &Client) -> Result<(), Error> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let health = client.get(format!("{}/health", self.base)).send().await;
            if health.is_ok_and(|answer| answer.status() == 200) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("the server is not healthy after 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes the child's stdin (graceful shutdown) and waits up to 10 s for it to exit.
    pub(crate) fn stop(mut self) -> Result<ExitStatus, Error> {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("the server did not stop within 10 s of its stdin closing".into())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the run measured of the server's memory, in KiB.
pub(crate) struct Memory {
    /// Migrated and listening, before any registration.
    pub(crate) boot_kib: Option<u64>,
    /// After the setup, as the load starts.
    pub(crate) start_kib: Option<u64>,
    /// Every 100 ms during the load.
    pub(crate) samples: Vec<Sample>,
}

pub(crate) struct Sample {
    /// Since the load started.
    pub(crate) at: Duration,
    pub(crate) rss_kib: u64,
    /// Open sockets: the listener and the connections.
    pub(crate) sockets: usize,
}

/// Samples `pid`'s memory and sockets every 100 ms, and once more at `stop`.
pub(crate) async fn sample(
    pid: u32,
    started: Instant,
    mut stop: oneshot::Receiver<()>,
) -> Vec<Sample> {
    let sample = || {
        rss_kib(pid).map(|rss_kib| Sample {
            at: started.elapsed(),
            rss_kib,
            sockets: sockets(pid),
        })
    };
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tick.tick() => samples.extend(sample()),
            _ = &mut stop => {
                // The load's last moment, also when it was shorter than a tick.
                samples.extend(sample());
                return samples;
            }
        }
    }
}

/// `pid`'s resident set in KiB (`VmRSS` in `/proc/<pid>/status`), Linux only.
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `pid`'s open sockets.
fn sockets(pid: u32) -> usize {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    fds.flatten()
        .filter(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|link| link.to_string_lossy().starts_with("socket:"))
        })
        .count()
}
