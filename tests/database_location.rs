//! Where the SQLite database is, and who may create it. A cron job runs `send --config
//! /etc/…/morningpost.toml` from another folder: a relative `sqlite://` path in that file must
//! name the file beside it, and a command that reads the queue must never make a new, empty
//! database and report "nothing to send" (SQLite only: PostgreSQL never creates a database).

mod support;

use std::path::Path;
use std::process::Output;

use support::app::{App, path_str};

/// An app whose database URL comes from `conf/morningpost.toml` (relative path `news.db`),
/// with commands run from the unrelated folder `elsewhere/`.
fn app_with_config_file() -> (App, String) {
    let mut app = App::new();
    app.env.remove("MORNINGPOST_DATABASE_URL");
    std::fs::create_dir_all(app.path("conf")).unwrap();
    std::fs::create_dir_all(app.path("elsewhere")).unwrap();
    let config = app.path("conf/morningpost.toml");
    std::fs::write(&config, "database_url = \"sqlite://news.db\"\n").unwrap();
    (app, path_str(&config).to_owned())
}

fn run_in(app: &App, folder: &Path, args: &[&str]) -> Output {
    app.command(args)
        .current_dir(folder)
        .output()
        .expect("run morningpost")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_relative_path_in_a_config_file_is_read_from_its_folder() {
    let (app, config) = app_with_config_file();
    let csv = app.write_subscribers(3);
    let issue = app.sample_issue();
    // Import from the app's folder, send from another: both must use conf/news.db.
    let out = run_in(
        &app,
        app.dir.path(),
        &[
            "--config",
            &config,
            "subscribers",
            "import",
            path_str(&csv),
            "--consent",
            "confirmed-elsewhere",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(app.path("conf/news.db").exists());
    let out = run_in(
        &app,
        &app.path("elsewhere"),
        &["--config", &config, "send", &issue],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("queued 3 deliveries"),
        "send from another folder must find the 3 subscribers: {}",
        text(&out)
    );
    for stray in [app.path("news.db"), app.path("elsewhere/news.db")] {
        assert!(!stray.exists(), "{} was created", stray.display());
    }
}

#[test]
fn commands_that_read_refuse_a_missing_database_and_create_nothing() {
    let (app, config) = app_with_config_file();
    let issue = app.sample_issue();
    let mbox = app.path("empty.mbox");
    std::fs::write(&mbox, "").unwrap();
    let expected = app.path("conf/news.db");
    let commands: [&[&str]; 6] = [
        &["send", &issue],
        &["status"],
        &["worker", "--until-done"],
        &["unsubscribe-mail", "--mbox", path_str(&mbox)],
        &["subscribers", "list"],
        &["subscribers", "export"],
    ];
    for command in commands {
        let mut args = vec!["--config", config.as_str()];
        args.extend_from_slice(command);
        let out = run_in(&app, &app.path("elsewhere"), &args);
        let said = text(&out);
        // Each gets exit 1 and an error naming the file and `morningpost init`.
        assert_eq!(out.status.code(), Some(1), "{command:?}: {said}");
        assert!(
            said.contains(path_str(&expected)) && said.contains("morningpost init"),
            "{command:?} must name {} and how to create it: {said}",
            expected.display()
        );
        assert!(!expected.exists(), "{command:?} created the database");
        assert!(!app.path("elsewhere/news.db").exists());
    }
}

#[test]
fn init_creates_the_database_and_says_where() {
    let (app, config) = app_with_config_file();
    let expected = app.path("conf/news.db");
    let out = run_in(&app, &app.path("elsewhere"), &["--config", &config, "init"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(path_str(&expected)),
        "init must say where: {}",
        text(&out)
    );
    assert!(expected.exists());
    let out = run_in(
        &app,
        &app.path("elsewhere"),
        &["--config", &config, "status"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = run_in(
        &app,
        &app.path("elsewhere"),
        &["--config", &config, "subscribers", "list"],
    );
    assert!(out.status.success(), "{}", text(&out));
}

/// The same for every path setting: a config file that says `secret_key_file = "mp.key"` and
/// `outbox_dir = "out"` means the files beside it, whichever folder a command runs from. Before,
/// a cron job in another folder made a second key (other unsubscribe links) and a second outbox.
#[test]
fn the_key_file_and_the_outbox_in_a_config_file_are_beside_it() {
    let (mut app, config) = app_with_config_file();
    app.env.remove("MORNINGPOST_SECRET_KEY");
    app.env.remove("MORNINGPOST_OUTBOX_DIR");
    std::fs::write(
        app.path("conf/morningpost.toml"),
        "database_url = \"sqlite://news.db\"\nsecret_key_file = \"mp.key\"\noutbox_dir = \"out\"\n",
    )
    .unwrap();
    let issue = app.sample_issue();
    let root = app.dir.path().to_owned();
    let elsewhere = app.path("elsewhere");
    // The subscriber's token is made from the key here, the mail's link from elsewhere.
    let out = run_in(
        &app,
        &root,
        &["--config", &config, "subscribers", "add", "ada@example.com"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(app.path("conf/mp.key").exists());
    let out = run_in(
        &app,
        &elsewhere,
        &["--config", &config, "send", &issue, "--wait"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = run_in(
        &app,
        &elsewhere,
        &[
            "--config",
            &config,
            "send",
            &issue,
            "--test",
            "ed@example.org",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let outbox: Vec<_> = std::fs::read_dir(app.path("conf/out"))
        .expect("the outbox beside the config file")
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(outbox.len(), 2, "the copy and the test copy: {outbox:?}");
    for stray in [
        "mp.key",
        "out",
        "elsewhere/mp.key",
        "elsewhere/out",
        "morningpost.key",
    ] {
        assert!(!app.path(stray).exists(), "{stray} was created");
    }
    // The link in the mail works: the key that made it is the one the subscriber was added with.
    let mail = outbox
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .find(|m| m.contains("To: <ada@example.com>"))
        .expect("ada's copy");
    let token = mail
        .split("/unsubscribe/")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .expect("a List-Unsubscribe link")
        .to_owned();
    let mbox = app.path("unsubscribe.mbox");
    std::fs::write(
        &mbox,
        format!(
            "From ada@example.com Fri Nov 27 07:00:00 2026\nFrom: ada@example.com\nSubject: unsubscribe {token}\n\n\n"
        ),
    )
    .unwrap();
    let out = run_in(
        &app,
        &elsewhere,
        &[
            "--config",
            &config,
            "unsubscribe-mail",
            "--mbox",
            path_str(&mbox),
        ],
    );
    assert!(
        text(&out).contains("1 messages read: 1 unsubscribed"),
        "{}",
        text(&out)
    );
}
