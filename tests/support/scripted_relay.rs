//! `scripted_relay.py` (aiosmtpd): per-recipient 4xx and 5xx replies, and a rate above
//! which it answers like Amazon SES throttling — what smtp-sink cannot do per message.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::sink::{free_port, wait_until_listening};

pub struct ScriptedRelay {
    pub port: u16,
    log: std::path::PathBuf,
    child: Child,
}

/// What the relay saw: accepted messages (time, recipient) and throttled transactions.
#[derive(Debug, Default)]
pub struct RelayLog {
    pub accepted: Vec<(f64, String)>,
    pub throttled: Vec<f64>,
}

impl ScriptedRelay {
    /// Starts the relay; `rate`: transactions per second above which it throttles.
    pub fn start(dir: &Path, rate: Option<u32>) -> Self {
        let port = free_port();
        std::fs::create_dir_all(dir).expect("relay dir");
        let log = dir.join("relay.log");
        let out = std::fs::File::create(&log).expect("relay log");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(super::repo_path("tests/support/scripted_relay.py"))
            .arg(port.to_string());
        if let Some(rate) = rate {
            cmd.args(["--rate", &rate.to_string()]);
        }
        let child = cmd
            .stdout(Stdio::from(out))
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/ensure-tools installs python3-aiosmtpd)");
        wait_until_listening(port, "the scripted relay");
        Self { port, log, child }
    }

    pub fn url(&self, query: &str) -> String {
        format!("smtp://127.0.0.1:{}?tls=none{query}", self.port)
    }

    pub fn log(&self) -> RelayLog {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut log = RelayLog::default();
        for line in text.lines() {
            let mut words = line.split(' ');
            match (words.next(), words.next().and_then(|t| t.parse().ok())) {
                (Some("accepted"), Some(t)) => {
                    log.accepted
                        .push((t, words.next().unwrap_or_default().to_owned()));
                }
                (Some("throttled"), Some(t)) => log.throttled.push(t),
                _ => {}
            }
        }
        log
    }
}

impl Drop for ScriptedRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
