//! The queries both backends run, written once.
//!
//! This folder is not a module of `store` on its own: each backend includes it
//! (`#[path = "../sql/mod.rs"] mod sql;`) and so compiles it against its own types. The
//! backend provides, as `super::…`:
//! - `Db` and `Conn`: its sqlx database and connection types;
//! - `Handle`: its store type, with `reader()` (a pool for reads), `writer()` (a pool for
//!   single-statement writes), `begin_write()` (a write transaction), and the hooks
//!   `lock_signups`, `lock_subscriber` and `prepare_enqueue`;
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
