//! Every SQLite write runs on one thread of its own that owns its connection (rusqlite), in
//! group commits: one transaction and one fsync for every step that arrived meanwhile.
//!
//! Why a thread and not the async driver: with sqlx each statement is a hand-off to the
//! driver's worker thread and back (a futex wake-up each way); a refund's write steps are a
//! dozen statements, and the profile of the earlier design put 42 % of the gateway's
//! samples on those worker threads and a third in the kernel waking them. Here a step is a
//! plain function run on the writer thread: one hand-off in (a channel send) and one out
//! (its answer), whatever it does inside; its statements are cached prepared statements.
//!
//! - The thread takes every step queued while the previous batch was committing, runs them
//!   one after another inside `BEGIN IMMEDIATE`, each in a savepoint of its own, then commits
//!   once. `synchronous=FULL`: the commit is durable before anyone is answered.
//! - Each step is all-or-nothing: a step that asks for rollback (a replayed idempotency key,
//!   a refused payment) or fails or panics is rolled back to its savepoint, and the others go
//!   on. Steps run in order on one connection, so each sees exactly the state it would have
//!   seen had the earlier steps committed alone: unique keys and checks work unchanged, and
//!   a step that reads and then writes (check a payment, then insert a refund) is serialized
//!   with every other write without any lock.
//! - No caller is answered before the commit that holds its writes has returned; if that
//!   commit fails, every caller of the batch gets the error and nothing of the batch is
//!   stored, exactly as if each of their own transactions had failed.
//! - Nothing waits for a batch to fill: an idle gateway commits each step at once, and a
//!   loaded one batches whatever arrived during the previous fsync.
//! - The WAL is reused, not grown: a thread of its own copies it into the database
//!   (`checkpoint_while`), and after each of its rounds the writer, between two batches,
//!   checkpoints the few frames committed meanwhile, so its next commit starts the WAL again
//!   from the beginning. Without that second, short checkpoint no commit ever found the WAL
//!   wholly copied (there was always a newer one), and the file grew by every page ever
//!   written: 1.1 GB after 5,000 refunds.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::StoreError;

/// Most steps in one transaction.
const MAX_BATCH: usize = 256;

/// What a step hands back: whether to keep its writes, and how to answer its caller once the
/// batch's fate is known (`None`: committed; `Some(message)`: not committed).
struct Finish {
    keep: bool,
    answer: Answer,
}

type Answer = Box<dyn FnOnce(Option<&str>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Finish + Send>;

/// Handle to the writer thread; the thread ends when every handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
    /// Held by every handle; the checkpointer stops once the last handle is gone.
    _alive: std::sync::Arc<()>,
    /// The model test's simulated crash (`crate::faults`): once it trips, no write commits.
    faults: std::sync::Arc<crate::faults::Faults>,
}

/// SQL written with PostgreSQL's `$N` placeholders in SQLite's `?N` form (the same
/// numbered-parameter meaning), so one text serves both backends.
pub(crate) fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

/// The WAL file is cut back to this size whenever it starts again from the beginning (a
/// burst, or a long read that kept it from being reused, may have grown it).
const WAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// Opens a connection to the SQLite file with the gateway's settings (WAL, `synchronous =
/// FULL`, foreign keys, a busy timeout; `temp_store = MEMORY` keeps the savepoint
/// sub-journals of group commit off the disk; the WAL file's size limit).
pub(crate) fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(sqlite_error)?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
         PRAGMA busy_timeout = 10000; PRAGMA temp_store = MEMORY; \
         PRAGMA journal_size_limit = {WAL_SIZE_LIMIT};",
    ))
    .map_err(sqlite_error)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// A rusqlite error as the store reports it.
pub(crate) fn sqlite_error(error: rusqlite::Error) -> StoreError {
    StoreError::Sqlite(error)
}

impl SqliteWriter {
    /// Starts the writer thread on its own connection to the SQLite file at `path`.
    pub(crate) fn start(
        path: &Path,
        faults: std::sync::Arc<crate::faults::Faults>,
    ) -> Result<Self, StoreError> {
        let conn = open(path)?;
        // Checkpoints are the checkpointer's job (below), not the writer's: an automatic one
        // runs inside the commit that crosses the threshold, copying the WAL into the
        // database and fsyncing it while every queued step waits.
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")
            .map_err(sqlite_error)?;
        let checkpoints = open(path)?;
        let (jobs, receiver) = mpsc::channel::<Job>();
        let alive = std::sync::Arc::new(());
        let watch = std::sync::Arc::downgrade(&alive);
        let round_done = std::sync::Arc::new(AtomicBool::new(false));
        let told = round_done.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, receiver, &round_done))
            .map_err(|e| StoreError::NotCommitted(format!("cannot start the writer: {e}")))?;
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_while(&checkpoints, &watch, &told))
            .map_err(|e| StoreError::NotCommitted(format!("cannot start the checkpointer: {e}")))?;
        Ok(Self {
            jobs,
            _alive: alive,
            faults,
        })
    }

    /// Runs `step` in the next batch and answers once that batch is committed. `step`
    /// returns its result and `true` to keep its writes, `false` to roll them back.
    pub(crate) async fn write<T, F>(&self, step: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<(T, bool), StoreError> + Send + 'static,
    {
        if !self.faults.write_allowed() {
            return Err(StoreError::NotCommitted(
                "the process died before this write (simulated crash)".into(),
            ));
        }
        let (reply, answer) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |conn| {
            let result = match std::panic::catch_unwind(AssertUnwindSafe(|| step(conn))) {
                Ok(result) => result,
                Err(_) => {
                    tracing::error!("a write step panicked; it was rolled back");
                    Err(StoreError::NotCommitted("the write step failed".into()))
                }
            };
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
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::NotCommitted("the writer has stopped".into()))?;
        // A dropped job (the writer stopped) drops `reply`.
        answer
            .await
            .map_err(|_| StoreError::NotCommitted("the writer stopped before this step".into()))?
    }
}

/// How often the checkpointer copies the WAL into the database.
#[cfg(not(test))]
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
#[cfg(test)]
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// Copies committed WAL frames into the database file every [`CHECKPOINT_EVERY`], on a
/// connection of its own, in `PASSIVE` mode: it never waits for the writer or a reader and
/// never blocks them (what a reader still needs is left for the next round), and its copy
/// and fsync of the database are off the writer's path. Each round done, it tells the
/// writer (`round_done`), whose own checkpoint then has only the frames committed during
/// the round left to copy. Stops once the store is dropped.
fn checkpoint_while(conn: &Connection, alive: &std::sync::Weak<()>, round_done: &AtomicBool) {
    while alive.strong_count() > 0 {
        std::thread::sleep(CHECKPOINT_EVERY);
        match checkpoint(conn) {
            Ok(()) => round_done.store(true, Ordering::Release),
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; retrying"),
        }
    }
}

/// One `PASSIVE` checkpoint on `conn`.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

fn run(conn: Connection, receiver: mpsc::Receiver<Job>, round_done: &AtomicBool) {
    while let Ok(first) = receiver.recv() {
        let mut jobs = Vec::with_capacity(16);
        jobs.push(first);
        while jobs.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        match run_batch(&conn, jobs) {
            Ok(answers) => answers.into_iter().for_each(|answer| answer(None)),
            Err((message, answers)) => {
                tracing::error!(error = %message, steps = answers.len(), "write batch not committed");
                answers
                    .into_iter()
                    .for_each(|answer| answer(Some(message.as_str())));
            }
        }
        // No commit can come between this checkpoint and the next batch's, so unless a
        // reader holds an older snapshot it copies the WAL whole, and the next commit
        // starts it again from its first frame.
        if round_done.swap(false, Ordering::AcqRel) {
            if let Err(e) = checkpoint(&conn) {
                tracing::warn!(error = %e, "WAL checkpoint by the writer failed");
            }
        }
    }
}

/// Runs one batch: the answers to give, or why nothing was committed (with every answer).
fn run_batch(conn: &Connection, jobs: Vec<Job>) -> Result<Vec<Answer>, (String, Vec<Answer>)> {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let message = e.to_string();
        let answers = jobs.into_iter().map(|job| job(conn).answer).collect();
        // The steps ran outside any transaction only to collect their answers; without
        // BEGIN their writes would be autocommitted, so this never happens in practice
        // except for a failure that also fails each step.
        return Err((message, answers));
    }
    let mut answers = Vec::with_capacity(jobs.len());
    let mut failure = None;
    for job in jobs {
        if failure.is_some() {
            // The transaction is lost: the rest are answered with the batch's failure.
            answers.push(Box::new(|_: Option<&str>| {}) as Answer);
            drop(job);
            continue;
        }
        if let Err(e) = conn.execute_batch("SAVEPOINT step") {
            failure = Some(e.to_string());
            drop(job);
            continue;
        }
        let finish = job(conn);
        let close = if finish.keep {
            "RELEASE step"
        } else {
            "ROLLBACK TO step; RELEASE step"
        };
        if let Err(e) = conn.execute_batch(close) {
            failure = Some(e.to_string());
        }
        answers.push(finish.answer);
    }
    if let Some(message) = failure {
        let _ = conn.execute_batch("ROLLBACK");
        return Err((message, answers));
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => Ok(answers),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err((e.to_string(), answers))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    async fn store() -> (Store, std::path::PathBuf) {
        let dir = refund_test_support::temp_dir("refund-gateway-writer-");
        let url = refund_test_support::sqlite_url(&dir);
        let store = Store::connect(&url, 2).await.expect("store");
        (store, dir)
    }

    fn insert_receipt(
        event: &'static str,
        keep: bool,
    ) -> impl FnOnce(&Connection) -> Result<(usize, bool), StoreError> + Send + 'static {
        move |conn| {
            let done = conn
                .execute(
                    "INSERT INTO webhook_receipts (provider, event_id, received_at) VALUES ('p', ?1, 0)",
                    [event],
                )
                .map_err(sqlite_error)?;
            Ok((done, keep))
        }
    }

    async fn receipts(store: &Store) -> Vec<String> {
        sqlx::query_scalar("SELECT event_id FROM webhook_receipts ORDER BY event_id")
            .fetch_all(store.pool())
            .await
            .expect("read receipts")
    }

    fn writer(store: &Store) -> SqliteWriter {
        store.sqlite.clone().expect("sqlite has a writer")
    }

    #[tokio::test]
    async fn steps_of_one_batch_keep_or_lose_their_writes_independently() {
        let (store, dir) = store().await;
        let writer = writer(&store);
        // Queued together on this single-threaded runtime, so they share one batch.
        let (kept, rolled_back, failed, duplicate) = tokio::join!(
            writer.write(insert_receipt("a", true)),
            writer.write(insert_receipt("b", false)),
            writer.write(|conn| {
                conn.execute("INSERT INTO no_such_table VALUES (1)", [])
                    .map_err(sqlite_error)?;
                Ok((1usize, true))
            }),
            writer.write(insert_receipt("a", true)),
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
        let writer = writer(&store);
        let mut calls = tokio::task::JoinSet::new();
        for n in 0..50u32 {
            let writer = writer.clone();
            let pool = store.pool().clone();
            calls.spawn(async move {
                let event = format!("e{n:02}");
                let inserted = writer
                    .write({
                        let event = event.clone();
                        move |conn| {
                            conn.execute(
                                "INSERT INTO webhook_receipts (provider, event_id, received_at) VALUES ('p', ?1, 0)",
                                [event],
                            )
                            .map_err(sqlite_error)?;
                            Ok(((), true))
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
    async fn a_panicking_step_fails_alone_and_the_others_of_its_batch_commit() {
        let (store, dir) = store().await;
        let writer = writer(&store);
        let (before, panicking, after) = tokio::join!(
            writer.write(insert_receipt("before", true)),
            writer.write::<usize, _>(|conn| {
                conn.execute(
                    "INSERT INTO webhook_receipts (provider, event_id, received_at) VALUES ('p', 'lost', 0)",
                    [],
                )
                .map_err(sqlite_error)?;
                panic!("a step panicked")
            }),
            writer.write(insert_receipt("after", true)),
        );
        assert!(matches!(panicking, Err(StoreError::NotCommitted(_))));
        assert_eq!(before.expect("before"), 1);
        assert_eq!(after.expect("after"), 1);
        assert_eq!(receipts(&store).await, ["after", "before"]);
        // And the writer goes on.
        writer
            .write(insert_receipt("later", true))
            .await
            .expect("write");
        assert_eq!(receipts(&store).await.len(), 3);
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn committed_writes_reach_the_database_file_without_the_writer_checkpointing() {
        let (store, dir) = store().await;
        let writer = writer(&store);
        let file = dir.join("gateway.db");
        let before = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        for n in 0..300u32 {
            writer
                .write(move |conn| {
                    conn.execute(
                        "INSERT INTO webhook_receipts (provider, event_id, received_at) VALUES ('p', ?1, 0)",
                        [format!("event-{n:04}-{}", "x".repeat(200))],
                    )
                    .map_err(sqlite_error)?;
                    Ok(((), true))
                })
                .await
                .expect("write");
        }
        // The writer never checkpoints inside a commit (wal_autocheckpoint = 0); the
        // checkpointer copies the WAL into the database file within a round or two.
        let mut after = 0;
        for _ in 0..100 {
            tokio::time::sleep(CHECKPOINT_EVERY).await;
            after = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            if after > before + 50_000 {
                break;
            }
        }
        assert!(
            after > before + 50_000,
            "database file {before} → {after} bytes"
        );
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn the_wal_is_reused_under_steady_writes_instead_of_growing() {
        let (store, dir) = store().await;
        let writer = writer(&store);
        let wal = dir.join("gateway.db-wal");
        // One commit after another for 30 checkpoint rounds, each with a row of 2 kB (in the
        // table and in its unique index): every commit writes several 4 kB pages, so a WAL
        // that is never reused ends at about 15 times the rows' bytes (113 MB after 3,939
        // commits, measured without the writer's checkpoint); reused, it holds about one
        // round's frames (6.4 MB after 5,396 commits).
        let row = "x".repeat(2_000);
        let started = std::time::Instant::now();
        let mut rows = 0u64;
        while started.elapsed() < CHECKPOINT_EVERY * 30 {
            let event = format!("event-{rows:06}-{row}");
            writer
                .write(move |conn| {
                    conn.execute(
                        "INSERT INTO webhook_receipts (provider, event_id, received_at) VALUES ('p', ?1, 0)",
                        [event],
                    )
                    .map_err(sqlite_error)?;
                    Ok(((), true))
                })
                .await
                .expect("write");
            rows += 1;
        }
        let written = rows * 2_000;
        let wal_bytes = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        assert!(rows > 200, "only {rows} commits in the window");
        assert!(
            wal_bytes < written * 2,
            "WAL file {wal_bytes} bytes after {rows} commits of {written} bytes of rows: not reused"
        );
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn postgres_placeholders_become_sqlite_numbered_parameters() {
        assert_eq!(
            sqlite_sql("SELECT a FROM t WHERE b = $2 AND c = $10 OR d = $1"),
            "SELECT a FROM t WHERE b = ?2 AND c = ?10 OR d = ?1"
        );
    }
}
