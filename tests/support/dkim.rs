//! DKIM keys made by openssl and signatures checked by dkimpy (Debian's python3-dkim): both
//! independent of our own code.

use std::process::Command;

use super::app::App;

/// Generates a DKIM key with openssl; returns (private key PEM path, TXT record path).
pub fn dkim_key(app: &App, kind: &str) -> (String, String) {
    let key = app.path(&format!("dkim-{kind}.pem"));
    let mut keygen = Command::new("openssl");
    match kind {
        "rsa-pkcs8" => keygen
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ])
            .arg(&key),
        "rsa-pkcs1" => keygen
            .args(["genrsa", "-traditional", "-out"])
            .arg(&key)
            .arg("2048"),
        "ed25519" => keygen
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&key),
        other => panic!("unknown key kind {other}"),
    };
    assert!(
        keygen
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl")
            .success()
    );
    let der = Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(&key)
        .output()
        .expect("openssl pkey");
    use base64::Engine;
    let (k, public) = if kind == "ed25519" {
        ("ed25519", &der.stdout[der.stdout.len() - 32..])
    } else {
        ("rsa", &der.stdout[..])
    };
    let record = format!(
        "v=DKIM1; k={k}; p={}",
        base64::engine::general_purpose::STANDARD.encode(public)
    );
    let txt = app.path(&format!("dkim-{kind}.txt"));
    std::fs::write(&txt, record).expect("write txt");
    (key.display().to_string(), txt.display().to_string())
}

pub fn dkim_verifies(app: &App, message: &[u8], txt: &str) -> bool {
    let file = app.path("verify.eml");
    std::fs::write(&file, message).expect("write message");
    let script = super::repo_path("tests/support/dkim_verify.py");
    let out = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(&file)
        .arg(txt)
        .output()
        .expect("python3 with dkim (apt-get install python3-dkim)");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "dkim_verify.py crashed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.status.success()
}
