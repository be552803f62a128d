//! Headless Chromium through `tests/browser/drive.mjs` (Playwright's client and axe-core from
//! npm, Debian's `chromium`; `scripts/ensure-tools` installs all three). A visit is described
//! as JSON; what the browser saw comes back as JSON, and the test decides what must hold.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// Where screenshots are kept: CI keeps `target/` as its artefacts.
pub fn screenshot_dir() -> PathBuf {
    let dir = super::repo_path("target/browser-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

pub fn screenshot(name: &str) -> String {
    screenshot_dir()
        .join(format!("{name}.png"))
        .display()
        .to_string()
}

/// Runs the visits in order in one browser; one report per visit.
pub fn drive(visits: &[Value]) -> Vec<Value> {
    let job = tempfile::NamedTempFile::new().expect("job file");
    std::fs::write(
        job.path(),
        serde_json::json!({ "visits": visits }).to_string(),
    )
    .expect("write the job");
    let out = Command::new("node")
        .arg(super::repo_path("tests/browser/drive.mjs"))
        .arg(job.path())
        .output()
        .expect("node runs (scripts/ensure-tools installs what the browser tests need)");
    assert!(
        out.status.success(),
        "the browser driver failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports: Vec<Value> = serde_json::from_slice(&out.stdout).expect("the driver's JSON");
    for report in &reports {
        let errors = report["errors"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(
            errors, 0,
            "script errors on {}: {}",
            report["url"], report["errors"]
        );
    }
    reports
}

/// axe-core's WCAG 2.1 A/AA violations, one line each, for an assertion message.
pub fn axe_violations(facts: &Value) -> Vec<String> {
    facts["axe"]
        .as_array()
        .expect("axe ran on this page")
        .iter()
        .map(|v| {
            format!(
                "{} ({}): {} at {}",
                v["id"], v["impact"], v["help"], v["nodes"]
            )
        })
        .collect()
}

pub fn text(facts: &Value) -> &str {
    facts["text"].as_str().unwrap_or_default()
}
