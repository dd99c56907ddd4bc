//! Work queues in the database: refunds due for a status query and merchant events due for
//! delivery. Rows are claimed with a lease so two gateway processes never work on the same
//! row at once (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the claim runs inside a
//! `BEGIN IMMEDIATE` transaction, which already serialises writers). A crashed worker's
//! leases simply expire.

use sqlx::Row;

use refund_provider::RefundId;

use super::{Backend, Store, StoreError};

/// A merchant event claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub event_id: String,
    pub merchant_id: String,
    pub refund_id: String,
    pub event_type: String,
    pub payload: String,
    pub created_at: i64,
    pub attempts: i64,
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Delivered { status: u16 },
    Retry { error: String, next_attempt_at: i64 },
    GaveUp { error: String },
}

impl Store {
    /// Claims up to `limit` open refunds whose next status query is due, leasing them until
    /// `lease_until`.
    pub async fn claim_due_refunds(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<RefundId>, StoreError> {
        let select = "SELECT id FROM refunds \
             WHERE next_sync_at IS NOT NULL AND next_sync_at <= $1 \
               AND status IN ('pending', 'processing') \
               AND (lease_until IS NULL OR lease_until <= $1) \
             ORDER BY next_sync_at LIMIT $2";
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(&format!(
            "UPDATE refunds SET lease_until = $3 WHERE id IN ({select}{lock}) RETURNING id"
        ))
        .bind(now)
        .bind(limit)
        .bind(lease_until)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                RefundId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// Claims up to `limit` undelivered merchant events that are due, at most the oldest one
    /// per refund so each refund's events are delivered in order.
    pub async fn claim_due_outbox(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let select = "SELECT id FROM outbox o \
             WHERE o.delivered_at IS NULL AND o.gave_up_at IS NULL AND o.next_attempt_at <= $1 \
               AND (o.lease_until IS NULL OR o.lease_until <= $1) \
               AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.refund_id = o.refund_id \
                               AND e.delivered_at IS NULL AND e.gave_up_at IS NULL AND e.id < o.id) \
             ORDER BY o.id LIMIT $2";
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(&format!(
            "UPDATE outbox SET lease_until = $3 WHERE id IN ({select}{lock}) \
             RETURNING id, event_id, merchant_id, refund_id, event_type, payload, created_at, attempts"
        ))
        .bind(now)
        .bind(limit)
        .bind(lease_until)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                Ok(OutboxRow {
                    id: row.try_get("id")?,
                    event_id: row.try_get("event_id")?,
                    merchant_id: row.try_get("merchant_id")?,
                    refund_id: row.try_get("refund_id")?,
                    event_type: row.try_get("event_type")?,
                    payload: row.try_get("payload")?,
                    created_at: row.try_get("created_at")?,
                    attempts: row.try_get("attempts")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        claimed.sort_by_key(|row| row.id);
        Ok(claimed)
    }

    /// Records a delivery attempt and its line in the refund's history, together.
    pub async fn record_delivery(
        &self,
        row: &OutboxRow,
        outcome: &Delivery,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let (delivered_at, next_attempt_at, error, detail) = match outcome {
            Delivery::Delivered { status } => (
                Some(now),
                None,
                None,
                serde_json::json!({"event_id": row.event_id, "event_type": row.event_type, "attempt": row.attempts + 1, "result": "delivered", "http_status": status}),
            ),
            Delivery::Retry {
                error,
                next_attempt_at,
            } => (
                None,
                Some(*next_attempt_at),
                Some(error.clone()),
                serde_json::json!({"event_id": row.event_id, "event_type": row.event_type, "attempt": row.attempts + 1, "result": "retry", "error": error}),
            ),
            Delivery::GaveUp { error } => (
                None,
                None,
                Some(error.clone()),
                serde_json::json!({"event_id": row.event_id, "event_type": row.event_type, "attempt": row.attempts + 1, "result": "gave_up", "error": error}),
            ),
        };
        let gave_up_at = matches!(outcome, Delivery::GaveUp { .. }).then_some(now);
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, delivered_at = $1, gave_up_at = $2, \
             next_attempt_at = $3, last_error = $4, lease_until = NULL WHERE id = $5",
        )
        .bind(delivered_at)
        .bind(gave_up_at)
        .bind(next_attempt_at.unwrap_or(now))
        .bind(error)
        .bind(row.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO refund_events (refund_id, kind, status, previous_status, source, detail, created_at) \
             VALUES ($1, 'webhook_delivery', NULL, NULL, 'outbox', $2, $3)",
        )
        .bind(&row.refund_id)
        .bind(detail.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
