//! A real `redis-server` for tests, on a free 127.0.0.1 port in a temporary directory.

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jwt_router::RedisSessions;

/// A `redis-server` of this test's own, stopped (and its directory removed) on drop.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts one on a free port; `None` (after saying so loudly) when redis-server is not
    /// installed, which fails the test under CI instead.
    pub fn start() -> Option<Self> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        Self::start_on(port)
    }

    pub fn start_on(port: u16) -> Option<Self> {
        let dir =
            std::env::temp_dir().join(format!("jwt-router-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let spawned = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let message = "redis-server is not installed (apt-get install redis-server): \
                               the Redis session store tests cannot run";
                assert!(std::env::var_os("CI").is_none(), "{message}");
                // Straight to the process's stderr: the test harness swallows `eprintln!` of
                // tests that pass.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n!!!!!!!!!! SKIPPED: {message} !!!!!!!!!!\n"
                );
                return None;
            }
            Err(err) => panic!("redis-server did not start: {err}"),
        };
        let server = Self { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server never listened on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub async fn store(&self) -> RedisSessions {
        RedisSessions::connect(&self.url()).await.expect("connects")
    }

    /// How many times the server has run `command` (`INFO commandstats`, via `redis-cli`).
    pub fn calls(&self, command: &str) -> u64 {
        let output = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["INFO", "commandstats"])
            .output()
            .expect("redis-cli runs");
        let stats = String::from_utf8_lossy(&output.stdout);
        let line = format!("cmdstat_{}:calls=", command.to_lowercase());
        stats
            .lines()
            .find_map(|row| row.strip_prefix(line.as_str()))
            .map_or(0, |rest| {
                let calls = rest.split(',').next().unwrap_or_default();
                calls.parse().expect("a count")
            })
    }

    /// Stops the server and waits until it is gone.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
