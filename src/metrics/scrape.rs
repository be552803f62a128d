//! One scrape: the queue's depth from the database, then everything in Prometheus's text
//! format.

use crate::store::Store;

/// The text exposition format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The page `GET /metrics` answers. A database that cannot be read makes
/// `morningpost_database_up 0` (and keeps the last depths), not a failed scrape: the process's
/// own counters are worth having most when the database is in trouble.
pub async fn render(store: &Store) -> String {
    let Some(handle) = super::install() else {
        return String::from("# the metrics recorder is not installed in this process\n");
    };
    match store.queue_depth(crate::clock::now_ms()).await {
        Ok(depth) => {
            super::record::queue_depth("due", depth.due);
            super::record::queue_depth("later", depth.later);
            super::record::database_up(true);
        }
        Err(e) => {
            tracing::warn!(error = %crate::report::Chain(&e), "metrics: cannot read the queue's depth");
            super::record::database_up(false);
        }
    }
    // Histograms keep raw samples until upkeep folds them in; a scrape is a good moment.
    handle.run_upkeep();
    handle.render()
}
