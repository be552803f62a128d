//! The files that describe the metrics to operators, against the code that defines them:
//! promtool checks and unit-tests the alert rules (deploy/prometheus), the Grafana dashboard
//! (deploy/grafana) parses and queries something, and every metric name that the dashboard,
//! the rules and docs/metrics.md mention is one that src/metrics/record.rs defines, so that a
//! renamed metric breaks this test; every defined metric is documented.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const PROMTOOL: &str = "/usr/bin/promtool";
const ALERTS: &str = "deploy/prometheus/alerts.yml";
const ALERTS_TEST: &str = "deploy/prometheus/alerts_test.yml";
const DASHBOARD: &str = "deploy/grafana/morningpost.json";
const DOCS: &str = "docs/metrics.md";
const RECORD: &str = "src/metrics/record.rs";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Runs promtool in the repository's root and fails with its output when it fails.
fn promtool(args: &[&str]) {
    assert!(
        Path::new(PROMTOOL).exists(),
        "{PROMTOOL} is missing: run scripts/ensure-tools as root (it installs Debian's \
         prometheus package, which ships promtool, without starting its service)"
    );
    let output = Command::new(PROMTOOL)
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PROMTOOL}: {e}"));
    assert!(
        output.status.success(),
        "promtool {} failed ({}):\n{}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn promtool_accepts_the_alert_rules() {
    promtool(&["check", "rules", ALERTS]);
}

#[test]
fn the_alert_rules_pass_their_unit_tests() {
    promtool(&["test", "rules", ALERTS_TEST]);
}

fn dashboard() -> serde_json::Value {
    serde_json::from_str(&read(DASHBOARD)).expect("the dashboard is not valid JSON")
}

/// The dashboard's panels that are not rows, with those inside collapsed rows.
fn graph_panels(dashboard: &serde_json::Value) -> Vec<&serde_json::Value> {
    let top = dashboard["panels"]
        .as_array()
        .expect("the dashboard has no `panels` list");
    let mut panels = Vec::new();
    for panel in top {
        if panel["type"] == "row" {
            panels.extend(panel["panels"].as_array().into_iter().flatten());
        } else {
            panels.push(panel);
        }
    }
    panels
}

#[test]
fn the_dashboard_has_panels_that_query_prometheus() {
    let dashboard = dashboard();
    assert_eq!(dashboard["schemaVersion"], 39, "schemaVersion");
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("the dashboard has no template variables");
    assert!(
        variables.iter().any(|v| v["name"] == "datasource"
            && v["type"] == "datasource"
            && v["query"] == "prometheus"),
        "the dashboard has no `datasource` variable of Prometheus data sources"
    );
    let panels = graph_panels(&dashboard);
    assert!(panels.len() >= 10, "only {} panels", panels.len());
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or("(no title)");
        let targets = panel["targets"]
            .as_array()
            .unwrap_or_else(|| panic!("panel {title:?} has no targets"));
        assert!(!targets.is_empty(), "panel {title:?} has no queries");
        for target in targets {
            let expr = target["expr"].as_str().unwrap_or_default();
            assert!(
                expr.contains("morningpost_"),
                "panel {title:?} has a query without a morningpost metric: {expr:?}"
            );
        }
    }
}

/// The names `src/metrics/record.rs` defines: `pub const NAME: &str = "morningpost_…";`.
fn defined_metrics() -> BTreeSet<String> {
    let names: BTreeSet<String> = read(RECORD)
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("pub const ")?;
            let (_, value) = rest.split_once(": &str = \"")?;
            let name = value.strip_suffix("\";")?;
            name.starts_with("morningpost_").then(|| name.to_owned())
        })
        .collect();
    assert!(
        names.len() >= 10,
        "{RECORD} defines only these metric names (is the `pub const` pattern still right?): \
         {names:?}"
    );
    names
}

fn is_identifier(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every identifier of `text` that starts with `morningpost_` (not the tail of a longer one).
fn mentioned_metrics(text: &str) -> BTreeSet<String> {
    text.match_indices("morningpost_")
        .filter(|&(at, _)| !text[..at].chars().next_back().is_some_and(is_identifier))
        .map(|(at, _)| {
            let tail = &text[at..];
            let end = tail.find(|c: char| !is_identifier(c)).unwrap_or(tail.len());
            tail[..end].to_owned()
        })
        .collect()
}

/// A defined metric, or one series of a defined histogram (the `_seconds` metrics are
/// histograms: `_bucket`, `_sum` and `_count`).
fn is_defined(name: &str, defined: &BTreeSet<String>) -> bool {
    defined.contains(name)
        || ["_bucket", "_sum", "_count"].into_iter().any(|suffix| {
            name.strip_suffix(suffix)
                .is_some_and(|base| base.ends_with("_seconds") && defined.contains(base))
        })
}

#[test]
fn the_deploy_files_name_only_defined_metrics() {
    let defined = defined_metrics();
    let mut unknown = Vec::new();
    for file in [DASHBOARD, ALERTS, DOCS] {
        let mentioned = mentioned_metrics(&read(file));
        assert!(!mentioned.is_empty(), "{file} names no metric");
        for name in mentioned {
            if !is_defined(&name, &defined) {
                unknown.push(format!("{file}: {name}"));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "metrics that {RECORD} does not define (renamed?):\n{}\ndefined there: {defined:?}",
        unknown.join("\n")
    );
}

#[test]
fn every_defined_metric_is_documented() {
    let documented = mentioned_metrics(&read(DOCS));
    let missing: Vec<String> = defined_metrics()
        .into_iter()
        .filter(|name| !documented.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "{DOCS} does not describe these metrics of {RECORD}: {missing:?}"
    );
}

#[test]
fn the_scan_finds_metric_names_and_histogram_series() {
    let text = "rate(morningpost_smtp_connect_seconds_bucket[5m]) MORNINGPOST_BIND \
                xmorningpost_not_this `morningpost_build_info{version=\"1\"}`";
    let found = mentioned_metrics(text);
    let expected: BTreeSet<String> = [
        "morningpost_smtp_connect_seconds_bucket",
        "morningpost_build_info",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(found, expected);
    let defined = defined_metrics();
    assert!(is_defined(
        "morningpost_smtp_connect_seconds_bucket",
        &defined
    ));
    assert!(is_defined(
        "morningpost_smtp_transaction_seconds_count",
        &defined
    ));
    assert!(!is_defined("morningpost_deliveries_total_count", &defined));
    assert!(!is_defined("morningpost_no_such_metric", &defined));
}
