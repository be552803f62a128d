//! One scrape: the database's gauges, then everything in Prometheus's text format.
//!
//! The gauges read from the database (the queue's depth, the paused sends) cost ~100 ms at
//! a million queued rows, which no scrape should wait for and no scrape rate should
//! multiply: a [`Scraper`] reads them in the background at most every [`DATABASE_EVERY`],
//! and a scrape shows the last reading with its age
//! (`morningpost_database_reading_age_seconds`). Only its first scrape waits for a reading.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::record;
use crate::store::{QueueDepth, Store};

/// The text exposition format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How old the database's gauges may be before a scrape asks for a new reading.
pub const DATABASE_EVERY: Duration = Duration::from_secs(10);

/// Renders the metrics page for one database; cheap to clone (shared state).
#[derive(Clone)]
pub struct Scraper {
    inner: std::sync::Arc<Inner>,
}

struct Inner {
    store: Store,
    /// When the last reading was taken.
    taken: Mutex<Option<Instant>>,
    /// Whether a reading is under way (one at a time).
    reading: AtomicBool,
}

impl Scraper {
    /// Installs the process's recorder, so that counting starts now.
    pub fn new(store: Store) -> Self {
        super::install();
        Self {
            inner: std::sync::Arc::new(Inner {
                store,
                taken: Mutex::new(None),
                reading: AtomicBool::new(false),
            }),
        }
    }

    fn taken(&self) -> Option<Instant> {
        *self.inner.taken.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The page `GET /metrics` answers. A database that cannot be read makes
    /// `morningpost_database_up 0` (and keeps the last values), not a failed scrape: the
    /// process's own counters are worth having most when the database is in trouble.
    pub async fn render(&self) -> String {
        let Some(handle) = super::install() else {
            return String::from("# the metrics recorder is not installed in this process\n");
        };
        match self.taken() {
            None => {
                self.inner.reading.store(true, Ordering::Release);
                self.clone().read_database().await;
            }
            Some(at) if at.elapsed() >= DATABASE_EVERY => {
                if !self.inner.reading.swap(true, Ordering::AcqRel) {
                    tokio::spawn(self.clone().read_database());
                }
            }
            Some(_) => {}
        }
        if let Some(at) = self.taken() {
            record::database_reading_age(at.elapsed());
        }
        // Histograms keep raw samples until upkeep folds them in; a scrape is a good moment.
        handle.run_upkeep();
        handle.render()
    }

    /// Reads the database's gauges once and records them (the caller set `reading`).
    async fn read_database(self) {
        match self.inner.store.queue_depth(crate::clock::now_ms()).await {
            Ok(QueueDepth {
                due,
                later,
                paused_sends,
            }) => {
                record::queue_depth("due", due);
                record::queue_depth("later", later);
                record::paused_sends(paused_sends);
                record::database_up(true);
                match self
                    .inner
                    .store
                    .confirmation_backlog(crate::clock::now_ms())
                    .await
                {
                    Ok(b) => record::confirmation_backlog(
                        b.waiting,
                        b.held,
                        b.per_hour,
                        b.exhausted_since,
                    ),
                    Err(e) => {
                        tracing::warn!(error = %crate::report::Chain(&e), "metrics: cannot read the sign-up backlog");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %crate::report::Chain(&e), "metrics: cannot read the queue's depth");
                record::database_up(false);
            }
        }
        *self.inner.taken.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        self.inner.reading.store(false, Ordering::Release);
    }
}
