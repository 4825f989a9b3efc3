//! A real PostgreSQL server for tests: a cluster of its own in a temporary directory, on a free
//! 127.0.0.1 port (no Unix socket), stopped and removed on drop.
//!
//! `initdb` runs once per machine and PostgreSQL version into a template directory that every
//! server copies (a copy takes a tenth of what `initdb` does). PostgreSQL refuses to run as root,
//! so as root (CI) the cluster belongs to, and the server runs as, the `postgres` user that the
//! Debian package creates.

use std::fs::File;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A `postgres` server of this test's own, stopped (and its directory removed) on drop.
pub struct PostgresServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl PostgresServer {
    /// Starts one on a free port; `None` (after saying so loudly) when PostgreSQL is not
    /// installed, which fails the test under CI instead.
    pub fn start() -> Option<Self> {
        let Some(bin) = bin_dir() else {
            let message = "PostgreSQL is not installed (apt-get install postgresql): \
                           the bookstore's PostgreSQL tests cannot run";
            assert!(std::env::var_os("CI").is_none(), "{message}");
            // Straight to the process's stderr: the test harness swallows `eprintln!` of tests
            // that pass.
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!!!!!!! SKIPPED: {message} !!!!!!!!!!\n"
            );
            return None;
        };
        // Who runs the servers, and the cluster they copy: found once per test process.
        static SETUP: OnceLock<(Owner, PathBuf)> = OnceLock::new();
        let (owner, template) = SETUP.get_or_init(|| {
            let owner = Owner::for_postgres();
            (owner, template(&bin, owner))
        });
        let owner = *owner;
        // A port found free may be taken before the server binds it: then try another.
        for _ in 0..5 {
            if let Some(server) = Self::launch(&bin, owner, template) {
                return Some(server);
            }
        }
        panic!("postgres found no free port in 5 tries");
    }

    /// A server on a copy of `template` and a free port; `None` when another process took the
    /// port first.
    fn launch(bin: &Path, owner: Owner, template: &Path) -> Option<Self> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "jwt-router-postgres-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        run(owner.command("cp").arg("-a").arg(template).arg(&dir));
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let log = dir.join("server.log");
        let child = owner
            .command(bin.join("postgres"))
            .arg("-D")
            .arg(&dir)
            .args(["-p", &port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories="])
            // Throwaway data: no waiting for the disk.
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off"])
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("the server log"))
            .spawn()
            .expect("postgres starts");
        let mut server = Self { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        // Ready when *this* server says so (line 8 of its postmaster.pid), not when something
        // answers on the port.
        let pid_file = server.dir.join("postmaster.pid");
        loop {
            let status = std::fs::read_to_string(&pid_file).unwrap_or_default();
            if status
                .lines()
                .nth(7)
                .is_some_and(|line| line.trim() == "ready")
            {
                return Some(server);
            }
            let exited = server.child.try_wait().expect("the server's status");
            let log = || std::fs::read_to_string(&log).unwrap_or_default();
            if exited.is_some() && log().contains("could not bind") {
                return None;
            }
            if exited.is_some() || Instant::now() > deadline {
                panic!(
                    "postgres never got ready on {port} ({exited:?}):\n{}",
                    log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The URL of its `postgres` database, for the superuser (trust authentication).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        // SIGQUIT: an immediate shutdown that takes the server's backends along.
        let _ = Command::new("kill")
            .args(["-QUIT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The directory of `postgres` and `initdb`: Debian keeps them out of `PATH`, in
/// /usr/lib/postgresql/<version>/bin (the newest version wins).
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .find(|dir| dir.join("postgres").exists() && dir.join("initdb").exists())
    })
}

/// The template cluster for `bin`, made by the first test process that needs it. `initdb`
/// writes a directory of this process's, renamed into place at once, so concurrent test
/// processes never see half a template.
fn template(bin: &Path, owner: Owner) -> PathBuf {
    let version = bin
        .parent()
        .and_then(Path::file_name)
        .map_or_else(|| "path".into(), |name| name.to_string_lossy());
    let template = std::env::temp_dir().join(format!(
        "jwt-router-postgres-{version}-template-u{}",
        owner.uid()
    ));
    if owned_by(&template, owner) && template.join("PG_VERSION").exists() {
        return template;
    }
    let fresh = template.with_extension(std::process::id().to_string());
    let _ = std::fs::remove_dir_all(&fresh);
    run(owner
        .command(bin.join("initdb"))
        .arg("-D")
        .arg(&fresh)
        .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"])
        .arg("--no-sync"));
    if std::fs::rename(&fresh, &template).is_ok() {
        return template;
    }
    if owned_by(&template, owner) {
        // Another test process was first: use its template.
        let _ = std::fs::remove_dir_all(&fresh);
        return template;
    }
    // Something else holds the name in the shared temporary directory: never run it.
    fresh
}

/// Whether `dir` is a directory (not a link) of `owner` that no one else may touch, as
/// `initdb` makes it.
fn owned_by(dir: &Path, owner: Owner) -> bool {
    std::fs::symlink_metadata(dir)
        .is_ok_and(|meta| meta.is_dir() && meta.uid() == owner.uid() && meta.mode() & 0o077 == 0)
}

/// Runs `command` to its end; panics with its output when it fails.
fn run(command: &mut Command) {
    let output = command.output().expect("the command starts");
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Who owns the clusters and runs the servers: this process, or the `postgres` user when this
/// process is root.
#[derive(Clone, Copy)]
enum Owner {
    Me(u32),
    Postgres { uid: u32, gid: u32 },
}

impl Owner {
    fn for_postgres() -> Self {
        let me = std::fs::metadata("/proc/self").map_or(0, |meta| meta.uid());
        if me != 0 {
            return Self::Me(me);
        }
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let ids = passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&"postgres"))
                .then(|| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))?
        });
        let (uid, gid) = ids.expect(
            "running as root, PostgreSQL needs the `postgres` user (the Debian package creates it)",
        );
        Self::Postgres { uid, gid }
    }

    fn uid(self) -> u32 {
        match self {
            Self::Me(uid) | Self::Postgres { uid, .. } => uid,
        }
    }

    /// `program`, run as this owner.
    fn command(self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        if let Self::Postgres { uid, gid } = self {
            command.uid(uid).gid(gid);
        }
        command
    }
}
