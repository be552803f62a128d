//! `send --dry-run` prints the plan `send` then carries out: the same number of new
//! deliveries and the same warnings, on both backends, including after readers joined or
//! left since a first send and after the issue file changed.

mod support;

use support::app::App;

/// (stdout, the `warning:` lines of stderr) of a successful run.
fn run(app: &App, args: &[&str]) -> (String, Vec<String>) {
    let (ok, out, err) = app.run(args);
    assert!(ok, "morningpost {args:?} failed:\n{out}\n{err}");
    let warnings = err
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .map(str::to_owned)
        .collect();
    (out, warnings)
}

/// The number a dry run promises: "would queue N new deliveries".
fn promised(dry: &str) -> u64 {
    dry.split("would queue ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in the dry run: {dry}"))
}

/// The number a send queued: "queued N deliveries", or none ("nothing to send", "nothing new").
fn queued(sent: &str) -> u64 {
    match sent.split("queued ").nth(1) {
        Some(r) if !sent.contains("already queued") => r
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in the send: {sent}")),
        _ => {
            assert!(sent.contains("nothing"), "{sent}");
            0
        }
    }
}

/// Dry run, then send: the numbers and the warnings must agree. Returns the number.
fn dry_run_then_send(app: &App, issue: &str) -> u64 {
    let (dry, dry_warnings) = run(app, &["send", issue, "--dry-run"]);
    let (sent, sent_warnings) = run(app, &["send", issue]);
    assert_eq!(
        promised(&dry),
        queued(&sent),
        "dry run:\n{dry}\nsend:\n{sent}"
    );
    assert_eq!(
        dry_warnings, sent_warnings,
        "dry run:\n{dry}\nsend:\n{sent}"
    );
    queued(&sent)
}

#[test]
fn the_dry_run_promises_what_the_send_then_does() {
    let app = App::new();
    let issue = app.sample_issue();
    let csv = app.write_subscribers(3);
    app.import_readers(&csv);
    assert_eq!(dry_run_then_send(&app, &issue), 3);

    // One reader leaves and two join; the issue file is edited after it was stored.
    // Before, the dry run said "up to 1" (4 active − 3 queued) and had no warning.
    app.sql("UPDATE subscribers SET status = 'unsubscribed' WHERE email = 'reader0@example.com'");
    let csv = app.write_subscribers(5);
    app.import_readers(&csv);
    let mut text = std::fs::read_to_string(&issue).unwrap();
    text.push_str("\nOne more thing, added after the first send.\n");
    std::fs::write(&issue, text).unwrap();
    let (dry, warnings) = run(&app, &["send", &issue, "--dry-run"]);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("stored earlier with different content")),
        "the dry run warns as the send does: {warnings:?}"
    );
    assert!(dry.contains("with different content"), "{dry}");
    assert!(
        dry.contains(
            "would queue 2 new deliveries (4 active subscribers, 2 of them already have this issue)"
        ),
        "{dry}"
    );
    assert_eq!(dry_run_then_send(&app, &issue), 2);

    // Everyone has it now.
    assert_eq!(dry_run_then_send(&app, &issue), 0);
}
