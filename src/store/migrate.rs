//! PostgreSQL migrations that a live table survives, run by several gateway processes at
//! once.
//!
//! - **Index changes are `CREATE INDEX CONCURRENTLY`**, each in a migration of its own marked
//!   `-- no-transaction` (PostgreSQL refuses it inside a transaction block, and a file of
//!   several statements is one implicit block): writes go on while the index is built.
//! - **The migration lock is taken without waiting inside a statement.** sqlx's runner takes
//!   a session advisory lock with `pg_advisory_lock`, so a second process starting meanwhile
//!   waits *inside* a statement, holding a snapshot; `CREATE INDEX CONCURRENTLY` waits for
//!   every transaction with an older snapshot, so each would wait for the other (until the
//!   deadlock detector kills one, and a gateway fails to start). Here the lock is tried
//!   (`pg_try_advisory_lock`) every 100 ms, holding nothing in between, on sqlx's own key so
//!   gateways of older versions starting at the same time are still kept out.
//! - **An index build cut short is rebuilt.** A process killed during `CREATE INDEX
//!   CONCURRENTLY` leaves an invalid index behind, which `IF NOT EXISTS` would then keep for
//!   good: before the run, invalid indexes of the names in [`CONCURRENT_INDEXES`] are dropped
//!   (concurrently), so the migration builds them again.
//! - **Strong locks wait briefly, then retry.** A transactional migration that needs an
//!   `ACCESS EXCLUSIVE` lock (dropping an index or a constraint) sets `lock_timeout`, so
//!   writers queue behind it no longer than that when a long query holds the table; it then
//!   fails with `lock_not_available` and is run again here after a pause.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::{AnyPool, Executor};

use super::StoreError;

/// Indexes the PostgreSQL migrations build concurrently (a test checks every such
/// migration names its index here).
pub(crate) const CONCURRENT_INDEXES: &[&str] = &["refunds_reference_once"];

/// Pause between two tries of the migration lock.
const LOCK_RETRY: Duration = Duration::from_millis(100);
/// How many times a migration that timed out on a lock is tried again, and the pause.
const LOCK_TIMEOUT_RETRIES: u32 = 100;
const LOCK_TIMEOUT_PAUSE: Duration = Duration::from_millis(300);

/// The advisory lock key sqlx's own runner uses for `database`.
fn lock_id(database: &str) -> i64 {
    const CRC_IEEE: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    0x3d32ad9e * i64::from(CRC_IEEE.checksum(database.as_bytes()))
}

/// Runs `migrations` on PostgreSQL as the module doc says.
pub(super) async fn run_postgres(
    pool: &AnyPool,
    migrations: &'static Migrator,
) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?;
    let database: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(&mut *conn)
        .await?;
    let key = lock_id(&database);
    loop {
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut *conn)
            .await?;
        if locked {
            break;
        }
        tokio::time::sleep(LOCK_RETRY).await;
    }
    let result = run_locked(&mut conn, migrations).await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(key)
        .execute(&mut *conn)
        .await;
    result?;
    unlocked?;
    Ok(())
}

async fn run_locked(
    conn: &mut sqlx::AnyConnection,
    migrations: &'static Migrator,
) -> Result<(), StoreError> {
    let invalid: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE NOT i.indisvalid AND n.nspname = current_schema()",
    )
    .fetch_all(&mut *conn)
    .await?;
    for name in invalid
        .iter()
        .filter(|name| CONCURRENT_INDEXES.contains(&name.as_str()))
    {
        tracing::warn!(index = %name, "an index build was cut short; it is built again");
        conn.execute(format!("DROP INDEX CONCURRENTLY IF EXISTS {name}").as_str())
            .await?;
    }
    let migrator = Migrator {
        migrations: Cow::Borrowed(&*migrations.migrations),
        ignore_missing: migrations.ignore_missing,
        locking: false,
        no_tx: migrations.no_tx,
    };
    let mut retries = 0;
    loop {
        match migrator.run(&mut *conn).await {
            Err(MigrateError::ExecuteMigration(sqlx::Error::Database(db), version))
                if db.code().is_some_and(|c| c == "55P03") && retries < LOCK_TIMEOUT_RETRIES =>
            {
                retries += 1;
                tracing::info!(
                    version,
                    retries,
                    "a migration waited too long for a lock; trying again"
                );
                tokio::time::sleep(LOCK_TIMEOUT_PAUSE).await;
            }
            other => return Ok(other?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_key_is_the_one_sqlx_takes() {
        // sqlx-postgres's generate_lock_id("test"): 0x3d32ad9e * crc32("test").
        assert_eq!(lock_id("test"), 0x3d32ad9e * 0xd87f7e0c_i64);
    }

    #[test]
    fn every_concurrent_index_build_is_alone_in_a_no_transaction_migration_and_listed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).expect("migrations") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read");
            let upper = text.to_uppercase();
            if !upper.contains("CONCURRENTLY") {
                continue;
            }
            assert!(
                text.starts_with("-- no-transaction"),
                "{}: CONCURRENTLY needs -- no-transaction",
                path.display()
            );
            let statements = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            assert_eq!(
                statements.matches(';').count(),
                statements.trim_end().ends_with(';') as usize,
                "{}: one statement only (a file of several is one transaction block)",
                path.display()
            );
            let name = statements
                .split_whitespace()
                .skip_while(|w| *w != "EXISTS")
                .nth(1)
                .expect("CREATE … INDEX CONCURRENTLY IF NOT EXISTS <name>");
            found.push(name.to_owned());
        }
        found.sort();
        let mut listed: Vec<String> = CONCURRENT_INDEXES.iter().map(|s| (*s).to_owned()).collect();
        listed.sort();
        assert_eq!(found, listed);
    }
}
