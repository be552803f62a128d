//! `/issues/feed.xml`: the archive as an Atom feed, read back by a real feed parser
//! (`feed-rs`), and linked from the archive's pages.

mod support;

use support::app::App;
use support::http::{Server, get};

fn parse(body: &str) -> feed_rs::model::Feed {
    feed_rs::parser::parse(body.as_bytes())
        .unwrap_or_else(|e| panic!("not a valid feed ({e}):\n{body}"))
}

#[test]
fn the_feed_has_one_entry_per_published_issue_with_its_web_version() {
    let mut app = App::new();
    app.ok(&["subscribers", "add", "ada@example.com"]);
    let server = Server::start(&mut app, &[]);
    let base = format!("http://127.0.0.1:{}", server.port);

    let empty = get(server.port, "/issues/feed.xml");
    assert_eq!(empty.status, 200);
    assert_eq!(
        empty.header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    let feed = parse(&empty.body);
    assert!(feed.entries.is_empty(), "nothing is published yet");
    assert_eq!(
        feed.title.map(|t| t.content).as_deref(),
        Some("The AI Morning Post")
    );

    app.ok(&["send", &app.sample_issue(), "--wait"]);
    // A title with markup characters, escaped in the XML and read back as written.
    let hostile = app.path("hostile.md");
    std::fs::write(
        &hostile,
        "+++\ntitle = \"Q&A: <script> & \\\"quotes\\\"\"\ndate = 2026-11-28\n+++\n\nThe lead.\n",
    )
    .expect("write issue");
    app.ok(&["send", hostile.to_str().expect("UTF-8 path"), "--wait"]);

    let body = get(server.port, "/issues/feed.xml").body;
    assert!(!body.contains("<script>"), "{body}");
    let feed = parse(&body);
    assert_eq!(feed.id, format!("{base}/issues"));
    assert!(
        feed.links.iter().any(
            |l| l.rel.as_deref() == Some("self") && l.href == format!("{base}/issues/feed.xml")
        ),
        "{:?}",
        feed.links
    );
    let titles: Vec<String> = feed
        .entries
        .iter()
        .map(|e| {
            e.title
                .as_ref()
                .map(|t| t.content.clone())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        titles,
        [
            "Q&A: <script> & \"quotes\"",
            "The Zero-Download Mystery: HuggingFace's New Experimental Underground"
        ],
        "newest first"
    );
    let sample = &feed.entries[1];
    assert_eq!(sample.id, format!("{base}/issues/2026-11-27"));
    assert_eq!(sample.links[0].href, format!("{base}/issues/2026-11-27"));
    assert!(sample.updated.is_some() && sample.published.is_some());
    assert_eq!(
        feed.updated,
        feed.entries.iter().filter_map(|e| e.updated).max()
    );
    let page = get(server.port, &sample.links[0].href.replacen(&base, "", 1));
    assert_eq!(page.status, 200, "the entry's link is the issue's page");

    for path in ["/issues", "/issues/2026-11-27", "/"] {
        let page = get(server.port, path).body;
        assert!(
            page.contains("<link rel=\"alternate\" type=\"application/atom+xml\""),
            "{path} names the feed"
        );
    }
}
