//! How a worker shares its claims between the two classes of mail (docs/architecture.md
//! decision 36). A reader waiting for a confirmation should get it in seconds, so a trickle
//! of confirmations goes first; but under a flood of sign-ups no class may hold every slot:
//! while issue mail is due, confirmations take at most half of each claim, and whatever a
//! class leaves unused the other may take. Confirmations are also held to an hourly budget
//! (`confirmation_mail_per_hour`): beyond it they wait, oldest first.

use std::time::{Duration, Instant};

use crate::clock::millis;
use crate::config::ConfirmationMailBudget;
use crate::store::{Claimed, QueueClass, Store, StoreError};

/// How often the budget's count is read from the database again; in between, a worker
/// counts its own claims. Several workers may together pass the budget by what they claim
/// in this time.
const LOOK_EVERY: Duration = Duration::from_secs(5);
/// How often the list is counted again for an `auto` budget.
const COUNT_LIST_EVERY: Duration = Duration::from_secs(600);
const HOUR: Duration = Duration::from_secs(3600);
/// After a claim found no confirmation due, how long the next claims skip asking (a claim of
/// a class with nothing due is a transaction for nothing): a confirmation queued meanwhile
/// waits at most this much longer.
const NONE_DUE_PAUSE: Duration = Duration::from_millis(200);

/// A worker's share of its claims, and its view of the confirmation budget.
pub struct ClaimShare {
    setting: ConfirmationMailBudget,
    /// The budget in force (for `auto`, from the list as last counted).
    per_hour: u64,
    list_counted: Option<Instant>,
    /// Confirmations sent in the last hour at the last look, plus those claimed since.
    used: u64,
    looked: Option<Instant>,
    /// Which class takes the odd row of a claim of an odd size, in turn.
    odd_to_confirmations: bool,
    /// Whether the budget was used up at the last look: the change is logged, once.
    exhausted: bool,
    /// When confirmations are worth asking for again (see [`NONE_DUE_PAUSE`]).
    confirmations_from: Option<Instant>,
}

impl ClaimShare {
    pub fn new(setting: ConfirmationMailBudget) -> Self {
        Self {
            setting,
            per_hour: setting.per_hour(0),
            list_counted: None,
            used: 0,
            looked: None,
            odd_to_confirmations: true,
            exhausted: false,
            confirmations_from: None,
        }
    }

    /// Claims up to `total` rows under a lease, shared between the classes.
    pub async fn claim(
        &mut self,
        store: &Store,
        total: usize,
        lease_until: i64,
        now: i64,
    ) -> Result<Vec<Claimed>, StoreError> {
        let budget = self.budget_left(store, now).await?;
        let resting = self.confirmations_from.is_some_and(|t| Instant::now() < t);
        let first = if resting {
            0
        } else {
            self.confirmation_share(total).min(budget)
        };
        let mut claimed = if first > 0 {
            store
                .claim_class(QueueClass::Confirmations, first, lease_until, now)
                .await?
        } else {
            Vec::new()
        };
        if first > 0 && claimed.is_empty() {
            self.confirmations_from = Some(Instant::now() + NONE_DUE_PAUSE);
        }
        let issues = store
            .claim_class(QueueClass::Issues, total - claimed.len(), lease_until, now)
            .await?;
        // Room the issue mail left: confirmations may have it, within the budget.
        let spare = (total - claimed.len() - issues.len()).min(budget - claimed.len());
        if !resting && claimed.len() == first && spare > 0 {
            let more = store
                .claim_class(QueueClass::Confirmations, spare, lease_until, now)
                .await?;
            claimed.extend(more);
        }
        self.used += claimed.len() as u64;
        claimed.extend(issues);
        Ok(claimed)
    }

    /// Half of a claim, the odd row going to each class in turn.
    fn confirmation_share(&mut self, total: usize) -> usize {
        let mut share = total / 2;
        if total % 2 == 1 {
            share += usize::from(self.odd_to_confirmations);
            self.odd_to_confirmations = !self.odd_to_confirmations;
        }
        share
    }

    /// Confirmations that may still be claimed this hour; looks at the database every
    /// [`LOOK_EVERY`] and notes what it saw for `status` and the metrics.
    async fn budget_left(&mut self, store: &Store, now: i64) -> Result<usize, StoreError> {
        let stale = |at: Option<Instant>, every| at.is_none_or(|t: Instant| t.elapsed() >= every);
        if self.setting == ConfirmationMailBudget::Auto
            && stale(self.list_counted, COUNT_LIST_EVERY)
        {
            self.per_hour = self.setting.per_hour(store.count_active().await?);
            self.list_counted = Some(Instant::now());
        }
        if stale(self.looked, LOOK_EVERY) {
            let sent = store.confirmations_sent_since(now - millis(HOUR)).await?;
            self.used = u64::try_from(sent).unwrap_or(0);
            self.looked = Some(Instant::now());
            let exhausted = self.used >= self.per_hour && store.confirmation_waiting(now).await?;
            if exhausted && !self.exhausted {
                tracing::warn!(
                    per_hour = self.per_hour,
                    "the confirmation mail budget is used up: sign-ups are answered, their mail waits (oldest first); see `morningpost signups backlog`"
                );
            } else if self.exhausted && !exhausted {
                tracing::info!("the confirmation mail budget has room again");
            }
            self.exhausted = exhausted;
            let per_hour = i64::try_from(self.per_hour).unwrap_or(i64::MAX);
            store
                .note_confirmation_budget(per_hour, exhausted, now)
                .await?;
        }
        Ok(usize::try_from(self.per_hour.saturating_sub(self.used)).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_halved_and_the_odd_row_alternates() {
        let mut share = ClaimShare::new(ConfirmationMailBudget::PerHour(10));
        assert_eq!(share.confirmation_share(8), 4);
        assert_eq!(share.confirmation_share(1), 1);
        assert_eq!(
            share.confirmation_share(1),
            0,
            "a claim of one row alternates"
        );
        assert_eq!(share.confirmation_share(3), 2);
        assert_eq!(share.confirmation_share(3), 1);
    }

    #[test]
    fn the_auto_budget_scales_with_the_list_above_its_floor() {
        assert_eq!(ConfirmationMailBudget::Auto.per_hour(0), 200);
        assert_eq!(ConfirmationMailBudget::Auto.per_hour(20_000), 400);
        assert_eq!(ConfirmationMailBudget::Auto.per_hour(1_000_000), 20_000);
        assert_eq!(ConfirmationMailBudget::PerHour(50).per_hour(1_000_000), 50);
    }
}
