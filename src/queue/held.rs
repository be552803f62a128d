//! The sends a worker must not send from now: paused or cancelled ones. The claimer refreshes
//! the set from the database every [`REFRESH`] (a pause from any host stops every worker
//! within a second); a slot hands a claimed row of a held send back unsent, and the store
//! files it under the hold.

use std::collections::HashSet;
use std::sync::RwLock;
use std::time::Duration;

use uuid::Uuid;

/// How often the claimer reads the holds and starts scheduled sends.
pub const REFRESH: Duration = Duration::from_millis(500);

#[derive(Default)]
pub(super) struct HeldSends(RwLock<HashSet<Uuid>>);

impl HeldSends {
    pub fn contains(&self, message_id: Uuid) -> bool {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&message_id)
    }

    pub fn replace(&self, held: impl IntoIterator<Item = Uuid>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = held.into_iter().collect();
    }

    /// A hold this worker placed itself, known before the next refresh.
    pub fn insert(&self, message_id: Uuid) {
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(message_id);
    }
}
