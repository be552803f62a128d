//! `morningpost preview ISSUE`: the issue served on localhost, rendered again when the file
//! is saved; an error in the file shows with its location instead of the last good render.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::ChildGuard;
use support::app::App;
use support::browser::{drive, screenshot, text};
use support::http::get;
use support::sink::{free_port, wait_until_listening};

fn wait_for_page(port: u16, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = get(port, "/").body;
        if page.contains(want) {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "the preview never showed {want:?}:\n{page}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_preview_shows_the_issue_renders_again_on_save_and_shows_errors_where_they_are() {
    let app = App::new();
    let issue = app.sample_issue();
    let port = free_port();
    let child = app.spawn(&["preview", &issue, "--bind", &format!("127.0.0.1:{port}")]);
    let _guard = ChildGuard(child);
    wait_until_listening(port, "the preview");

    let page = wait_for_page(port, "Desktop · light");
    for part in [
        "Phone · light",
        "Desktop · dark",
        "Phone · dark",
        "Plain-text part",
        "No warnings.",
    ] {
        assert!(page.contains(part), "{part} is missing:\n{page}");
    }
    let email = get(port, "/email.html?scheme=dark").body;
    assert!(
        email.contains("@media all") && email.contains("Unsubscribe"),
        "the dark frame"
    );
    assert!(get(port, "/email.txt").body.contains("THE AI MORNING POST"));

    // A reload is announced to a waiting page as soon as the file changes.
    let waiting = std::thread::spawn(move || get(port, "/changes?after=1").body);
    std::thread::sleep(Duration::from_millis(300));
    let good = std::fs::read_to_string(&issue).expect("read issue");
    std::fs::write(
        &issue,
        good.replace("## Tools of the Week", "## Tools of This Week"),
    )
    .expect("save");
    assert_eq!(waiting.join().expect("the waiting request"), "2");
    wait_for_page(port, "TOOLS OF THIS WEEK");

    // A dead site link: the error and its place, not the last good render.
    let broken = good.replace("[in the archive](/issues)", "[in the archive](/archive)");
    assert_ne!(broken, good, "the sample issue links to the archive");
    std::fs::write(&issue, &broken).expect("save");
    let page = wait_for_page(port, "names no page of this site");
    let line = broken
        .lines()
        .position(|l| l.contains("(/archive)"))
        .expect("the line")
        + 1;
    assert!(page.contains(&format!("issue.md:{line}:")), "{page}");
    assert!(
        !page.contains("Desktop · light"),
        "no stale render beside the error"
    );
    assert_eq!(get(port, "/email.html").status, 422);

    std::fs::write(&issue, &good).expect("save");
    wait_for_page(port, "Desktop · light");

    let shot = drive(&[
        json!({ "url": format!("http://127.0.0.1:{port}/"), "width": 1500,
        "height": 1000, "screenshot": screenshot("preview") }),
    ]);
    assert!(text(&shot[0]["before"]).contains("Plain-text part"));
}
