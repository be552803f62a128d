//! Sign-ups share transactions: each request hands its sign-up to a group commit
//! ([`crate::group_commit`]), which stores all that have arrived meanwhile in one
//! transaction and answers each.

use crate::group_commit::{GroupCommit, GroupCommitError};
use crate::store::{Store, StoreError, SubscribeOutcome, SubscribeRequest};

/// A claim of the worker waits behind at most the batch in progress (store/sqlite/turns.rs).
const MAX_BATCH: usize = 64;

pub type SignupError = GroupCommitError<StoreError>;

#[derive(Clone)]
pub struct SignupQueue(GroupCommit<SubscribeRequest, SubscribeOutcome, StoreError>);

impl SignupQueue {
    pub fn spawn(store: Store) -> Self {
        let (group, _task) =
            GroupCommit::spawn(MAX_BATCH, move |requests: Vec<SubscribeRequest>| {
                let store = store.clone();
                async move { store.subscribe_batch(&requests).await }
            });
        Self(group)
    }

    pub async fn subscribe(
        &self,
        request: SubscribeRequest,
    ) -> Result<SubscribeOutcome, SignupError> {
        self.0.submit(request).await
    }
}
