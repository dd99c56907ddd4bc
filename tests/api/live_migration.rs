//! Migrations a live table survives (PostgreSQL, issue 22): the release's migrations run on
//! a `refunds` table of the previous release's schema holding many refunds while writers
//! keep creating and updating refunds and a long report holds the table, and no write waits
//! more than 1 s. Then every product query is planned on that large table without reading
//! all of `refunds`.
//!
//! CI runs 50,000 rows; `cargo test --test api a_million -- --ignored --nocapture` runs
//! 1,000,000 (what the README reports).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::{AnyPool, Row};

use refund_gateway::store::Store;

/// The migrations of the previous release (everything before 0008) in a folder of their own.
fn previous_release_migrations() -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let target = std::env::temp_dir().join(format!(
        "refund-gateway-previous-migrations-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&target).expect("temp dir");
    for entry in std::fs::read_dir(&source).expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name < "0008" {
            std::fs::copy(&path, target.join(name)).expect("copy");
        }
    }
    target
}

/// `count` settled refunds, one in ten with a merchant reference, created over 30 days.
async fn fill(pool: &AnyPool, count: i64) {
    let mut from = 1;
    while from <= count {
        let to = (from + 99_999).min(count);
        sqlx::query(
            "INSERT INTO refunds (id, merchant_id, provider, provider_refund_id, provider_reference, \
               payment_id, amount, amount_minor, currency, status, reference, created_at, updated_at) \
             SELECT 'rf_' || lpad(to_hex(t), 12, '0') || '70008' || lpad(to_hex(i), 15, '0'), \
               'm' || (i % 20), 'efundpay', 'prov-' || i, 'ref-' || i, 'pay-' || i, '12.99', 1299, 'EUR', \
               'succeeded', CASE WHEN i % 10 = 0 THEN 'merchant-ref-' || i END, t, t \
             FROM (SELECT i, 1700000000000 + i * 2000 AS t FROM generate_series($1::bigint, $2::bigint) AS g(i)) AS g",
        )
        .bind(from)
        .bind(to)
        .execute(pool)
        .await
        .expect("fill");
        from = to + 1;
    }
    sqlx::query("ANALYZE refunds")
        .execute(pool)
        .await
        .expect("analyze");
}

/// What the writers saw.
#[derive(Debug, Default)]
struct Writes {
    count: AtomicU64,
    /// The longest single statement, in microseconds.
    longest_us: AtomicU64,
}

/// Creates and settles refunds as the store does (insert, history line, status update), one
/// statement at a time, until `stop`; every statement's time goes into `writes`.
async fn write_until(pool: AnyPool, writer: usize, stop: Arc<AtomicBool>, writes: Arc<Writes>) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let id = format!(
            "rf_{:012x}7000{:01x}{:015x}",
            1_800_000_000_000u64 + n,
            8 + writer,
            n
        );
        let timed = |started: Instant| {
            let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            writes.longest_us.fetch_max(us, Ordering::Relaxed);
        };
        let started = Instant::now();
        sqlx::query(
            "INSERT INTO refunds (id, merchant_id, provider, provider_reference, payment_id, amount, \
               amount_minor, currency, status, reference, created_at, updated_at) \
             VALUES ($1, 'live', 'efundpay', $1, $1, '1.00', 100, 'EUR', 'pending', \
               CASE WHEN $2 % 3 = 0 THEN $1 END, $2, $2)",
        )
        .bind(&id)
        .bind(i64::try_from(n).unwrap_or(0))
        .execute(&pool)
        .await
        .expect("insert");
        timed(started);
        let started = Instant::now();
        sqlx::query(
            "INSERT INTO refund_events (refund_id, kind, status, source, created_at) \
             VALUES ($1, 'created', 'pending', 'api', 0)",
        )
        .bind(&id)
        .execute(&pool)
        .await
        .expect("event");
        timed(started);
        let started = Instant::now();
        sqlx::query("UPDATE refunds SET status = 'succeeded', version = version + 1 WHERE id = $1")
            .bind(&id)
            .execute(&pool)
            .await
            .expect("update");
        timed(started);
        writes.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// `EXPLAIN` of `sql`, one line.
async fn plan(pool: &AnyPool, sql: &str) -> String {
    let rows = sqlx::query(&format!("EXPLAIN {sql}"))
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("EXPLAIN {sql}: {e}"));
    rows.iter()
        .map(|row| row.try_get::<String, _>(0).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Every query of the product that reads refunds by a key, as the store sends it (with
/// literals), and the index its plan must use (`|` between equally good ones: a merchant's
/// newest refunds may be read from the primary key backwards when the merchant has many).
const PRODUCT_QUERIES: &[(&str, &str, &str)] = &[
    (
        "a merchant's list, newest first",
        "SELECT id FROM refunds WHERE merchant_id = 'm7' ORDER BY id DESC LIMIT 21",
        "refunds_by_merchant|refunds_pkey",
    ),
    (
        "the list with filters and a cursor",
        "SELECT id FROM refunds WHERE merchant_id = 'm7' AND provider = 'efundpay' AND status = 'succeeded' \
         AND currency = 'EUR' AND created_at >= 1700000000000 AND id < 'rf_0190000000007000' ORDER BY id DESC LIMIT 21",
        "refunds_by_merchant|refunds_pkey",
    ),
    (
        "the list by payment",
        "SELECT id FROM refunds WHERE merchant_id = 'm7' AND payment_id = 'pay-77' ORDER BY id DESC LIMIT 21",
        "refunds_by_payment_account",
    ),
    (
        "the list by reference",
        "SELECT id FROM refunds WHERE merchant_id = 'm0' AND reference = 'merchant-ref-40' ORDER BY id DESC LIMIT 21",
        "refunds_reference_once",
    ),
    (
        "a provider webhook's refund",
        "SELECT id FROM refunds r WHERE r.provider = 'efundpay' AND r.provider_reference = 'ref-77'",
        "refunds_provider_provider_reference_key",
    ),
    (
        "statement matching by the provider's id",
        "SELECT id FROM refunds WHERE provider = 'efundpay' AND provider_refund_id IN ('prov-1', 'prov-2')",
        "refunds_by_provider_refund_id",
    ),
    (
        "the refundable amount's count",
        "SELECT COUNT(*) FROM refunds WHERE provider = 'efundpay' AND account = 'default' \
         AND payment_id = 'pay-77' AND status IN ('pending', 'processing', 'succeeded')",
        "refunds_by_payment_account",
    ),
    (
        "a payment's refunds",
        "SELECT id FROM refunds WHERE ('' = '' OR merchant_id = '') AND payment_id = 'pay-77' ORDER BY id LIMIT 100",
        "refunds_by_payment_account",
    ),
    (
        "the sync worker's due claim",
        "SELECT id FROM refunds WHERE next_sync_at IS NOT NULL AND next_sync_at <= 1800000000000 \
         AND status IN ('pending', 'processing') AND (lease_until IS NULL OR lease_until <= 1800000000000) \
         ORDER BY next_sync_at LIMIT 50 FOR UPDATE SKIP LOCKED",
        "refunds_due_for_sync",
    ),
    (
        "the summary and export of a day",
        "SELECT provider, currency, status, COUNT(*) FROM refunds WHERE ('m7' = '' OR merchant_id = 'm7') \
         AND created_at >= 1700100000000 AND created_at < 1700186400000 GROUP BY provider, currency, status",
        "refunds_by_created",
    ),
    (
        "a refund by id",
        "SELECT id FROM refunds WHERE id = 'rf_018bcfe5680070008000000000000001'",
        "refunds_pkey",
    ),
];

async fn run(rows: i64) {
    let Some(url) = refund_test_support::fresh_postgres_database().await else {
        return;
    };
    sqlx::any::install_default_drivers();
    let pool = AnyPool::connect(&url).await.expect("connect");
    sqlx::migrate::Migrator::new(previous_release_migrations())
        .await
        .expect("previous migrations")
        .run(&pool)
        .await
        .expect("the previous release's schema");
    let filled = Instant::now();
    fill(&pool, rows).await;
    println!(
        "live migration: {rows} refunds written in {:.1} s",
        filled.elapsed().as_secs_f64()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(Writes::default());
    let writers: Vec<_> = (0..4)
        .map(|w| tokio::spawn(write_until(pool.clone(), w, stop.clone(), writes.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A long report holds the table (ACCESS SHARE) while the migrations start: a migration
    // waiting behind it for a strong lock must not hold the writers up.
    let report = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut tx = pool.begin().await.expect("begin");
            sqlx::query("SELECT COUNT(*) FROM refunds")
                .execute(&mut *tx)
                .await
                .expect("report");
            sqlx::query("SELECT pg_sleep(2)")
                .execute(&mut *tx)
                .await
                .expect("sleep");
            tx.commit().await.expect("commit");
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let migrating = Instant::now();
    let store = Store::connect(&url, 2)
        .await
        .expect("this release's migrations");
    let took = migrating.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.expect("writer");
    }
    report.await.expect("report");
    let longest = Duration::from_micros(writes.longest_us.load(Ordering::Relaxed));
    println!(
        "live migration: migrations took {:.1} s on {rows} refunds; {} refunds written meanwhile, \
         the longest write statement took {:.0} ms",
        took.as_secs_f64(),
        writes.count.load(Ordering::Relaxed),
        longest.as_secs_f64() * 1000.0
    );
    assert!(
        longest < Duration::from_secs(1),
        "a write waited {longest:?}"
    );
    assert!(writes.count.load(Ordering::Relaxed) > 0);

    let valid: bool = sqlx::query_scalar(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE c.relname = 'refunds_reference_once'",
    )
    .fetch_one(store.pool())
    .await
    .expect("the new index exists");
    assert!(valid);
    let old: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_class WHERE relname IN ('refunds_merchant_id_reference_key', 'refunds_by_payment')",
    )
    .fetch_one(store.pool())
    .await
    .expect("old indexes");
    assert_eq!(old, 0, "the replaced indexes are gone");
    // The reference stays unique per merchant.
    let duplicate = sqlx::query(
        "INSERT INTO refunds (id, merchant_id, provider, provider_reference, payment_id, currency, \
           status, reference, created_at, updated_at) \
         VALUES ('rf_ffffffffffff70008000000000000001', 'm0', 'efundpay', 'dup', 'dup', 'EUR', \
           'pending', 'merchant-ref-40', 0, 0)",
    )
    .execute(store.pool())
    .await;
    assert!(duplicate.is_err(), "a merchant's reference is still unique");

    sqlx::query("ANALYZE refunds")
        .execute(store.pool())
        .await
        .expect("analyze");
    for (what, sql, index) in PRODUCT_QUERIES {
        let plan = plan(store.pool(), sql).await;
        println!("{what}: {plan}");
        assert!(
            index.split('|').any(|index| plan.contains(index)),
            "{what} should use {index}: {plan}"
        );
        assert!(
            !plan.contains("Seq Scan on refunds"),
            "{what} reads every refund: {plan}"
        );
    }
    store.close().await;
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_run_on_a_live_refunds_table_without_holding_writes_up() {
    run(50_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "fills a million refunds (minutes); run by hand with --ignored --nocapture"]
async fn migrations_run_on_a_million_live_refunds_without_holding_writes_up() {
    run(1_000_000).await;
}
