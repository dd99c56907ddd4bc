//! Group commit for SQLite: one writer task runs the write steps of concurrent callers in
//! one transaction and commits them with one fsync.
//!
//! With `synchronous=FULL` every commit waits for an fsync of the WAL; one refund takes
//! four (create, provider answer, webhook, webhook receipt), so committing them one at a
//! time bounds the gateway at a few hundred refunds per second on a virtual disk, whatever
//! the CPU does. Here each step is a job: the task takes every job queued while the
//! previous batch was committing, runs them one after another inside `BEGIN IMMEDIATE`,
//! each in a savepoint of its own, then commits once.
//!
//! - Each job is all-or-nothing: a job that asks for rollback (a replayed idempotency key,
//!   a lost version race) or fails is rolled back to its savepoint, and the others go on.
//!   Jobs run in order on one connection, so each sees exactly the state it would have seen
//!   had the earlier jobs committed alone: unique keys and version guards work unchanged.
//! - No caller is answered before the commit that holds its writes has returned (durable);
//!   if that commit fails, every caller of the batch gets the error and nothing of the
//!   batch is stored, exactly as if each of their own transactions had failed.
//! - Nothing waits for a batch to fill: an idle gateway commits each step at once, and a
//!   loaded one batches whatever arrived during the previous fsync.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use futures_util::FutureExt;
use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{mpsc, oneshot};

use super::StoreError;

/// Most jobs in one transaction.
const MAX_BATCH: usize = 256;

/// What a job hands back: whether to keep its writes, and how to answer its caller once
/// the batch's fate is known (`None`: committed; `Some(message)`: not committed).
struct Finish {
    keep: bool,
    answer: Answer,
}

type Answer = Box<dyn FnOnce(Option<&str>) + Send>;
type JobFuture<'c> = Pin<Box<dyn Future<Output = Finish> + Send + 'c>>;
type Job = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> JobFuture<'c> + Send>;

/// The future a write step returns: its result, and whether its writes are kept.
pub(crate) type StepFuture<'c, T> =
    Pin<Box<dyn Future<Output = Result<(T, bool), StoreError>> + Send + 'c>>;

/// Handle to the writer task.
#[derive(Debug, Clone)]
pub(crate) struct GroupWriter {
    jobs: mpsc::UnboundedSender<Job>,
}

impl GroupWriter {
    /// Starts the writer task on `pool` (the one-connection writer pool).
    pub(crate) fn start(pool: AnyPool) -> Self {
        let (jobs, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, receiver));
        Self { jobs }
    }

    /// Runs `step` in the next batch and answers once that batch is committed. `step`
    /// returns its result and `true` to keep its writes, `false` to roll them back.
    pub(crate) async fn write<T, F>(&self, step: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> StepFuture<'c, T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let result = step(conn).await;
                let keep = matches!(result, Ok((_, true)));
                Finish {
                    keep,
                    answer: Box::new(move |failure| {
                        let answer = match failure {
                            None => result.map(|(value, _)| value),
                            Some(message) => Err(StoreError::NotCommitted(message.to_owned())),
                        };
                        let _ = reply.send(answer);
                    }),
                }
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::NotCommitted("the writer has stopped".into()))?;
        // A dropped job (its batch failed before it ran, or the writer stopped) drops `reply`.
        answer.await.map_err(|_| {
            StoreError::NotCommitted("the write batch failed before this step ran".into())
        })?
    }
}

async fn run(pool: AnyPool, mut receiver: mpsc::UnboundedReceiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let jobs = std::mem::take(&mut batch);
        // A panic inside a batch must not stop the writer for good: the batch's transaction
        // is dropped (rolled back), its callers' answers are dropped (they get
        // `NotCommitted`), and the next batch runs as usual.
        let answers = match AssertUnwindSafe(run_batch(&pool, jobs))
            .catch_unwind()
            .await
        {
            Ok(answers) => answers,
            Err(_) => {
                tracing::error!("a write batch panicked; its steps were not committed");
                continue;
            }
        };
        match answers {
            Ok(answers) => answers.into_iter().for_each(|answer| answer(None)),
            Err((message, answers)) => {
                tracing::error!(error = %message, jobs = answers.len(), "write batch not committed");
                answers
                    .into_iter()
                    .for_each(|answer| answer(Some(message.as_str())));
            }
        }
    }
}

/// Runs one batch: the answers to give, or why nothing was committed (with the answers of
/// the jobs that ran; the others are dropped, which tells their callers).
async fn run_batch(pool: &AnyPool, jobs: Vec<Job>) -> Result<Vec<Answer>, (String, Vec<Answer>)> {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => return Err((e.to_string(), Vec::new())),
    };
    let mut answers: Vec<Answer> = Vec::with_capacity(jobs.len());
    // Each job runs in a savepoint of its own. Ending one savepoint and opening the next is
    // a single round trip to the connection's thread (statements per round trip matter:
    // the profile shows the thread hand-offs beside SQLite's own work).
    let mut previous_kept: Option<bool> = None;
    let mut failure = None;
    for job in jobs {
        let open = match previous_kept {
            None => "SAVEPOINT step",
            Some(true) => "RELEASE step; SAVEPOINT step",
            Some(false) => "ROLLBACK TO step; RELEASE step; SAVEPOINT step",
        };
        if let Err(e) = (&mut *tx).execute(open).await {
            failure = Some(e.to_string());
            break;
        }
        let finish = job(&mut tx).await;
        previous_kept = Some(finish.keep);
        answers.push(finish.answer);
    }
    let close = match previous_kept {
        None => None,
        Some(true) => Some("RELEASE step"),
        Some(false) => Some("ROLLBACK TO step; RELEASE step"),
    };
    if let (None, Some(close)) = (&failure, close) {
        if let Err(e) = (&mut *tx).execute(close).await {
            failure = Some(e.to_string());
        }
    }
    if let Some(message) = failure {
        let _ = tx.rollback().await;
        return Err((message, answers));
    }
    match tx.commit().await {
        Ok(()) => Ok(answers),
        Err(e) => Err((e.to_string(), answers)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    async fn store() -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "refund-gateway-writer-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let url = format!("sqlite://{}/gateway.db", dir.display());
        let store = Store::connect(&url, 2).await.expect("store");
        (store, dir)
    }

    fn insert_receipt(
        event: &'static str,
        keep: bool,
    ) -> impl for<'c> FnOnce(&'c mut AnyConnection) -> StepFuture<'c, u64> + Send + 'static {
        move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "INSERT INTO webhook_receipts (provider, event_id, received_at) VALUES ('p', $1, 0)",
                )
                .bind(event)
                .execute(&mut *conn)
                .await?;
                Ok((done.rows_affected(), keep))
            })
        }
    }

    async fn receipts(store: &Store) -> Vec<String> {
        sqlx::query_scalar("SELECT event_id FROM webhook_receipts ORDER BY event_id")
            .fetch_all(store.pool())
            .await
            .expect("read receipts")
    }

    #[tokio::test]
    async fn steps_of_one_batch_keep_or_lose_their_writes_independently() {
        let (store, dir) = store().await;
        let group = store.group.clone().expect("sqlite has a group writer");
        // Queued together on this single-threaded runtime, so they share one batch.
        let (kept, rolled_back, failed, duplicate) = tokio::join!(
            group.write(insert_receipt("a", true)),
            group.write(insert_receipt("b", false)),
            group.write(|conn| -> StepFuture<'_, u64> {
                Box::pin(async move {
                    sqlx::query("INSERT INTO no_such_table VALUES (1)")
                        .execute(&mut *conn)
                        .await?;
                    Ok((1, true))
                })
            }),
            group.write(insert_receipt("a", true)),
        );
        assert_eq!(kept.expect("first step"), 1);
        assert_eq!(rolled_back.expect("second step answers"), 1);
        assert!(failed.is_err(), "a failing step reports its error");
        // The same key again: the earlier step of the batch is visible to it.
        assert!(duplicate.is_err(), "a unique key holds inside a batch");
        assert_eq!(receipts(&store).await, ["a"]);
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn every_caller_is_answered_after_the_commit_and_sees_its_write() {
        let (store, dir) = store().await;
        let group = store.group.clone().expect("sqlite has a group writer");
        let mut calls = tokio::task::JoinSet::new();
        for n in 0..50u32 {
            let group = group.clone();
            let pool = store.pool().clone();
            calls.spawn(async move {
                let event = format!("e{n:02}");
                let inserted = group
                    .write({
                        let event = event.clone();
                        move |conn| -> StepFuture<'_, ()> {
                            Box::pin(async move {
                                sqlx::query("INSERT INTO webhook_receipts (provider, event_id, received_at) VALUES ('p', $1, 0)")
                                    .bind(event)
                                    .execute(&mut *conn)
                                    .await?;
                                Ok(((), true))
                            })
                        }
                    })
                    .await;
                // Answered only once durable: another connection already sees it.
                let seen: Option<String> = sqlx::query_scalar(
                    "SELECT event_id FROM webhook_receipts WHERE event_id = $1",
                )
                .bind(&event)
                .fetch_optional(&pool)
                .await
                .expect("read");
                (inserted.is_ok(), seen.is_some())
            });
        }
        while let Some(joined) = calls.join_next().await {
            assert_eq!(joined.expect("task"), (true, true));
        }
        assert_eq!(receipts(&store).await.len(), 50);
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_panicking_step_fails_alone_and_the_writer_goes_on() {
        let (store, dir) = store().await;
        let writer = GroupWriter::start(store.pool().clone());
        let panicking = writer
            .write::<u64, _>(|_conn| Box::pin(async { panic!("a step panicked") }))
            .await;
        assert!(matches!(panicking, Err(StoreError::NotCommitted(_))));
        assert_eq!(
            writer
                .write(insert_receipt("after", true))
                .await
                .expect("write"),
            1
        );
        assert_eq!(receipts(&store).await, ["after"]);
        let _ = std::fs::remove_dir_all(dir);
    }
}
