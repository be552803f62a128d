//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

pub mod app;
pub mod browser;
pub mod db;
pub mod dkim;
pub mod dns_server;
pub mod ext4;
pub mod fault_relay;
pub mod http;
pub mod in_process;
pub mod mail;
pub mod pg_cluster;
pub mod rows;
pub mod scripted_relay;
pub mod seed;
pub mod send_one;
pub mod sink;
pub mod tls;
pub mod tmpfs;

use std::collections::BTreeMap;
use std::path::PathBuf;

use morningpost::config::Settings;

/// Settings from the defaults alone, plus the given `MORNINGPOST_*` variables.
pub fn settings(env: &[(&str, &str)]) -> Settings {
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_sources(None, &env).expect("test settings are valid")
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn sample_issue_bytes() -> Vec<u8> {
    std::fs::read(repo_path("examples/issues/2026-11-27.md"))
        .expect("the sample issue ships with the repo")
}

/// Compares `actual` with a golden file; `MORNINGPOST_UPDATE_GOLDEN=1` rewrites it instead.
pub fn assert_golden(name: &str, actual: &str) {
    let path = repo_path("tests/golden").join(name);
    if std::env::var_os("MORNINGPOST_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with MORNINGPOST_UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected.as_str(), actual);
        panic!(
            "{name} differs from its golden file (- golden, + now); if the change is intended, \
             rerun with MORNINGPOST_UPDATE_GOLDEN=1\n{}",
            diff.unified_diff().context_radius(2)
        );
    }
}

/// A spawned `morningpost` that is killed when the test ends, failed or not (a leftover
/// worker would keep its ports, and cargo's build lock through inherited descriptors).
pub struct ChildGuard(pub std::process::Child);

impl ChildGuard {
    /// Kills it now and returns what it wrote on standard error.
    pub fn stop_with_stderr(&mut self) -> String {
        use std::io::Read;
        let _ = self.0.kill();
        let _ = self.0.wait();
        let mut err = String::new();
        if let Some(mut stderr) = self.0.stderr.take() {
            let _ = stderr.read_to_string(&mut err);
        }
        err
    }
}

impl ChildGuard {
    /// Waits for it to exit by itself (killing it and failing past `within`); its exit
    /// status and standard error.
    pub fn wait_for_exit(
        &mut self,
        within: std::time::Duration,
    ) -> (std::process::ExitStatus, String) {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.0.try_wait().expect("wait for the child") {
                return (status, self.stop_with_stderr());
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still running after {within:?}: {}",
                self.stop_with_stderr()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
