//! Work queues in the database: refunds due for a status query and merchant events due for
//! delivery. Rows are claimed with a lease so two gateway processes never work on the same
//! row at once (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the single writer thread
//! serializes claims). A crashed worker's leases simply expire.
//!
//! A claim leases a whole batch, but a batch can take longer than one lease (a slow provider
//! times out on every refund of it): so before working on each row the worker renews that
//! row's lease with [`Store::renew_lease`], which succeeds only while the lease it took is
//! still its own and unexpired. A row whose lease ran out is skipped (another process may
//! have claimed it meanwhile) and comes back in a later claim.

use rusqlite::params;
use sqlx::Row;

use refund_provider::RefundId;

use super::writer::sqlite_error;
use super::{prepare, Bind, Store, StoreError};
use crate::domain::{MerchantEventType, Stored};

/// A merchant event claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutboxRow {
    pub(crate) id: i64,
    pub(crate) event_id: String,
    pub(crate) merchant_id: String,
    pub(crate) refund_id: String,
    pub(crate) event_type: Stored<MerchantEventType>,
    pub(crate) payload: String,
    pub(crate) created_at: i64,
    pub(crate) attempts: i64,
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delivery {
    Delivered { status: u16 },
    Retry { error: String, next_attempt_at: i64 },
    GaveUp { error: String },
}

/// A table whose rows are leased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// `refunds` due for a status query, by refund id.
    Sync,
    /// `outbox` events due for delivery, by row id.
    Outbox,
}

const CLAIM_REFUNDS: &str = "UPDATE refunds SET lease_until = $3 WHERE id IN (\
     SELECT id FROM refunds \
     WHERE next_sync_at IS NOT NULL AND next_sync_at <= $1 \
       AND status IN ('pending', 'processing') \
       AND (lease_until IS NULL OR lease_until <= $1) \
     ORDER BY next_sync_at LIMIT $2{lock}) RETURNING id";

const CLAIM_OUTBOX: &str = "UPDATE outbox SET lease_until = $3 WHERE id IN (\
     SELECT id FROM outbox o \
     WHERE o.delivered_at IS NULL AND o.gave_up_at IS NULL AND o.next_attempt_at <= $1 \
       AND (o.lease_until IS NULL OR o.lease_until <= $1) \
       AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.refund_id = o.refund_id \
                       AND e.delivered_at IS NULL AND e.gave_up_at IS NULL AND e.id < o.id) \
     ORDER BY o.id LIMIT $2{lock}) \
     RETURNING id, event_id, merchant_id, refund_id, event_type, payload, created_at, attempts";

const RECORD_DELIVERY: &str = "UPDATE outbox SET attempts = attempts + 1, delivered_at = $1, \
     gave_up_at = $2, next_attempt_at = $3, last_error = $4, lease_until = NULL WHERE id = $5";

const DELIVERY_EVENT: &str = "INSERT INTO refund_events (refund_id, kind, status, previous_status, source, detail, created_at) \
     VALUES ($1, 'webhook_delivery', NULL, NULL, 'outbox', $2, $3)";

impl Store {
    /// The claim statement for this backend (`FOR UPDATE SKIP LOCKED` on PostgreSQL).
    fn claim_sql(&self, template: &str) -> String {
        let lock = if self.sqlite.is_some() {
            ""
        } else {
            " FOR UPDATE SKIP LOCKED"
        };
        template.replace("{lock}", lock)
    }

    /// Claims up to `limit` open refunds whose next status query is due, leasing them until
    /// `lease_until`.
    pub async fn claim_due_refunds(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<RefundId>, StoreError> {
        let sql = self.claim_sql(CLAIM_REFUNDS);
        let ids: Vec<String> = if let Some(writer) = &self.sqlite {
            writer
                .write(move |conn| {
                    let mut statement = prepare(conn, &sql)?;
                    let ids = statement
                        .query_map(params![now, limit, lease_until], |row| row.get(0))
                        .map_err(sqlite_error)?
                        .collect::<Result<Vec<String>, _>>()
                        .map_err(sqlite_error)?;
                    Ok((ids, true))
                })
                .await?
        } else {
            sqlx::query_scalar(&sql)
                .bind(now)
                .bind(limit)
                .bind(lease_until)
                .fetch_all(&self.pool)
                .await?
        };
        let mut ids = ids
            .iter()
            .map(|id| RefundId::parse(id).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Claims up to `limit` undelivered merchant events that are due, at most the oldest one
    /// per refund so each refund's events are delivered in order.
    pub(crate) async fn claim_due_outbox(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let mut sql = self.claim_sql(CLAIM_OUTBOX);
        if crate::faults::Faults::on(&self.faults.outbox_unordered) {
            // A planted bug (`crate::faults`): a refund's later event does not wait.
            sql = sql.replace("WHERE e.refund_id = o.refund_id", "WHERE FALSE");
        }
        let mut claimed = if let Some(writer) = &self.sqlite {
            writer
                .write(move |conn| {
                    let mut statement = prepare(conn, &sql)?;
                    let rows = statement
                        .query_map(params![now, limit, lease_until], |row| {
                            Ok(OutboxRow {
                                id: row.get(0)?,
                                event_id: row.get(1)?,
                                merchant_id: row.get(2)?,
                                refund_id: row.get(3)?,
                                event_type: Stored::read(row.get(4)?),
                                payload: row.get(5)?,
                                created_at: row.get(6)?,
                                attempts: row.get(7)?,
                            })
                        })
                        .map_err(sqlite_error)?
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(sqlite_error)?;
                    Ok((rows, true))
                })
                .await?
        } else {
            let rows = sqlx::query(&sql)
                .bind(now)
                .bind(limit)
                .bind(lease_until)
                .fetch_all(&self.pool)
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(OutboxRow {
                        id: row.try_get("id")?,
                        event_id: row.try_get("event_id")?,
                        merchant_id: row.try_get("merchant_id")?,
                        refund_id: row.try_get("refund_id")?,
                        event_type: Stored::read(row.try_get("event_type")?),
                        payload: row.try_get("payload")?,
                        created_at: row.try_get("created_at")?,
                        attempts: row.try_get("attempts")?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?
        };
        claimed.sort_by_key(|row| row.id);
        Ok(claimed)
    }

    /// Renews the lease of one claimed row, from `held_until` (what the claim set) to
    /// `until`, only if it is still that lease and unexpired at `now`: `false` means the
    /// row is no longer this worker's to work on (skip it).
    pub async fn renew_lease(
        &self,
        queue: Queue,
        id: &str,
        held_until: i64,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let (table, key) = match queue {
            Queue::Sync => ("refunds", Bind::Text(Some(id.to_owned()))),
            Queue::Outbox => (
                "outbox",
                Bind::Int(Some(id.parse().map_err(|_| {
                    StoreError::Corrupt(format!("outbox row id `{id}`"))
                })?)),
            ),
        };
        let renewed = self
            .write_statement(
                format!(
                    "UPDATE {table} SET lease_until = $1 \
                     WHERE id = $2 AND lease_until = $3 AND lease_until > $4"
                ),
                vec![
                    Bind::Int(Some(until)),
                    key,
                    Bind::Int(Some(held_until)),
                    Bind::Int(Some(now)),
                ],
            )
            .await?;
        Ok(renewed == 1)
    }

    /// Records a delivery attempt and its line in the refund's history, together.
    pub(crate) async fn record_delivery(
        &self,
        row: &OutboxRow,
        outcome: &Delivery,
        now: i64,
    ) -> Result<(), StoreError> {
        let attempt = row.attempts + 1;
        let (delivered_at, next_attempt_at, error, detail) = match outcome {
            Delivery::Delivered { status } => (
                Some(now),
                None,
                None,
                serde_json::json!({"event_id": row.event_id, "event_type": row.event_type, "attempt": attempt, "result": "delivered", "http_status": status}),
            ),
            Delivery::Retry {
                error,
                next_attempt_at,
            } => (
                None,
                Some(*next_attempt_at),
                Some(error.clone()),
                serde_json::json!({"event_id": row.event_id, "event_type": row.event_type, "attempt": attempt, "result": "retry", "error": error}),
            ),
            Delivery::GaveUp { error } => (
                None,
                None,
                Some(error.clone()),
                serde_json::json!({"event_id": row.event_id, "event_type": row.event_type, "attempt": attempt, "result": "gave_up", "error": error}),
            ),
        };
        let gave_up_at = matches!(outcome, Delivery::GaveUp { .. }).then_some(now);
        let next_attempt_at = next_attempt_at.unwrap_or(now);
        let (id, refund_id, detail) = (row.id, row.refund_id.clone(), detail.to_string());
        if let Some(writer) = &self.sqlite {
            return writer
                .write(move |conn| {
                    prepare(conn, RECORD_DELIVERY)?
                        .execute(params![
                            delivered_at,
                            gave_up_at,
                            next_attempt_at,
                            error,
                            id
                        ])
                        .map_err(sqlite_error)?;
                    prepare(conn, DELIVERY_EVENT)?
                        .execute(params![refund_id, detail, now])
                        .map_err(sqlite_error)?;
                    Ok(((), true))
                })
                .await;
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(RECORD_DELIVERY)
            .bind(delivered_at)
            .bind(gave_up_at)
            .bind(next_attempt_at)
            .bind(error)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(DELIVERY_EVENT)
            .bind(refund_id)
            .bind(detail)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
