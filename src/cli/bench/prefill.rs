//! `bench --prefill N`: a store that already holds N settled refunds before the load starts,
//! with what each leaves behind in a real store: its row, its payment, three history lines
//! (created, processing, succeeded), its webhook receipt, two ledger lines, and an
//! idempotency key when it is younger than a day (older ones are past their retention and
//! purged). Their creation times spread over the last 30 days (inside every retention, so
//! the housekeeping worker deletes nothing meanwhile) and their ids are time-ordered like real
//! ones. Written by set-based SQL in chunks (`generate_series` on PostgreSQL, a recursive CTE
//! on SQLite) through the gateway's own migrations' schema.

use sqlx::{AnyPool, Executor};

/// Refunds written per statement.
const CHUNK: u64 = 100_000;
/// The period the prefilled refunds were created over.
const SPREAD_MS: i64 = 30 * 24 * 3600 * 1000;
/// Idempotency keys live a day (the default retention).
const KEY_RETENTION_MS: i64 = 24 * 3600 * 1000;

/// Which SQL dialect writes the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Rows `i` in `[$1, $2]` with `t`, the creation time (`$3` now, `$4` refunds in all,
    /// `$5` ms between two refunds) and `id`, a time-ordered refund id.
    fn series(self) -> &'static str {
        match self {
            Self::Postgres => {
                "SELECT i, t, 'rf_' || lpad(to_hex(t), 12, '0') || '70008' || lpad(to_hex(i), 15, '0') AS id \
                 FROM (SELECT i, $3::bigint - ($4::bigint - i) * $5::bigint AS t \
                       FROM generate_series($1::bigint, $2::bigint) AS g(i)) AS g"
            }
            Self::Sqlite => {
                "SELECT i, t, printf('rf_%012x70008%015x', t, i) AS id \
                 FROM (WITH RECURSIVE n(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM n WHERE i < $2) \
                       SELECT i, $3 - ($4 - i) * $5 AS t FROM n)"
            }
        }
    }
}

/// The statements that write one chunk, each taking the series' five parameters (and the
/// provider as `$6`, the key's stored answer as `$7`).
fn statements(dialect: Dialect) -> Vec<String> {
    let s = dialect.series();
    vec![
        format!(
            "INSERT INTO refunds (id, merchant_id, provider, account, provider_refund_id, provider_reference, \
               payment_id, amount, amount_minor, currency, status, reason, metadata, provider_options, breakdown, \
               requires_attention, idempotency_key, version, created_at, updated_at, next_sync_at, sync_attempts) \
             SELECT id, 'bench', $6, 'default', 'prefill-prov-' || i, 'prefill-' || i, 'prefill-pay-' || i, \
               '12.99', 1299, 'EUR', 'succeeded', 'Product return', '{{}}', 'null', '[]', 0, 'prefill-' || i, 2, \
               t, t + 200, NULL, 0 FROM ({s}) AS s"
        ),
        format!(
            "INSERT INTO payments (provider, account, payment_id, merchant_id, currency, amount_minor, created_at, updated_at) \
             SELECT $6, 'default', 'prefill-pay-' || i, 'bench', 'EUR', NULL, t, t FROM ({s}) AS s"
        ),
        format!(
            "INSERT INTO refund_events (refund_id, kind, status, previous_status, source, detail, created_at) \
             SELECT id, 'created', 'pending', NULL, 'api', '{{}}', t FROM ({s}) AS s"
        ),
        format!(
            "INSERT INTO refund_events (refund_id, kind, status, previous_status, source, detail, created_at) \
             SELECT id, 'status_changed', 'processing', 'pending', 'provider', '{{}}', t + 1 FROM ({s}) AS s"
        ),
        format!(
            "INSERT INTO refund_events (refund_id, kind, status, previous_status, source, detail, created_at) \
             SELECT id, 'status_changed', 'succeeded', 'processing', 'webhook', '{{}}', t + 200 FROM ({s}) AS s"
        ),
        format!(
            "INSERT INTO webhook_receipts (provider, account, event_id, refund_id, received_at) \
             SELECT $6, 'default', 'prefill-evt-' || i, id, t + 200 FROM ({s}) AS s"
        ),
        format!(
            "INSERT INTO ledger_entries (refund_id, entry_kind, account, currency, amount_minor, created_at) \
             SELECT id, 'refund_succeeded', 'merchant:bench:refund_expense:EUR', 'EUR', 1299, t + 200 FROM ({s}) AS s"
        ),
        format!(
            "INSERT INTO ledger_entries (refund_id, entry_kind, account, currency, amount_minor, created_at) \
             SELECT id, 'refund_succeeded', 'provider:' || $6 || ':clearing:EUR', 'EUR', -1299, t + 200 FROM ({s}) AS s"
        ),
        format!(
            "INSERT INTO idempotency_keys (merchant_id, idem_key, fingerprint, refund_id, response_status, response_body, created_at, expires_at) \
             SELECT 'bench', 'prefill-' || i, 'prefill', id, 201, $7, t, t + {KEY_RETENTION_MS} FROM ({s}) AS s \
             WHERE t + {KEY_RETENTION_MS} > $3"
        ),
    ]
}

/// Writes `count` settled refunds of `provider` into the (migrated, idle) store at `pool`.
pub(crate) async fn prefill(
    pool: &AnyPool,
    dialect: Dialect,
    provider: &str,
    count: u64,
) -> Result<(), sqlx::Error> {
    if count == 0 {
        return Ok(());
    }
    let now = crate::store::now_ms();
    let total = i64::try_from(count).unwrap_or(i64::MAX);
    let step = (SPREAD_MS / total).max(1);
    // A stored answer of a refund object's usual size.
    let answer = format!("{{\"object\":\"refund\",\"pad\":\"{}\"}}", "x".repeat(900));
    let statements = statements(dialect);
    let mut from = 1u64;
    while from <= count {
        let to = (from + CHUNK - 1).min(count);
        let mut tx = pool.begin().await?;
        for sql in &statements {
            sqlx::query(sql)
                .bind(i64::try_from(from).unwrap_or(i64::MAX))
                .bind(i64::try_from(to).unwrap_or(i64::MAX))
                .bind(now)
                .bind(total)
                .bind(step)
                .bind(provider)
                .bind(&answer)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        eprintln!("prefill: {to} of {count} refunds");
        from = to + 1;
    }
    if dialect == Dialect::Postgres {
        // What autovacuum would have done long ago in a store that grew to this size.
        pool.execute("VACUUM (ANALYZE)").await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_prefilled_sqlite_store_holds_every_row_of_its_settled_refunds() {
        let dir = refund_test_support::temp_dir("refund-gateway-prefill-");
        let url = refund_test_support::sqlite_url(&dir);
        let store = crate::store::Store::connect(&url, 2).await.expect("store");
        prefill(store.pool(), Dialect::Sqlite, "efundpay", 2_500)
            .await
            .expect("prefill");
        let count = |sql: &'static str| {
            let pool = store.pool().clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(&pool)
                    .await
                    .expect(sql)
            }
        };
        assert_eq!(count("SELECT COUNT(*) FROM refunds").await, 2_500);
        assert_eq!(count("SELECT COUNT(*) FROM payments").await, 2_500);
        assert_eq!(count("SELECT COUNT(*) FROM refund_events").await, 7_500);
        assert_eq!(count("SELECT COUNT(*) FROM ledger_entries").await, 5_000);
        assert_eq!(count("SELECT COUNT(*) FROM webhook_receipts").await, 2_500);
        let keys = count("SELECT COUNT(*) FROM idempotency_keys").await;
        assert!((50..=120).contains(&keys), "a day of 30: {keys}");
        // Every id is a refund id the API accepts, and they sort by creation time.
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM refunds ORDER BY created_at")
            .fetch_all(store.pool())
            .await
            .expect("ids");
        assert!(ids
            .iter()
            .all(|id| refund_provider::RefundId::parse(id).is_ok()));
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
