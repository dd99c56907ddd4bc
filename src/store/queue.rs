//! The queue of refunds never sent (DESIGN §17), in the refunds table: a `pending` refund
//! with a `queued_at` has never reached its provider. Its rows are claimed for the drain
//! with a lease, oldest first (`FOR UPDATE SKIP LOCKED` on PostgreSQL; the single writer
//! on SQLite), exactly like the sync queue (`work.rs`).
//!
//! The lease only keeps two processes from *working* on the same rows; what makes a queued
//! refund go out exactly once is the version-guarded change that takes it off the queue
//! (`Change::queue = Some(None)`, decided on the refund as it is): of two processes (or a
//! drain and a merchant's cancel) only one can make it, and only that one sends it.

use rusqlite::params;
use sqlx::Row;

use refund_provider::RefundId;

use super::writer::sqlite_error;
use super::{prepare, Store, StoreError};

/// One provider account's queue, as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueueStat {
    pub(crate) provider: String,
    pub(crate) account: String,
    pub(crate) depth: i64,
    pub(crate) oldest_queued_at: i64,
}

const QUEUE_STATS: &str = "SELECT provider, account, COUNT(*) AS depth, MIN(queued_at) AS oldest \
     FROM refunds WHERE queued_at IS NOT NULL AND status = 'pending' \
     GROUP BY provider, account ORDER BY provider, account";

const CLAIM_QUEUED: &str = "UPDATE refunds SET lease_until = $3 WHERE id IN (\
     SELECT id FROM refunds \
     WHERE provider = $4 AND account = $5 AND queued_at IS NOT NULL AND queued_at < $6 \
       AND status = 'pending' AND (lease_until IS NULL OR lease_until <= $1) \
     ORDER BY queued_at, id LIMIT $2{lock}) RETURNING id, queued_at";

impl Store {
    /// Every provider account with refunds in its queue: how many, and since when.
    pub(crate) async fn queue_stats(&self) -> Result<Vec<QueueStat>, StoreError> {
        let rows = sqlx::query(QUEUE_STATS).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(QueueStat {
                    provider: row.try_get("provider")?,
                    account: row.try_get("account")?,
                    depth: row.try_get("depth")?,
                    oldest_queued_at: row.try_get("oldest")?,
                })
            })
            .collect()
    }

    /// Claims up to `limit` refunds of one account's queue that joined it before
    /// `queued_before`, oldest first, leasing them until `lease_until`.
    pub(crate) async fn claim_queued(
        &self,
        provider: &str,
        account: &str,
        queued_before: i64,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<RefundId>, StoreError> {
        let sql = CLAIM_QUEUED.replace(
            "{lock}",
            if self.sqlite.is_some() {
                ""
            } else {
                " FOR UPDATE SKIP LOCKED"
            },
        );
        let (provider, account) = (provider.to_owned(), account.to_owned());
        let mut claimed: Vec<(String, i64)> = if let Some(writer) = &self.sqlite {
            writer
                .write(move |conn| {
                    let mut statement = prepare(conn, &sql)?;
                    let rows = statement
                        .query_map(
                            params![now, limit, lease_until, provider, account, queued_before],
                            |row| Ok((row.get(0)?, row.get(1)?)),
                        )
                        .map_err(sqlite_error)?
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(sqlite_error)?;
                    let wrote = !rows.is_empty();
                    Ok((rows, wrote))
                })
                .await?
        } else {
            let rows = sqlx::query(&sql)
                .bind(now)
                .bind(limit)
                .bind(lease_until)
                .bind(provider)
                .bind(account)
                .bind(queued_before)
                .fetch_all(&self.pool)
                .await?;
            rows.iter()
                .map(|row| Ok((row.try_get("id")?, row.try_get("queued_at")?)))
                .collect::<Result<Vec<_>, StoreError>>()?
        };
        // RETURNING does not keep the subquery's order.
        claimed.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
        claimed
            .iter()
            .map(|(id, _)| RefundId::parse(id).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect()
    }
}
