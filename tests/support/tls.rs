//! TLS for the SMTP tests: a test CA and certificates made with openssl at test time, and a
//! real SMTP server with STARTTLS, implicit TLS and AUTH (aiosmtpd, `smtp_tls_server.py`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::sink::free_port;

/// A CA, a server certificate it signed for 127.0.0.1, and a self-signed one for the same name.
pub struct TestPki {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub self_signed_cert: PathBuf,
    pub self_signed_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl TestPki {
    pub fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("pki dir");
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let san = "subjectAltName=IP:127.0.0.1,DNS:localhost";
        let ca_ext = [
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ];
        let mut ca = vec![
            "req",
            "-x509",
            "-days",
            "2",
            "-subj",
            "/CN=morningpost test CA",
        ];
        ca.extend(ec);
        ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
        ca.extend(ca_ext);
        openssl(dir, &ca);

        let mut csr = vec!["req", "-subj", "/CN=127.0.0.1"];
        csr.extend(ec);
        csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
        openssl(dir, &csr);
        std::fs::write(
            dir.join("server.ext"),
            format!(
                "{san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
            ),
        )
        .expect("write server.ext");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ],
        );

        let mut own = vec!["req", "-x509", "-days", "2", "-subj", "/CN=127.0.0.1"];
        own.extend(ec);
        own.extend(["-keyout", "self.key", "-out", "self.pem", "-addext", san]);
        openssl(dir, &own);
        Self {
            ca: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            self_signed_cert: dir.join("self.pem"),
            self_signed_key: dir.join("self.key"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    StartTls,
    Implicit,
}

/// Who may log in, and with which mechanisms (`PLAIN`, `LOGIN`; empty = both).
pub struct Login<'a> {
    pub user: &'a str,
    pub password: &'a str,
    pub mechanisms: &'a [&'a str],
}

pub struct TlsSmtpServer {
    pub port: u16,
    pub dir: PathBuf,
    child: Child,
}

impl TlsSmtpServer {
    pub fn start(
        dir: &Path,
        mode: TlsMode,
        cert: &Path,
        key: &Path,
        login: Option<Login<'_>>,
    ) -> Self {
        std::fs::create_dir_all(dir).expect("dump dir");
        let port = free_port();
        let script = super::repo_path("tests/support/smtp_tls_server.py");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(script)
            .arg(port.to_string())
            .arg(dir)
            .arg(match mode {
                TlsMode::StartTls => "starttls",
                TlsMode::Implicit => "implicit",
            })
            .arg(cert)
            .arg(key);
        if let Some(login) = login {
            let file = dir.join(".credentials");
            std::fs::write(&file, format!("{}\n{}\n", login.user, login.password))
                .expect("write credentials");
            cmd.arg(file).args(login.mechanisms);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/ensure-tools installs python3-aiosmtpd)");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!("the TLS SMTP server exited ({status}): {err}");
            }
            assert!(
                Instant::now() < deadline,
                "the TLS SMTP server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            port,
            dir: dir.to_owned(),
            child,
        }
    }

    /// Every message accepted so far, with the server's X-TLS / X-Auth-* lines in front.
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .into_iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }
}

impl Drop for TlsSmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
