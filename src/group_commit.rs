//! Group commit: many tasks hand their item to one committer task, which stores every item
//! that arrived meanwhile in one transaction and answers each task with its own result.
//!
//! It serves the worker's outcomes (each slot waits until its outcome is durable, so at most
//! `concurrency` messages can be sent again after a crash) and the subscribe endpoint's
//! sign-ups. On SQLite's single writer it turns one commit per item into one per burst.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

/// Why an item got no answer of its own.
#[derive(Debug, thiserror::Error)]
pub enum GroupCommitError<E: std::error::Error + 'static> {
    /// The batch it was part of failed; every item of the batch shares the error.
    #[error("storing a batch of {batch} failed")]
    Failed {
        batch: usize,
        #[source]
        source: Arc<E>,
    },
    /// The committer is gone (the process is stopping).
    #[error("the committer has stopped")]
    Stopped,
}

type Reply<R, E> = oneshot::Sender<Result<R, GroupCommitError<E>>>;

pub struct GroupCommit<T, R, E: std::error::Error + 'static> {
    tx: mpsc::Sender<(T, Reply<R, E>)>,
}

impl<T, R, E: std::error::Error + 'static> Clone for GroupCommit<T, R, E> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

impl<T, R, E> GroupCommit<T, R, E>
where
    T: Send + 'static,
    R: Send + 'static,
    E: std::error::Error + Send + Sync + 'static,
{
    /// Starts the committer. `commit` stores up to `max_batch` items and returns one result
    /// per item, in order; it runs again as soon as it returns if more items wait.
    pub fn spawn<F, Fut>(max_batch: usize, mut commit: F) -> (Self, tokio::task::JoinHandle<()>)
    where
        F: FnMut(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<R>, E>> + Send,
    {
        let max_batch = max_batch.max(1);
        let (tx, mut rx) = mpsc::channel::<(T, Reply<R, E>)>(max_batch * 2);
        let handle = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(max_batch);
            while rx.recv_many(&mut batch, max_batch).await > 0 {
                let (items, replies): (Vec<T>, Vec<Reply<R, E>>) = batch.drain(..).unzip();
                let batch = replies.len();
                match commit(items).await {
                    Ok(results) if results.len() == batch => {
                        for (reply, result) in replies.into_iter().zip(results) {
                            let _ = reply.send(Ok(result));
                        }
                    }
                    // A commit that answered the wrong number of items is a bug in it: the
                    // items get no answer (`Stopped`) rather than someone else's.
                    Ok(results) => {
                        tracing::error!(
                            items = batch,
                            answers = results.len(),
                            "a group commit answered the wrong number of items"
                        );
                    }
                    Err(e) => {
                        let source = Arc::new(e);
                        for reply in replies {
                            let _ = reply.send(Err(GroupCommitError::Failed {
                                batch,
                                source: source.clone(),
                            }));
                        }
                    }
                }
            }
        });
        (Self { tx }, handle)
    }

    /// Hands `item` over and waits until the batch that holds it has been committed.
    pub async fn submit(&self, item: T) -> Result<R, GroupCommitError<E>> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((item, reply))
            .await
            .map_err(|_| GroupCommitError::Stopped)?;
        answer.await.map_err(|_| GroupCommitError::Stopped)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("disk full")]
    struct Full;

    #[tokio::test]
    async fn items_that_arrive_together_share_a_commit_and_get_their_own_answer() {
        let commits = Arc::new(std::sync::Mutex::new(Vec::<usize>::new()));
        let seen = commits.clone();
        let (group, _task) = GroupCommit::spawn(64, move |items: Vec<u32>| {
            seen.lock().unwrap().push(items.len());
            async move {
                if items.contains(&13) {
                    return Err(Full);
                }
                Ok(items.iter().map(|i| i * 2).collect::<Vec<_>>())
            }
        });
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..10u32 {
            let group = group.clone();
            tasks.spawn(async move { (i, group.submit(i).await) });
        }
        while let Some(joined) = tasks.join_next().await {
            let (i, answer) = joined.unwrap();
            assert_eq!(answer.unwrap(), i * 2);
        }
        assert_eq!(commits.lock().unwrap().iter().sum::<usize>(), 10);

        let failed = group.submit(13).await.unwrap_err();
        assert!(
            matches!(failed, GroupCommitError::Failed { batch: 1, .. }),
            "{failed:?}"
        );
        assert_eq!(
            std::error::Error::source(&failed).map(|s| s.to_string()),
            Some("disk full".into())
        );
    }
}
