//! The durable store (DESIGN §8): one sqlx `Any` pool over SQLite (the embedded default) or
//! PostgreSQL, chosen by `database.url`, with embedded migrations per backend run at start.
//!
//! SQL is written once with `$N` placeholders, which both drivers accept. Exactly-once rests
//! on the database, not on in-process locks: unique keys (idempotency key, merchant
//! reference, provider reference), and optimistic `version` guards on every refund update,
//! so several gateway processes on one PostgreSQL keep every guarantee.
//!
//! SQLite runs in WAL mode with `synchronous=FULL`, foreign keys on and a busy timeout. Every
//! write runs on one thread that owns a connection of its own (rusqlite), committed in
//! groups (`writer.rs`): one fsync for every step that arrived meanwhile, each caller
//! answered only once its step is durable. Reads go through the sqlx pool. On PostgreSQL
//! everything goes through the sqlx pool, and a refund's change is one statement
//! (`change.rs`).

pub mod audit;
pub mod batches;
mod change;
mod committed;
mod create;
pub mod finance;
pub mod ledger;
mod migrate;
pub mod payments;
pub mod queue;
pub mod records;
pub mod refunds;
mod resends;
pub mod retention;
mod sqlite;
pub(crate) mod sums;
#[cfg(test)]
mod vocabulary_tests;
pub mod work;
pub(crate) mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use refund_provider::SharedClock;

// The refund as stored is the domain's; `create.rs` and `change.rs` name it through here.
use crate::domain::RefundRecord;
use crate::faults::Faults;

pub use audit::AuditFilter;
pub use change::Receipt;
pub use records::{
    Change, CreateOutcome, IdempotencyClaim, ListFilter, Modified, NewEvent, OutboxMessage,
    PaymentClaim, WebhookApplied,
};

/// Which database the pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
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
    #[error("SQLite: {0}")]
    Sqlite(rusqlite::Error),
}

/// A pooled connection idle at least this long is pinged before it is used again.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(5);

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The gateway's database.
#[derive(Debug, Clone)]
pub struct Store {
    /// Reads on both backends; on PostgreSQL also every write.
    pool: AnyPool,
    /// SQLite: every write runs on the writer thread (`writer.rs`), which owns a connection
    /// of its own. SQLite has one writer at a time anyway; reads stay on `pool` (WAL lets
    /// them run beside the writer).
    sqlite: Option<writer::SqliteWriter>,
    backend: Backend,
    /// SQLite: read-only rusqlite connections the statement matcher borrows and gives back
    /// (`finance/matcher.rs`), so an import reuses one with its prepared statements and
    /// page cache instead of opening its own.
    lookups: finance::matcher::IdleLookups,
    /// What "now" is for every row this store writes and every engine step on it: the
    /// machine's clock, or a test's (`with_clock`).
    clock: SharedClock,
    /// Deliberate bugs a model test may plant (all off; see `crate::faults`).
    #[doc(hidden)]
    pub faults: Arc<Faults>,
}

impl Store {
    /// Connects, applies the pragmas (SQLite), runs the migrations and (SQLite) starts the
    /// writer thread.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let (url, sqlite_path) = match backend {
            Backend::Sqlite => {
                let (url, path) = sqlite_url(url)?;
                (url, Some(path))
            }
            Backend::Postgres => (url.to_owned(), None),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // sqlx pings every connection it hands out by default: a round trip (and a wake-up
            // of the server process) before every statement. Only a connection that sat idle
            // long enough to have been cut (a restarted server, a proxy's idle timeout) is
            // checked; a busy one proves itself on its next statement.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for < IDLE_BEFORE_PING {
                        return Ok(true);
                    }
                    Ok(sqlx::Connection::ping(conn).await.is_ok())
                })
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
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
            .connect_with(options)
            .await?;
        let mut store = Self {
            pool,
            sqlite: None,
            backend,
            lookups: finance::matcher::IdleLookups::default(),
            clock: refund_provider::clock::system(),
            faults: Arc::default(),
        };
        store.migrate().await?;
        if let Some(path) = sqlite_path {
            store.sqlite = Some(writer::SqliteWriter::start(&path, store.faults.clone())?);
        }
        Ok(store)
    }

    /// Applies the embedded migrations of this backend (PostgreSQL: see `migrate.rs`).
    pub(crate) async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => migrate::run_postgres(&self.pool, &POSTGRES_MIGRATIONS).await?,
        }
        Ok(())
    }

    /// The same store reading `clock` for "now" (tests that move time).
    #[must_use]
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Unix milliseconds now, by this store's clock.
    pub fn now(&self) -> i64 {
        millis_of(self.clock.now())
    }

    /// This store's clock.
    pub(crate) fn clock(&self) -> SharedClock {
        self.clock.clone()
    }

    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// True when the database answers.
    pub(crate) async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A value bound to a write statement run by either driver.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bind {
    Text(Option<String>),
    Int(Option<i64>),
}

impl rusqlite::ToSql for Bind {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Self::Text(text) => text.to_sql(),
            Self::Int(int) => int.to_sql(),
        }
    }
}

/// A cached prepared statement for `sql` (written with `$N` placeholders).
fn prepare<'c>(
    conn: &'c rusqlite::Connection,
    sql: &str,
) -> Result<rusqlite::CachedStatement<'c>, StoreError> {
    conn.prepare_cached(&writer::sqlite_sql(sql))
        .map_err(writer::sqlite_error)
}

impl Store {
    /// Runs one write statement (`$N` placeholders) where this backend writes: the writer
    /// thread on SQLite, the pool on PostgreSQL. Returns the rows it changed.
    pub(crate) async fn write_statement(
        &self,
        sql: String,
        binds: Vec<Bind>,
    ) -> Result<u64, StoreError> {
        if let Some(writer) = &self.sqlite {
            return writer
                .write(move |conn| {
                    let changed = prepare(conn, &sql)?
                        .execute(rusqlite::params_from_iter(binds.iter()))
                        .map_err(writer::sqlite_error)?;
                    Ok((changed as u64, true))
                })
                .await;
        }
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(int) => query.bind(int),
            };
        }
        Ok(query.execute(&self.pool).await?.rows_affected())
    }
}

/// `sqlite://data/x.db` → a URL that creates the file (and its folder) when missing, and
/// the file's path (for the writer thread's own connection). An in-memory database is one
/// database per connection, so the writer and the readers could never share it: refused.
fn sqlite_url(url: &str) -> Result<(String, std::path::PathBuf), StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path.contains(":memory:") || query.contains("mode=memory") {
        return Err(StoreError::Corrupt(
            "an in-memory SQLite database cannot be shared by the writer and the readers: use a file".into(),
        ));
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Corrupt(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
    }
    let mut query = query.to_owned();
    if !query.contains("mode=") {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str("mode=rwc");
    }
    Ok((
        format!("sqlite://{path}?{query}"),
        std::path::PathBuf::from(path),
    ))
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    millis_of(time::OffsetDateTime::now_utc())
}

/// Unix milliseconds of an instant.
pub(crate) fn millis_of(at: time::OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
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
