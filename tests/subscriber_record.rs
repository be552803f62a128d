//! `subscribers show` answers "what do you hold about me?" from every table; `subscribers
//! remove` unsubscribes and cancels what is queued (both backends).

mod support;

use support::app::App;

#[test]
fn show_prints_the_status_its_dates_and_every_delivery() {
    let app = App::new();
    app.ok(&[
        "subscribers",
        "add",
        "ada@example.com",
        "--name",
        "Ada Lovelace",
    ]);
    app.ok(&["send", &app.sample_issue(), "--wait"]);
    let out = app.ok(&["subscribers", "show", "ADA@example.com"]);
    assert!(out.starts_with("subscriber ada@example.com\n"), "{out}");
    assert!(out.contains("  name          Ada Lovelace"), "{out}");
    assert!(out.contains("  status        active"), "{out}");
    assert!(out.contains("deliveries: 1"), "{out}");
    assert!(out.contains("issue 2026-11-27"), "{out}");
    assert!(out.contains(" sent "), "{out}");
    assert!(out.contains("bounces and complaints: 0"), "{out}");
    let (ok, _, err) = app.run(&["subscribers", "show", "nobody@example.com"]);
    assert!(
        !ok && err.contains("no subscriber has the address nobody@example.com"),
        "{err}"
    );
    let (ok, _, err) = app.run(&["subscribers", "show", "not an address"]);
    assert!(!ok && err.contains("is not an address"), "{err}");
}

#[test]
fn remove_unsubscribes_and_cancels_what_is_queued() {
    let app = App::new();
    app.ok(&["subscribers", "add", "bob@example.com"]);
    app.ok(&["send", &app.sample_issue()]);
    let out = app.ok(&["subscribers", "remove", "bob@example.com"]);
    assert!(out.contains("bob@example.com is unsubscribed"), "{out}");
    let show = app.ok(&["subscribers", "show", "bob@example.com"]);
    assert!(show.contains("  status        unsubscribed"), "{show}");
    assert!(
        show.contains("cancelled"),
        "the queued issue is cancelled: {show}"
    );
    let again = app.ok(&["subscribers", "remove", "bob@example.com"]);
    assert!(
        again.contains("is unsubscribed already; nothing changed"),
        "{again}"
    );
    let (ok, _, err) = app.run(&["subscribers", "remove", "nobody@example.com"]);
    assert!(
        !ok && err.contains("no subscriber has the address"),
        "{err}"
    );
}
