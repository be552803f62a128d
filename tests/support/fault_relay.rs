//! `fault_relay.py`: a TCP proxy in front of a healthy relay (smtp-sink) whose first N
//! sessions stall or hang up at one step of the SMTP dialogue; later sessions pass through.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::sink::free_port;

/// Where a faulty session goes wrong (the script's MODE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Accepts the connection, never sends the greeting.
    Silent,
    /// Never answers DATA: nothing is delivered.
    StallAtData,
    /// Takes the whole message (the healthy relay has it), never answers the final dot.
    StallAtEndOfData,
    /// Hangs up without a reply on DATA: nothing is delivered.
    CloseAtData,
    /// Takes the whole message (the healthy relay has it), hangs up without answering it.
    CloseAtEndOfData,
}

impl Fault {
    fn mode(self) -> &'static str {
        match self {
            Fault::Silent => "silent",
            Fault::StallAtData => "stall-data",
            Fault::StallAtEndOfData => "stall-eod",
            Fault::CloseAtData => "close-after-data",
            Fault::CloseAtEndOfData => "close-after-eod",
        }
    }

    /// Whether the healthy relay behind got the message the faulty session was sending.
    pub fn delivers(self) -> bool {
        matches!(self, Fault::StallAtEndOfData | Fault::CloseAtEndOfData)
    }
}

pub struct FaultRelay {
    pub port: u16,
    log: PathBuf,
    child: Child,
}

impl FaultRelay {
    /// Listens on a free port; the first `faulty_sessions` sessions have `fault`, the
    /// others are passed to the relay on `upstream_port`.
    pub fn start(dir: &Path, upstream_port: u16, fault: Fault, faulty_sessions: usize) -> Self {
        let port = free_port();
        std::fs::create_dir_all(dir).expect("relay dir");
        let log = dir.join("fault_relay.log");
        let out = std::fs::File::create(&log).expect("relay log");
        let child = Command::new("/usr/bin/python3")
            .arg(super::repo_path("tests/support/fault_relay.py"))
            .args([
                port.to_string(),
                upstream_port.to_string(),
                fault.mode().to_owned(),
                faulty_sessions.to_string(),
            ])
            .stdout(Stdio::from(out))
            .stderr(Stdio::null())
            .spawn()
            .expect("python3");
        // Not probed by connecting: a probe would be a (faulty) session of its own.
        let relay = Self { port, log, child };
        relay.wait_until_logged("listening ");
        relay
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn wait_until_logged(&self, prefix: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !self.lines().iter().any(|l| l.starts_with(prefix)) {
            assert!(
                std::time::Instant::now() < deadline,
                "the faulty relay never logged {prefix:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Sessions opened so far.
    pub fn sessions(&self) -> usize {
        self.lines()
            .iter()
            .filter(|l| l.starts_with("session "))
            .count()
    }

    /// Faults that happened: a session that went wrong at its step.
    pub fn faults(&self) -> usize {
        self.lines()
            .iter()
            .filter(|l| l.starts_with("fault "))
            .count()
    }
}

impl Drop for FaultRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
