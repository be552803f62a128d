//! Prometheus metrics (docs/metrics.md): what this process did, counted as it happens
//! (`record`), and the queue's depth read from the database at each scrape (`scrape`).
//! `serve` answers `GET /metrics` on its own port; `worker --metrics-bind ADDR` on another.
//!
//! The recorder is process-wide: installed once, on first use, so a process that never
//! serves metrics (a CLI command) pays one `OnceLock` check per event.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

mod domains;
pub mod record;
mod scrape;

pub use domains::{DomainLabels, TOP_DOMAINS};
pub use scrape::{CONTENT_TYPE, Scraper};

/// Upper bounds of the latency histograms, in seconds: a local relay answers in a
/// millisecond, a distant one in a few hundred, a stalled one at the SMTP timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Whether this process records metrics (it serves them): the worker skips the work of
/// labelling each delivery otherwise (`send --wait`, the demo).
pub fn installed() -> bool {
    HANDLE.get().is_some_and(Option::is_some)
}

/// Installs the recorder (once per process) and returns its handle; `None` when another
/// recorder was installed first (then nothing is recorded here, and the scrape says so).
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match built {
                Ok(handle) => {
                    record::build_info();
                    Some(handle)
                }
                Err(e) => {
                    tracing::error!(error = %e, "the metrics recorder cannot be installed; /metrics stays empty");
                    None
                }
            }
        })
        .as_ref()
}
