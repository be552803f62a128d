//! One scrape: the database's gauges, then everything in Prometheus's text format.
//!
//! The gauges read from the database (the queue's depth, the paused sends) cost ~100 ms at
//! a million queued rows, which no scrape should wait for and no scrape rate should
//! multiply: they are read in the background at most every [`DATABASE_EVERY`], and a scrape
//! shows the last reading with its age (`morningpost_database_reading_age_seconds`). Only a
//! process's first scrape waits for a reading.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::record;
use crate::store::{QueueDepth, Store};

/// The text exposition format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How old the database's gauges may be before a scrape asks for a new reading.
pub const DATABASE_EVERY: Duration = Duration::from_secs(10);

/// The last reading and when it was taken.
static READING: Mutex<Option<Instant>> = Mutex::new(None);
static READING_NOW: AtomicBool = AtomicBool::new(false);

/// The page `GET /metrics` answers. A database that cannot be read makes
/// `morningpost_database_up 0` (and keeps the last depths), not a failed scrape: the
/// process's own counters are worth having most when the database is in trouble.
pub async fn render(store: &Store) -> String {
    let Some(handle) = super::install() else {
        return String::from("# the metrics recorder is not installed in this process\n");
    };
    let taken = *READING.lock().unwrap_or_else(|p| p.into_inner());
    match taken {
        None => read_database(store.clone()).await,
        Some(at) if at.elapsed() >= DATABASE_EVERY => {
            if !READING_NOW.swap(true, Ordering::AcqRel) {
                tokio::spawn(read_database(store.clone()));
            }
        }
        Some(_) => {}
    }
    if let Some(at) = *READING.lock().unwrap_or_else(|p| p.into_inner()) {
        record::database_reading_age(at.elapsed());
    }
    // Histograms keep raw samples until upkeep folds them in; a scrape is a good moment.
    handle.run_upkeep();
    handle.render()
}

/// Reads the database's gauges once and records them.
async fn read_database(store: Store) {
    READING_NOW.store(true, Ordering::Release);
    match store.queue_depth(crate::clock::now_ms()).await {
        Ok(QueueDepth {
            due,
            later,
            paused_sends,
        }) => {
            record::queue_depth("due", due);
            record::queue_depth("later", later);
            record::paused_sends(paused_sends);
            record::database_up(true);
        }
        Err(e) => {
            tracing::warn!(error = %crate::report::Chain(&e), "metrics: cannot read the queue's depth");
            record::database_up(false);
        }
    }
    *READING.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    READING_NOW.store(false, Ordering::Release);
}
