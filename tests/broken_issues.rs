//! Every kind of broken issue file gets `FILE:LINE:COL: what is wrong`, and the render
//! command exits non-zero without writing anything.

use morningpost::issue::{Problem, parse_issue};

struct Case {
    name: &'static str,
    source: &'static [u8],
    line: usize,
    col: usize,
    message: &'static str,
}

const OK_FRONT: &str = "+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\n";

#[test]
fn broken_issue_files_are_located_and_explained() {
    let cases = [
        Case { name: "no front matter", source: b"# Hello\n\nbody\n", line: 1, col: 1, message: "missing front matter" },
        Case { name: "empty file", source: b"", line: 1, col: 1, message: "missing front matter" },
        Case { name: "unclosed front matter", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\n\nbody\n", line: 1, col: 1, message: "never closed" },
        Case { name: "unknown key", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\nauthor = \"me\"\n+++\nbody\n", line: 4, col: 1, message: "unknown field `author`" },
        Case { name: "missing title", source: b"+++\ndate = 2026-11-27\n+++\nbody\n", line: 2, col: 1, message: "no `title`" },
        Case { name: "missing date", source: b"+++\ntitle = \"T\"\n+++\nbody\n", line: 2, col: 1, message: "no `date`" },
        Case { name: "impossible date", source: b"+++\ntitle = \"T\"\ndate = 2026-02-30\n+++\nbody\n", line: 3, col: 8, message: "date" },
        Case { name: "date as a bad string", source: b"+++\ntitle = \"T\"\ndate = \"27/11/2026\"\n+++\nbody\n", line: 3, col: 8, message: "`date` must be a calendar date" },
        Case { name: "date with a time", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27T06:00:00Z\n+++\nbody\n", line: 3, col: 8, message: "no time" },
        Case { name: "title of the wrong type", source: b"+++\ntitle = 42\ndate = 2026-11-27\n+++\nbody\n", line: 2, col: 9, message: "invalid type" },
        Case { name: "multi-line title", source: b"+++\ntitle = \"\"\"a\nb\"\"\"\ndate = 2026-11-27\n+++\nbody\n", line: 2, col: 9, message: "`title` must be one line" },
        Case { name: "blank subject", source: b"+++\ntitle = \"T\"\nsubject = \"  \"\ndate = 2026-11-27\n+++\nbody\n", line: 3, col: 11, message: "`subject` must be one line" },
        Case { name: "bad slug", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\nslug = \"../etc\"\n+++\nbody\n", line: 4, col: 8, message: "`slug`" },
        Case { name: "toml syntax error", source: b"+++\ntitle = \"T\ndate = 2026-11-27\n+++\nbody\n", line: 2, col: 11, message: "front matter: invalid basic string" },
        Case { name: "empty body", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\n\n  \n", line: 5, col: 1, message: "no body" },
        Case { name: "invalid UTF-8", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\nok\nbad \xff byte\n", line: 6, col: 5, message: "not valid UTF-8" },
        Case { name: "level-1 heading", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\nLead.\n\n# Big\n", line: 7, col: 1, message: "`#` heading is not allowed" },
        Case { name: "javascript link", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\nSee [this](javascript:alert(1)).\n", line: 5, col: 5, message: "link target `javascript:alert(1)` is not allowed" },
        Case { name: "plain http link", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\n\n## S\n\n- [x](http://example.com) \xe2\x80\x94 y\n", line: 8, col: 3, message: "is not allowed" },
        // The docs once suggested `/archive`; the archive is at `/issues`, so every reader
        // who clicked it got "Not found".
        Case { name: "dead site link", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\nLead.\n\nSee [past issues](/archive).\n", line: 7, col: 5, message: "link `/archive` names no page of this site" },
        Case { name: "dead site link in a card", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\n\n## S\n\n- [x](/issues/2026-11-27/extra) \xe2\x80\x94 y\n", line: 8, col: 3, message: "names no page" },
        Case { name: "nested list", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\n- a\n  - b\n", line: 6, col: 3, message: "nested lists" },
        Case { name: "reserved slot character", source: "+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\nx\u{FDD0}y\n".as_bytes(), line: 5, col: 2, message: "reserved" },
        // Markdown and TOML decode escapes after the raw file is checked: before, these parsed
        // and every reader's address or unsubscribe URL was spliced into the text.
        Case { name: "slot forged with hex entities", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\nx &#xFDD0;recipient&#xFDD1; y\n", line: 5, col: 3, message: "reserved" },
        Case { name: "slot forged with decimal entities", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\n## S\n\n- &#64976;unsubscribe_url&#64977;\n", line: 7, col: 3, message: "reserved" },
        Case { name: "entity in a link URL", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\nSee [x](https://e.com/&#xFDD0;recipient&#xFDD1;).\n", line: 5, col: 5, message: "reserved" },
        Case { name: "entity in a link title", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\nSee [x](https://e.com \"&#xFDD1;\").\n", line: 5, col: 5, message: "reserved" },
        Case { name: "entity in a heading", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\nLead\n\n### &#xFDD0;view_url&#xFDD1;\n", line: 7, col: 5, message: "reserved" },
        Case { name: "TOML escape in the title", source: b"+++\ntitle = \"\\uFDD0recipient\\uFDD1\"\ndate = 2026-11-27\n+++\nbody\n", line: 2, col: 10, message: "reserved" },
        Case { name: "long TOML escape in the preheader", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\npreheader = \"a \\U0000fdd1\"\n+++\nbody\n", line: 4, col: 16, message: "reserved" },
        Case { name: "empty section heading", source: b"+++\ntitle = \"T\"\ndate = 2026-11-27\n+++\nLead\n\n##\n", line: 7, col: 1, message: "heading cannot be empty" },
    ];
    for case in &cases {
        let err = parse_issue("issue.md", case.source)
            .err()
            .unwrap_or_else(|| panic!("{}: parsed, but should fail", case.name));
        let text = err.to_string();
        let expected_prefix = format!("issue.md:{}:{}: ", case.line, case.col);
        assert!(
            text.starts_with(&expected_prefix),
            "{}: expected {expected_prefix}…, got {text}",
            case.name
        );
        assert!(
            text.contains(case.message),
            "{}: expected {:?} in {text}",
            case.name,
            case.message
        );
    }
}

#[test]
fn a_bom_and_crlf_line_ends_are_accepted() {
    let src = format!("\u{FEFF}{}", OK_FRONT.replace('\n', "\r\n")) + "Lead paragraph.\r\n";
    let issue = parse_issue("crlf.md", src.as_bytes()).expect("BOM + CRLF is fine");
    assert_eq!(issue.title, "T");
    assert_eq!(issue.slug.as_str(), "2026-11-27");
}

#[test]
fn a_file_over_two_megabytes_is_refused() {
    let mut src = OK_FRONT.as_bytes().to_vec();
    src.extend(std::iter::repeat_n(b'a', 3 * 1024 * 1024));
    let err = parse_issue("big.md", &src).unwrap_err();
    assert!(matches!(err.problem(), Some(Problem::TooLarge(_))), "{err}");
}

#[test]
fn the_render_command_exits_non_zero_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let issue = dir.path().join("broken.md");
    std::fs::write(&issue, "+++\ntitle = \"T\"\n+++\nbody\n").unwrap();
    let out = dir.path().join("out");
    let result = std::process::Command::new(env!("CARGO_BIN_EXE_morningpost"))
        .current_dir(dir.path())
        .args([
            "render",
            issue.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:2:1: front matter has no `date`",
            issue.display()
        )),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing written for a broken issue");
}

#[test]
fn the_render_command_writes_three_files() {
    let dir = tempfile::tempdir().unwrap();
    let issue = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/issues/2026-11-27.md");
    let result = std::process::Command::new(env!("CARGO_BIN_EXE_morningpost"))
        .current_dir(dir.path())
        .env("MORNINGPOST_BASE_URL", "https://news.example.com")
        .args(["render", issue, "--out", "prev"])
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let stdout = String::from_utf8_lossy(&result.stdout);
    for name in ["issue.html", "issue.txt", "issue.eml"] {
        let path = dir.path().join("prev").join(name);
        assert!(
            std::fs::metadata(&path).unwrap().len() > 1000,
            "{name} written"
        );
        assert!(stdout.contains(&format!("prev/{name}")), "{stdout}");
    }
}

/// Before: "cannot read issue file …: No such file or directory", then main printed the
/// cause again as "caused by: No such file or directory".
#[test]
fn an_unreadable_issue_file_is_named_and_its_cause_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.md");
    let err = morningpost::issue::read_issue_file(&missing).unwrap_err();
    let cause = std::error::Error::source(&err).expect("the I/O error is the source");
    assert!(!err.to_string().contains(&cause.to_string()), "{err}");
    let result = std::process::Command::new(env!("CARGO_BIN_EXE_morningpost"))
        .current_dir(dir.path())
        .args(["render", missing.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(!result.status.success());
    assert!(
        stderr.contains(&format!("cannot read the issue file {}", missing.display())),
        "{stderr}"
    );
    assert_eq!(stderr.matches(&cause.to_string()).count(), 1, "{stderr}");
}
