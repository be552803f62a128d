//! The real binary against a fresh SQLite database in a temporary folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub const BASE_URL: &str = "https://news.example.com";
pub const SECRET_KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

pub struct App {
    pub env: BTreeMap<String, String>,
    // Dropped before the folder: a PostgreSQL test database is dropped here.
    pub db: super::db::TestDb,
    pub dir: tempfile::TempDir,
}

impl App {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = super::db::TestDb::new(dir.path());
        Self::with_db(dir, db)
    }

    /// On SQLite whatever the backend chosen.
    pub fn on_sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = super::db::TestDb::sqlite(dir.path());
        Self::with_db(dir, db)
    }

    /// On PostgreSQL whatever the backend chosen.
    pub fn on_postgres() -> Self {
        Self::with_db(
            tempfile::tempdir().expect("temp dir"),
            super::db::TestDb::postgres(),
        )
    }

    fn with_db(dir: tempfile::TempDir, db: super::db::TestDb) -> Self {
        let mut env = BTreeMap::new();
        for (k, v) in [
            ("MORNINGPOST_DATABASE_URL", db.url.clone()),
            ("MORNINGPOST_BASE_URL", BASE_URL.to_owned()),
            (
                "MORNINGPOST_FROM",
                "The AI Morning Post <morning@example.com>".to_owned(),
            ),
            ("MORNINGPOST_SECRET_KEY", SECRET_KEY.to_owned()),
            (
                "MORNINGPOST_OUTBOX_DIR",
                dir.path().join("outbox").display().to_string(),
            ),
            ("MORNINGPOST_RETRY_FIRST_SECONDS", "1".to_owned()),
            ("MORNINGPOST_RETRY_CAP_SECONDS", "2".to_owned()),
            ("MORNINGPOST_LEASE_SECONDS", "12".to_owned()),
            ("MORNINGPOST_SMTP_TIMEOUT_SECONDS", "2".to_owned()),
            ("MORNINGPOST_LOG", "warn".to_owned()),
        ] {
            env.insert(k.to_owned(), v);
        }
        Self { env, db, dir }
    }

    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.insert(key.to_owned(), value.to_owned());
        self
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn database_url(&self) -> String {
        self.env["MORNINGPOST_DATABASE_URL"].clone()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_morningpost"));
        cmd.current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        cmd.envs(&self.env).args(args);
        cmd
    }

    /// Runs to the end; returns (success, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out: Output = self.command(args).output().expect("run morningpost");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs and insists on success.
    pub fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args);
        assert!(ok, "morningpost {args:?} failed:\n{out}\n{err}");
        out
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn morningpost")
    }

    /// A CSV of `n` subscribers `reader{i}@example.com`.
    pub fn write_subscribers(&self, n: usize) -> PathBuf {
        let path = self.path("subscribers.csv");
        let mut csv = String::from("email,name\n");
        for i in 0..n {
            csv.push_str(&format!("reader{i}@example.com,Reader {i}\n"));
        }
        std::fs::write(&path, csv).expect("write csv");
        path
    }

    /// Imports a file of readers who opted in elsewhere (active on that stated basis).
    pub fn import_readers(&self, file: &Path) -> String {
        self.ok(&[
            "subscribers",
            "import",
            path_str(file),
            "--consent",
            "confirmed-elsewhere",
        ])
    }

    /// A one-paragraph issue, for tests about the queue rather than the message: twenty
    /// thousand copies of the sample (48 KB each) took 1 GB of the sink's disk per test.
    pub fn short_issue(&self) -> String {
        let dst = self.path("short-issue.md");
        std::fs::write(
            &dst,
            "+++\ntitle = \"A short issue\"\ndate = 2026-11-27\n+++\n\nOne paragraph.\n",
        )
        .expect("write short issue");
        dst.display().to_string()
    }

    pub fn sample_issue(&self) -> String {
        let dst = self.path("issue.md");
        std::fs::copy(super::repo_path("examples/issues/2026-11-27.md"), &dst)
            .expect("copy sample issue");
        dst.display().to_string()
    }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

impl App {
    /// Runs one SQL statement on the test database (for states no command produces, such as
    /// an expired token). Through sqlx: no database client binary needed.
    pub fn sql(&self, statement: &str) {
        let url = self.database_url();
        let statement = statement.to_owned();
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(super::db::execute(&url, &statement));
    }

    /// UUIDs selected by a query with one text parameter (`$1`).
    pub fn uuids(&self, statement: &str, param: &str) -> Vec<uuid::Uuid> {
        let url = self.database_url();
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(super::db::uuids(&url, statement, param))
    }

    /// `email<TAB>name<TAB>status<TAB>time zone` lines, one per subscriber.
    pub fn statuses(&self) -> String {
        self.ok(&["subscribers", "list"])
    }

    /// Every `table.column` that still holds `needle` (ignoring case).
    pub fn columns_containing(&self, needle: &str) -> Vec<String> {
        let url = self.database_url();
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(super::db::columns_containing(&url, needle))
    }

    pub fn status_of(&self, email: &str) -> String {
        self.statuses()
            .lines()
            .find(|l| l.starts_with(&format!("{email}\t")))
            .and_then(|l| l.split('\t').nth(2))
            .unwrap_or("absent")
            .to_owned()
    }
}
