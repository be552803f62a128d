//! A real SMTP server for tests: Postfix's smtp-sink on a free port, dumping each message
//! it accepts to its own file. Faults are smtp-sink's own flags (-r, -f, -q, -w …).

use std::collections::HashSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SMTP_SINK: &str = "/usr/sbin/smtp-sink";

pub struct SmtpSink {
    pub port: u16,
    pub dir: PathBuf,
    child: Child,
}

/// Waits (10 s at most) until something accepts connections on a local port.
pub fn wait_until_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl SmtpSink {
    /// Starts smtp-sink with extra flags (e.g. `["-r", "rcpt"]`), dumping into `dir`.
    pub fn start(dir: &Path, flags: &[&str]) -> Self {
        Self::start_on(free_port(), dir, flags)
    }

    pub fn start_on(port: u16, dir: &Path, flags: &[&str]) -> Self {
        assert!(
            Path::new(SMTP_SINK).exists(),
            "{SMTP_SINK} is missing: run scripts/test (it installs Postfix's tools)"
        );
        std::fs::create_dir_all(dir).expect("dump dir");
        // As root smtp-sink runs as `nobody`, who must be able to write the dumps.
        let _ = Command::new("chmod")
            .args(["-R", "a+rwx"])
            .arg(dir)
            .status();
        let template = format!("{}/%Y%m%d%H/%M.", dir.display());
        let mut cmd = Command::new(SMTP_SINK);
        cmd.args(["-u", "nobody", "-d", &template]);
        cmd.args(flags);
        cmd.arg(format!("127.0.0.1:{port}")).arg("512");
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start smtp-sink");
        let sink = Self {
            port,
            dir: dir.to_owned(),
            child,
        };
        wait_until_listening(port, "smtp-sink");
        sink
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// Stops the sink (the port is free again for a sink with other flags).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the sink mid-whatever, keeping what it dumped so far readable.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Every message received in full so far, without smtp-sink's own X-… lines.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.finished_dumps()
            .into_iter()
            .map(|bytes| strip_sink_headers(&bytes))
            .collect()
    }

    /// Every message received in full with its envelope: (MAIL FROM, RCPT TO, message), the
    /// addresses without angle brackets.
    pub fn envelopes(&self) -> Vec<(String, String, Vec<u8>)> {
        self.finished_dumps()
            .into_iter()
            .map(|bytes| {
                let text = String::from_utf8_lossy(&bytes);
                let arg = |name: &str| {
                    text.lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(|v| {
                            v.trim()
                                .trim_start_matches('<')
                                .trim_end_matches('>')
                                .to_owned()
                        })
                        .unwrap_or_default()
                };
                (
                    arg("X-Mail-Args: "),
                    arg("X-Rcpt-Args: "),
                    strip_sink_headers(&bytes),
                )
            })
            .collect()
    }

    /// How many messages have been received in full (their final "." accepted).
    pub fn count(&self) -> usize {
        self.finished_dumps().len()
    }

    /// smtp-sink opens a message's dump file at MAIL FROM and writes the data as it
    /// streams in, so a file in the folder may be a message still in transfer (or one
    /// about to be dropped by a hang-up). A dump is finished once smtp-sink has closed
    /// it and it ends with the line of the final dot, which it writes as an empty line.
    fn finished_dumps(&self) -> Vec<Vec<u8>> {
        let files = walk(&self.dir);
        let open = open_files(self.child.id());
        files
            .into_iter()
            .filter(|p| {
                let p = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
                !open.contains(&p)
            })
            .filter_map(|p| std::fs::read(p).ok())
            .filter(|bytes| bytes.ends_with(b"\n\n"))
            .collect()
    }

    /// Waits until at least `n` messages have arrived.
    /// Waits until `n` messages have at least begun (their dump file appears at MAIL FROM):
    /// the observable sign that a sender has messages in flight.
    pub fn wait_for_started(&self, n: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let c = walk(&self.dir).len();
            if c >= n || Instant::now() > deadline {
                return c;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_for(&self, n: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let c = self.count();
            if c >= n || Instant::now() > deadline {
                return c;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The files a process has open, from /proc (smtp-sink is one event-driven process).
fn open_files(pid: u32) -> HashSet<PathBuf> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return HashSet::new();
    };
    fds.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .collect()
}

/// smtp-sink writes `X-Client-Addr:`, `X-Mail-Args:` … before the message, with LF line ends.
fn strip_sink_headers(bytes: &[u8]) -> Vec<u8> {
    let mut rest = bytes;
    while rest.starts_with(b"X-Client-")
        || rest.starts_with(b"X-Helo-")
        || rest.starts_with(b"X-Mail-")
        || rest.starts_with(b"X-Rcpt-")
    {
        match rest.iter().position(|b| *b == b'\n') {
            Some(i) => rest = &rest[i + 1..],
            None => break,
        }
    }
    // Back to CRLF, as the message was on the wire.
    let mut out = Vec::with_capacity(rest.len() + rest.len() / 40);
    for (i, b) in rest.iter().enumerate() {
        if *b == b'\n' && (i == 0 || rest[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(*b);
    }
    out
}
