//! `morningpost doctor` against real parts: the database of the backend under test, a
//! relay (smtp-sink), keys made by openssl, folders the process cannot write. Each failure
//! prints its fix and makes the exit status 1.

mod support;

use std::process::Command;

use support::app::{App, path_str};
use support::sink::{SmtpSink, free_port};

/// (exit code, standard output, standard error) of `morningpost doctor`.
fn doctor(app: &App) -> (i32, String, String) {
    let out = app.command(&["doctor"]).output().expect("run morningpost");
    (
        out.status.code().expect("an exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The mark (✓ ! ✗ -) of the check named `name`, and its fix when it has one.
fn check<'a>(out: &'a str, name: &str) -> (char, &'a str, Option<&'a str>) {
    let mut lines = out.lines();
    while let Some(line) = lines.next() {
        let mut chars = line.chars();
        let Some(mark) = chars.next() else { continue };
        let rest = chars.as_str().trim_start();
        if let Some(detail) = rest.strip_prefix(name)
            && detail.starts_with("  ")
        {
            let fix = lines
                .clone()
                .next()
                .and_then(|l| l.trim_start().strip_prefix("fix: "));
            return (mark, detail.trim(), fix);
        }
    }
    panic!("no check named {name:?} in:\n{out}")
}

fn assert_passes(out: &str, name: &str) {
    let (mark, detail, _) = check(out, name);
    assert_eq!(mark, '✓', "{name}: {detail}\n{out}");
}

/// The check failed and its fix says `fix`.
fn assert_fails_with(out: &str, name: &str, fix: &str) {
    let (mark, detail, given) = check(out, name);
    assert_eq!(mark, '✗', "{name}: {detail}\n{out}");
    let given = given.unwrap_or_else(|| panic!("{name} has no fix:\n{out}"));
    assert!(given.contains(fix), "{name}'s fix: {given}\n{out}");
}

/// An initialised installation sending through smtp-sink with a DKIM key.
fn healthy(app: &mut App) -> SmtpSink {
    let sink = SmtpSink::start(&app.path("sink"), &[]);
    app.set("MORNINGPOST_SMTP_URL", &sink.url());
    let (key, _) = support::dkim::dkim_key(app, "ed25519");
    app.set("MORNINGPOST_DKIM_KEY_FILE", &key)
        .set("MORNINGPOST_DKIM_SELECTOR", "s1");
    app.ok(&["init"]);
    sink
}

#[test]
fn a_healthy_installation_passes_every_check_and_sends_nothing() {
    let mut app = App::new();
    let sink = healthy(&mut app);
    let (code, out, err) = doctor(&app);
    assert_eq!(code, 0, "{out}\n{err}");
    for name in [
        "database",
        "migrations",
        "database writes",
        "secret key",
        "key fingerprint",
        "DKIM key",
    ] {
        assert_passes(&out, name);
    }
    let relay = format!("relay 127.0.0.1:{}", sink.port);
    assert_passes(&out, &relay);
    assert!(check(&out, &relay).1.contains("EHLO answered"), "{out}");
    let (mark, detail, _) = check(&out, "free space");
    if support::db::postgres() {
        assert_eq!(mark, '-', "not visible from a client: {detail}");
    } else {
        assert!(matches!(mark, '✓' | '!'), "{detail}");
    }
    assert!(!out.contains('✗'), "{out}");
    assert!(
        out.lines()
            .last()
            .is_some_and(|l| l.ends_with("ready to send")),
        "{out}"
    );
    assert_eq!(sink.count(), 0, "a check sends no mail");
}

#[test]
fn an_unreachable_relay_fails_with_its_fix() {
    let mut app = App::new();
    let _sink = healthy(&mut app);
    let port = free_port();
    app.set(
        "MORNINGPOST_SMTP_URL",
        &format!("smtp://127.0.0.1:{port}?tls=none"),
    );
    let (code, out, err) = doctor(&app);
    assert_eq!(code, 1, "{out}\n{err}");
    let name = format!("relay 127.0.0.1:{port}");
    assert_fails_with(&out, &name, "check that the relay runs");
    assert!(check(&out, &name).1.contains("cannot connect"), "{out}");
    assert_passes(&out, "key fingerprint");
}

#[test]
fn another_secret_key_than_the_recorded_one_fails_and_init_does_not_replace_it() {
    let mut app = App::new();
    let _sink = healthy(&mut app);
    let (code, out, _) = doctor(&app);
    assert_eq!(code, 0, "{out}");
    app.set("MORNINGPOST_SECRET_KEY", &"ab".repeat(32));
    let (code, out, err) = doctor(&app);
    assert_eq!(code, 1, "{out}\n{err}");
    assert_passes(&out, "secret key");
    assert_fails_with(&out, "key fingerprint", "restore the old key");
    assert!(
        check(&out, "key fingerprint")
            .1
            .contains("differs from the one this database was used with"),
        "{out}"
    );
    // A command run with the wrong key says so, and records nothing over the old one.
    let (ok, _, err) = app.run(&["init"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("differs from the one this database was used with"),
        "{err}"
    );
    let (code, out, _) = doctor(&app);
    assert_eq!(code, 1, "{out}");
    assert_fails_with(&out, "key fingerprint", "restore the old key");
}

#[test]
fn an_uninitialised_database_fails_with_init_as_its_fix_and_stays_as_it_was() {
    let app = App::new();
    for _ in 0..2 {
        let (code, out, err) = doctor(&app);
        assert_eq!(code, 1, "{out}\n{err}");
        if support::db::postgres() {
            assert_passes(&out, "database");
            assert_fails_with(&out, "migrations", "run `morningpost init`");
        } else {
            assert_fails_with(&out, "database", "create it with `morningpost init`");
            assert!(!app.path("test.db").exists(), "doctor creates no database");
        }
    }
    app.ok(&["init"]);
    let (code, out, _) = doctor(&app);
    assert_eq!(code, 0, "{out}");
    assert_passes(&out, "migrations");
    assert_passes(&out, "key fingerprint");
    assert_passes(&out, "outbox folder");
}

#[test]
fn an_unreadable_or_broken_dkim_key_fails_with_its_fix() {
    let mut app = App::new();
    let _sink = healthy(&mut app);
    // A folder where the file should be: read(2) fails, for root too.
    let folder = app.path("dkim-folder.pem");
    std::fs::create_dir(&folder).unwrap();
    let broken = app.path("dkim-broken.pem");
    std::fs::write(&broken, "-----BEGIN PRIVATE KEY-----\nAAAA\n").unwrap();
    for (file, fix) in [
        (&folder, "readable by the user morningpost runs as"),
        (
            &broken,
            "put the PEM private key whose public half is in DNS",
        ),
    ] {
        app.set("MORNINGPOST_DKIM_KEY_FILE", path_str(file));
        let (code, out, err) = doctor(&app);
        assert_eq!(code, 1, "{out}\n{err}");
        assert_fails_with(&out, "DKIM key", fix);
        assert!(check(&out, "DKIM key").1.contains(path_str(file)), "{out}");
    }
}

/// A folder no write reaches: a read-only tmpfs as root (permissions do not stop root),
/// else mode 0500. Unmounted on drop.
struct ReadOnlyFolder(std::path::PathBuf, bool);

impl ReadOnlyFolder {
    fn new(dir: std::path::PathBuf) -> Self {
        std::fs::create_dir_all(&dir).unwrap();
        let root = rustix::process::geteuid().is_root();
        if root {
            let ok = Command::new("mount")
                .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
                .arg(&dir)
                .status()
                .expect("mount runs")
                .success();
            assert!(ok, "mount a read-only tmpfs at {}", dir.display());
        } else {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500)).unwrap();
        }
        Self(dir, root)
    }
}

impl Drop for ReadOnlyFolder {
    fn drop(&mut self) {
        if self.1 {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        } else {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o700));
        }
    }
}

#[test]
fn an_unwritable_outbox_folder_fails_with_its_fix() {
    let mut app = App::new();
    app.ok(&["init"]);
    let read_only = ReadOnlyFolder::new(app.path("outbox-ro"));
    // Under a file: the folder cannot even be made.
    let file = app.path("a-file");
    std::fs::write(&file, "").unwrap();
    for dir in [read_only.0.clone(), file.join("outbox")] {
        app.set("MORNINGPOST_OUTBOX_DIR", path_str(&dir));
        let (code, out, err) = doctor(&app);
        assert_eq!(code, 1, "{out}\n{err}");
        assert_fails_with(
            &out,
            "outbox folder",
            "writable by the user morningpost runs as",
        );
        assert!(
            check(&out, "outbox folder").1.contains(path_str(&dir)),
            "{out}"
        );
    }
    assert_eq!(
        std::fs::read_dir(&read_only.0).unwrap().count(),
        0,
        "no probe file is left"
    );
}
