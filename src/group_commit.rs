//! Group commit: many tasks hand their item to one committer task, which stores every item
//! that arrived meanwhile in one transaction and answers each task with its own result.
//!
//! It serves the worker's outcomes (each slot waits until its outcome is durable, so at most
//! `concurrency` messages can be sent again after a crash) and the subscribe endpoint's
//! sign-ups. On SQLite's single writer it turns one commit per item into one per burst.
//!
//! A burst can be short: a worker's slots finish their messages milliseconds apart, so a
//! committer that starts at the first item commits alone most of the time. Where commits
//! are dear it may therefore *linger* ([`Linger`]): wait a little for the rest of a batch.

use std::sync::Arc;
use std::time::Duration;

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

/// Whether the committer waits for more items after the first of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linger {
    /// Commits what has arrived at once: the next batch is what arrives meanwhile.
    No,
    /// Waits for more as long as the last commit took, and never longer than `max`: a busy
    /// database, which answers slowly, gets fewer and larger commits. (A wait shorter than
    /// a timer's tick, about a millisecond, lasts a tick.)
    AsLongAsTheLastCommit { max: Duration },
}

impl Linger {
    fn after(self, last_commit: Duration) -> Duration {
        match self {
            Linger::No => Duration::ZERO,
            Linger::AsLongAsTheLastCommit { max } => last_commit.min(max),
        }
    }
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
    /// per item, in order; it runs again as soon as it returns if more items wait. A batch
    /// that fills up commits at once, lingering or not: a caller that knows how many items
    /// can wait at most (a worker's slots) makes that `max_batch`.
    pub fn spawn<F, Fut>(
        max_batch: usize,
        linger: Linger,
        mut commit: F,
    ) -> (Self, tokio::task::JoinHandle<()>)
    where
        F: FnMut(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<R>, E>> + Send,
    {
        let max_batch = max_batch.max(1);
        let (tx, mut rx) = mpsc::channel::<(T, Reply<R, E>)>(max_batch * 2);
        let handle = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(max_batch);
            let mut last_commit = Duration::ZERO;
            while rx.recv_many(&mut batch, max_batch).await > 0 {
                let wait = linger.after(last_commit);
                let deadline = tokio::time::Instant::now() + wait;
                while batch.len() < max_batch && !wait.is_zero() {
                    let room = max_batch - batch.len();
                    match tokio::time::timeout_at(deadline, rx.recv_many(&mut batch, room)).await {
                        Ok(n) if n > 0 => {}
                        // The linger is over, or every sender is gone: commit what is here.
                        _ => break,
                    }
                }
                let (items, replies): (Vec<T>, Vec<Reply<R, E>>) = batch.drain(..).unzip();
                let batch = replies.len();
                let began = tokio::time::Instant::now();
                let committed = commit(items).await;
                last_commit = began.elapsed();
                match committed {
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
        let (group, _task) = GroupCommit::spawn(64, Linger::No, move |items: Vec<u32>| {
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

    /// The size of each commit, in order.
    type Sizes = Arc<std::sync::Mutex<Vec<usize>>>;

    /// A committer that lingers (up to 30 s) and whose first commit takes `slow`.
    fn slow_first_commit(max_batch: usize, slow: Duration) -> (GroupCommit<u32, u32, Full>, Sizes) {
        let commits = Sizes::default();
        let seen = commits.clone();
        let linger = Linger::AsLongAsTheLastCommit {
            max: Duration::from_secs(30),
        };
        let (group, _task) = GroupCommit::spawn(max_batch, linger, move |items: Vec<u32>| {
            let first = {
                let mut c = seen.lock().unwrap();
                c.push(items.len());
                c.len() == 1
            };
            async move {
                if first {
                    tokio::time::sleep(slow).await;
                }
                Ok::<_, Full>(items)
            }
        });
        (group, commits)
    }

    /// A committer that lingers: after a slow commit, items that arrive a little apart share
    /// the next one, and a batch that fills up commits without waiting out the linger.
    #[tokio::test]
    async fn after_a_slow_commit_items_arriving_apart_share_the_next_and_a_full_batch_goes_at_once()
    {
        let slow = Duration::from_millis(400);
        let (group, commits) = slow_first_commit(3, slow);
        group.submit(0).await.unwrap();
        let started = std::time::Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 1..=3u32 {
            let group = group.clone();
            tasks.spawn(async move { group.submit(i).await.map_err(|e| e.to_string()) });
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        while let Some(joined) = tasks.join_next().await {
            joined.unwrap().unwrap();
        }
        assert_eq!(
            *commits.lock().unwrap(),
            vec![1, 3],
            "the three share one commit"
        );
        // Full at the third item, 100 ms in: it did not wait the 400 ms the last commit took.
        assert!(started.elapsed() < slow, "{:?}", started.elapsed());
    }

    /// A batch that does not fill up waits as long as the last commit took, up to `max`.
    #[test]
    fn the_linger_follows_the_last_commit_up_to_its_bound() {
        let linger = Linger::AsLongAsTheLastCommit {
            max: Duration::from_millis(5),
        };
        let ms = Duration::from_millis;
        assert_eq!(linger.after(Duration::ZERO), Duration::ZERO);
        assert_eq!(linger.after(ms(2)), ms(2));
        assert_eq!(linger.after(ms(80)), ms(5));
        assert_eq!(Linger::No.after(ms(80)), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_batch_that_does_not_fill_up_commits_when_the_linger_is_over() {
        let slow = Duration::from_millis(100);
        let (group, _) = slow_first_commit(8, slow);
        group.submit(0).await.unwrap();
        let started = std::time::Instant::now();
        assert_eq!(group.submit(7).await.unwrap(), 7);
        let waited = started.elapsed();
        assert!(waited >= slow && waited < slow * 20, "{waited:?}");
    }
}
