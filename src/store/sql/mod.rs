//! The queries both backends run, written once.
//!
//! This folder is not a module of `store` on its own: each backend includes it
//! (`#[path = "../sql/mod.rs"] mod sql;`) and so compiles it against its own types. The
//! backend provides, as `super::…`:
//! - `Db` and `Conn`: its sqlx database and connection types;
//! - `Handle`: its store type, with `reader()` (a pool for reads), `writer()` (a pool for
//!   single-statement writes), `begin_write()` (a write transaction), and the hooks
//!   `lock_signups`, `lock_subscriber`, `prepare_enqueue` and `insert_issue_deliveries`
//!   (the enqueue's insert, which counts its rows itself);
//! - `dialect`: the few statements whose text differs (JSON row sources, row locks, the
//!   enqueue anti-join).

/// The state of a row going back to the queue (a retry, a row handed back, a revived one):
/// its send's hold wins, so nothing of a paused or cancelled send becomes claimable again.
/// A macro, to be spliced into statements with `concat!`.
macro_rules! requeue_state {
    () => {
        "CASE (SELECT hold FROM messages m WHERE m.id = deliveries.message_id) \
         WHEN 'paused' THEN 'paused' WHEN 'cancelled' THEN 'cancelled' ELSE 'queued' END"
    };
}

/// Deliveries as (message_id, state, retrying, n) rows, for `rules::tally` (decision 41): the
/// counts the triggers keep, where `queued` holds the rows in flight too (so that a claim
/// changes no count), then the rows in flight counted from the (message_id, state, …) index,
/// a few, in the same statement so that the two agree. Of the message `$1` (`one`) or of
/// every message (`all`, one index range per message).
macro_rules! kept_counts {
    (one) => {
        kept_counts!(@ "message_id = $1")
    };
    (all) => {
        kept_counts!(@ "message_id IN (SELECT id FROM messages)")
    };
    (@ $of:literal) => {
        concat!(
            "SELECT message_id, state, retrying, CAST(sum(n) AS BIGINT) AS n FROM delivery_counts
             WHERE ", $of, " GROUP BY 1, 2, 3
             UNION ALL
             SELECT message_id, 'sending', failures > 0, count(*) FROM deliveries
             WHERE ", $of, " AND state = 'sending' GROUP BY 1, 3"
        )
    };
}

mod bounces;
mod confirmations;
mod inbox;
mod installation;
mod messages;
mod queue;
mod rows;
mod sends;
mod signups;
mod subject_access;
mod subscriber_data;
mod subscribers;
mod suppressions;

use super::{Conn, Db, Handle, dialect};

pub(super) use queue::record_fenced;
pub(super) use rows::claimed_from_row;
