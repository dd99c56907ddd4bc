//! The durable store (DESIGN §8): one sqlx `Any` pool over SQLite (the embedded default) or
//! PostgreSQL, chosen by `database.url`, with embedded migrations per backend run at start.
//!
//! SQL is written once with `$N` placeholders, which both drivers accept. Exactly-once rests
//! on the database, not on in-process locks: unique keys (idempotency key, merchant
//! reference, provider reference), and optimistic `version` guards on every refund update,
//! so several gateway processes on one PostgreSQL keep every guarantee.
//!
//! SQLite runs in WAL mode with `synchronous=FULL`, foreign keys on and a busy timeout, and
//! write transactions start with `BEGIN IMMEDIATE` so two writers never deadlock upgrading a
//! read lock. Writes run on one connection of their own, and the refund write steps are
//! committed in groups (`writer.rs`): one fsync for every step that arrived meanwhile,
//! each caller answered only once its step is durable.

pub mod finance;
pub mod ledger;
pub mod payments;
pub mod records;
pub mod refunds;
pub mod retention;
pub mod work;
pub(crate) mod writer;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use records::{
    Change, CreateOutcome, IdempotencyClaim, LedgerLine, ListFilter, NewEvent, OutboxMessage,
    PaymentClaim, RefundRecord,
};

/// Which database the pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("the write was not committed: {0}")]
    NotCommitted(String),
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The gateway's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where write transactions run. On SQLite a pool of ONE connection, so writers queue
    /// in order on the pool instead of colliding on SQLite's write lock (a collision is
    /// `SQLITE_BUSY`, retried by sleeping in the busy handler: at 64 concurrent refunds the
    /// bench measured more time asleep there than in fsync). SQLite has one writer at a time
    /// anyway; reads stay on `pool` (WAL lets them run beside the writer). On PostgreSQL the
    /// same pool as `pool`.
    writer: AnyPool,
    /// SQLite's group commit (see `writer.rs`): the refund write steps go through it.
    group: Option<writer::GroupWriter>,
    backend: Backend,
}

impl Store {
    /// Connects, applies the pragmas (SQLite), and runs the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool_options = |size: u32| {
            AnyPoolOptions::new()
                .max_connections(size)
                .acquire_timeout(Duration::from_secs(10))
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            // temp_store = MEMORY keeps the savepoint sub-journals of
                            // group commit off the disk (they only serve a rollback inside
                            // a live transaction; crash recovery is the WAL's job).
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                                 PRAGMA temp_store = MEMORY;",
                            )
                            .await?;
                        }
                        Ok(())
                    })
                })
        };
        let pool = pool_options(max_connections)
            .connect_with(options.clone())
            .await?;
        // `:memory:` is one database per connection: it cannot have a writer of its own.
        let writer = if backend == Backend::Sqlite && !url.contains(":memory:") {
            pool_options(1).connect_with(options).await?
        } else {
            pool.clone()
        };
        let group = (backend == Backend::Sqlite && !url.contains(":memory:"))
            .then(|| writer::GroupWriter::start(writer.clone()));
        let store = Self {
            pool,
            writer,
            group,
            backend,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// True when the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite).
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writer.begin().await?,
        })
    }

    /// Where a single-statement write outside a transaction should run (see `writer`).
    pub(crate) fn writer(&self) -> &AnyPool {
        &self.writer
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// `sqlite://data/x.db` → a URL that creates the file (and its folder) when missing.
fn sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:" && !path.is_empty() {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Corrupt(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
        }
    }
    let mut query = query.to_owned();
    if !query.contains("mode=") {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str("mode=rwc");
    }
    Ok(format!("sqlite://{path}?{query}"))
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// True for a unique-key violation, whichever backend raised it.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db
                    .code()
                    .is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
        }
        _ => false,
    }
}
