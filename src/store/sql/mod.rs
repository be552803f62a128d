//! The queries both backends run, written once.
//!
//! This folder is not a module of `store` on its own: each backend includes it
//! (`#[path = "../sql/mod.rs"] mod sql;`) and so compiles it against its own types. The
//! backend provides, as `super::…`:
//! - `Db` and `Conn`: its sqlx database and connection types;
//! - `Handle`: its store type, with `reader()` (a pool for reads), `writer()` (a pool for
//!   single-statement writes), `begin_write()` (a write transaction), and the hooks
//!   `lock_signups` and `prepare_enqueue`;
//! - `dialect`: the few statements whose text differs (JSON row sources, row locks, the
//!   enqueue anti-join).

mod messages;
mod queue;
mod rows;
mod signups;
mod subscribers;

use super::{Conn, Db, Handle, dialect};

pub(super) use queue::record_fenced;
pub(super) use rows::claimed_from_row;
