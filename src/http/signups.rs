//! Sign-ups share transactions: each request hands its sign-up to one task, which stores
//! all that have arrived meanwhile in one transaction (group commit) and answers each.
//! On SQLite's single writer this turns one commit per request into one per burst.

use tokio::sync::{mpsc, oneshot};

use crate::store::{Store, SubscribeOutcome, SubscribeRequest};

const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<SubscribeOutcome, String>>;

#[derive(Clone)]
pub struct SignupQueue {
    tx: mpsc::Sender<(SubscribeRequest, Reply)>,
}

impl SignupQueue {
    pub fn spawn(store: Store) -> Self {
        let (tx, mut rx) = mpsc::channel::<(SubscribeRequest, Reply)>(MAX_BATCH * 4);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let (requests, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
                match store.subscribe_batch(&requests).await {
                    Ok(outcomes) => {
                        for (reply, outcome) in replies.into_iter().zip(outcomes) {
                            let _ = reply.send(Ok(outcome));
                        }
                    }
                    Err(e) => {
                        let message = e.to_string();
                        for reply in replies {
                            let _ = reply.send(Err(message.clone()));
                        }
                    }
                }
            }
        });
        Self { tx }
    }

    pub async fn subscribe(&self, request: SubscribeRequest) -> Result<SubscribeOutcome, String> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((request, reply))
            .await
            .map_err(|_| "the sign-up queue has stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the sign-up queue dropped the request".to_owned())?
    }
}
