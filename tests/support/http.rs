//! A raw HTTP/1.1 client (so tests can send what no library would: repeated fields, wrong
//! charsets, 10 MB bodies) and the real `serve` process on a free port.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::app::App;
use super::sink::free_port;

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the server");
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send head");
    // The server may answer (413) and close before reading a huge body: that is fine.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse(&raw)
}

fn parse(raw: &[u8]) -> Response {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect::<Vec<_>>();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

pub fn post_form(port: u16, path: &str, body: &str) -> Response {
    request(
        port,
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
}

/// A sign-up through the JSON API (no form stamp needed), as a script or a bot sends it.
pub fn subscribe_json(port: u16, email: &str) -> Response {
    request(
        port,
        "POST",
        "/subscribe",
        &[("Content-Type", "application/json")],
        format!("{{\"email\":\"{email}\"}}").as_bytes(),
    )
}

pub fn get(port: u16, path: &str) -> Response {
    request(port, "GET", path, &[], b"")
}

/// `morningpost serve` on a free port, with links pointing at it. Killed on drop.
pub struct Server {
    pub port: u16,
    child: Child,
}

impl Server {
    pub fn start(app: &mut App, args: &[&str]) -> Self {
        Self::start_with(app, args, None)
    }

    /// The same, with at most `open_files` file descriptors (`ulimit -n`, as systemd's
    /// `LimitNOFILE=` would set).
    pub fn start_limited(app: &mut App, args: &[&str], open_files: u32) -> Self {
        Self::start_with(app, args, Some(open_files))
    }

    fn start_with(app: &mut App, args: &[&str], open_files: Option<u32>) -> Self {
        let port = free_port();
        app.set("MORNINGPOST_BIND", &format!("127.0.0.1:{port}"));
        app.set("MORNINGPOST_BASE_URL", &format!("http://127.0.0.1:{port}"));
        let mut all = vec!["serve"];
        all.extend_from_slice(args);
        let child = match open_files {
            None => app.spawn(&all),
            Some(n) => {
                let mut cmd = Command::new("sh");
                cmd.current_dir(app.dir.path())
                    .env_clear()
                    .env("PATH", std::env::var("PATH").unwrap_or_default())
                    .envs(&app.env)
                    .args(["-c", "ulimit -n \"$0\" && exec \"$@\""])
                    .arg(n.to_string())
                    .arg(env!("CARGO_BIN_EXE_morningpost"))
                    .args(&all)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                cmd.spawn().expect("spawn morningpost under ulimit")
            }
        };
        let server = Self { port, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok()
                && get(port, "/healthz").status == 200
            {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not come up on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stop(mut self) -> std::process::ExitStatus {
        // SIGTERM: the graceful path.
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().expect("server exits")
    }
}

impl Server {
    /// Sends SIGTERM and returns when it was sent.
    pub fn terminate(&self) -> Instant {
        let sent = Instant::now();
        let status = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        sent
    }

    /// The exit status, if the process ends within `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the server") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then everything the server wrote to stderr.
    pub fn stop_with_log(mut self) -> (std::process::ExitStatus, String) {
        self.terminate();
        let mut log = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut log);
        }
        (self.child.wait().expect("server exits"), log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every http(s) URL in a text.
pub fn urls(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| w.replace("&amp;", "&"))
        .collect()
}
