//! A private PostgreSQL cluster for one test, to stop and start at will without touching the
//! machine's shared server (other tests use it at the same time): `initdb` into a temporary
//! folder owned by the `postgres` OS user (root may not run PostgreSQL), then `postgres -D
//! folder -p PORT -k folder` run as that user, listening on 127.0.0.1 with trust
//! authentication. Stopped (fast shutdown) and its folder removed on drop.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::sink::free_port;

pub struct PgCluster {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
    uid: u32,
    gid: u32,
    server: Option<Child>,
}

/// The newest installed PostgreSQL's `bin` folder.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed under /usr/lib/postgresql")
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions
        .pop()
        .expect("an initdb under /usr/lib/postgresql/*/bin")
}

/// The `postgres` OS user's uid and gid.
fn postgres_user() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("id");
        assert!(out.status.success(), "no `postgres` OS user");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("numeric id")
    };
    (id("-u"), id("-g"))
}

impl PgCluster {
    /// Creates the cluster and starts it on a free port.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("mp-pg-")
            .tempdir()
            .expect("temp dir");
        let (uid, gid) = postgres_user();
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown to postgres");
        let bin = bin_dir();
        let out = Command::new(bin.join("initdb"))
            .args(["-D"])
            .arg(dir.path().join("data"))
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
            .uid(uid)
            .gid(gid)
            .current_dir(dir.path())
            .output()
            .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut cluster = Self {
            port: free_port(),
            dir,
            bin,
            uid,
            gid,
            server: None,
        };
        cluster.start_server();
        cluster
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// Starts the server (again) on the same port and waits until it accepts connections.
    pub fn start_server(&mut self) {
        assert!(self.server.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("server log");
        std::os::unix::fs::chown(self.log_path(), Some(self.uid), Some(self.gid))
            .expect("chown log");
        let child = Command::new(self.bin.join("postgres"))
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(self.dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=60",
            ])
            .uid(self.uid)
            .gid(self.gid)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start postgres");
        self.server = Some(child);
        self.wait_until_ready(Duration::from_secs(30));
    }

    /// Waits until a query succeeds.
    fn wait_until_ready(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            if let Some(server) = self.server.as_mut()
                && let Ok(Some(status)) = server.try_wait()
            {
                panic!(
                    "postgres exited ({status}):\n{}",
                    std::fs::read_to_string(self.log_path()).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not start in {within:?}:\n{}",
                std::fs::read_to_string(self.log_path()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server the way `pg_ctl stop -m fast` does (SIGINT: open sessions are
    /// disconnected, transactions rolled back) and waits until it has exited.
    pub fn stop_server(&mut self) {
        self.signal_and_wait("-INT");
    }

    /// Stops the server the way `pg_ctl stop -m immediate` does (SIGQUIT: every process
    /// quits at once, no checkpoint; the next start recovers from the WAL, as after a
    /// crash) and waits until it has exited.
    pub fn crash_server(&mut self) {
        self.signal_and_wait("-QUIT");
    }

    fn signal_and_wait(&mut self, signal: &str) {
        if let Some(mut server) = self.server.take() {
            let _ = Command::new("kill")
                .args([signal, &server.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if server.try_wait().expect("wait for postgres").is_some() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = server.kill();
                    let _ = server.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// The folder the cluster lives in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop_server();
    }
}
