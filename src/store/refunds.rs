//! Refund rows through the sqlx pool: the reads (by id, merchant-scoped, by provider
//! reference, lists, history) and the inserts the PostgreSQL create step shares.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use refund_provider::RefundId;

use super::records::EventRecord;
use super::{Bind, ListFilter, Store, StoreError};
use crate::domain::refund_object::{merchant_event, new_event_id};
use crate::domain::{RefundRecord, RefundStatus, Stored};

pub(super) const REFUND_COLUMNS: &str =
    "id, merchant_id, provider, account, provider_refund_id, provider_reference, \
    payment_id, amount, amount_minor, currency, status, failure_code, failure_message, reason, \
    reference, customer_id, metadata, provider_options, breakdown, requires_attention, \
    idempotency_key, version, created_at, updated_at, next_sync_at, sync_attempts, \
    pending_reason, queued_at";

fn json_column(row: &AnyRow, name: &str) -> Result<serde_json::Value, StoreError> {
    let text: String = row.try_get(name)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))
}

pub(super) fn refund_from_row(row: &AnyRow) -> Result<RefundRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let status: String = row.try_get("status")?;
    Ok(RefundRecord {
        id: RefundId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        merchant_id: row.try_get("merchant_id")?,
        provider: row.try_get("provider")?,
        account: row.try_get("account")?,
        provider_refund_id: row.try_get("provider_refund_id")?,
        provider_reference: row.try_get("provider_reference")?,
        payment_id: row.try_get("payment_id")?,
        amount: row.try_get("amount")?,
        amount_minor: row.try_get("amount_minor")?,
        currency: row.try_get("currency")?,
        status: RefundStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown status {status}")))?,
        failure_code: row
            .try_get::<Option<String>, _>("failure_code")?
            .map(Stored::read),
        failure_message: row.try_get("failure_message")?,
        reason: row.try_get("reason")?,
        reference: row.try_get("reference")?,
        customer_id: row.try_get("customer_id")?,
        metadata: json_column(row, "metadata")?,
        provider_options: json_column(row, "provider_options")?,
        breakdown: json_column(row, "breakdown")?,
        requires_attention: row.try_get::<i64, _>("requires_attention")? != 0,
        idempotency_key: row.try_get("idempotency_key")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        next_sync_at: row.try_get("next_sync_at")?,
        sync_attempts: row.try_get("sync_attempts")?,
        pending_reason: row
            .try_get::<Option<String>, _>("pending_reason")?
            .map(Stored::read),
        queued_at: row.try_get("queued_at")?,
    })
}

/// Inserts a new refund row (a unique key taken is an `Unavailable` unique violation).
pub(super) async fn insert_refund_postgres(
    conn: &mut AnyConnection,
    refund: &RefundRecord,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO refunds ({REFUND_COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)"
    );
    bind_refund(sqlx::query(&sql), refund)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Binds the refund's 28 columns, in `REFUND_COLUMNS` order, as `$1`…`$28`.
pub(super) fn bind_refund<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    refund: &RefundRecord,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(refund.id.to_string())
        .bind(refund.merchant_id.clone())
        .bind(refund.provider.clone())
        .bind(refund.account.clone())
        .bind(refund.provider_refund_id.clone())
        .bind(refund.provider_reference.clone())
        .bind(refund.payment_id.clone())
        .bind(refund.amount.clone())
        .bind(refund.amount_minor)
        .bind(refund.currency.clone())
        .bind(refund.status.as_str())
        .bind(refund.failure_code.as_ref().map(|c| c.as_str().to_owned()))
        .bind(refund.failure_message.clone())
        .bind(refund.reason.clone())
        .bind(refund.reference.clone())
        .bind(refund.customer_id.clone())
        .bind(refund.metadata.to_string())
        .bind(refund.provider_options.to_string())
        .bind(refund.breakdown.to_string())
        .bind(i64::from(refund.requires_attention))
        .bind(refund.idempotency_key.clone())
        .bind(refund.version)
        .bind(refund.created_at)
        .bind(refund.updated_at)
        .bind(refund.next_sync_at)
        .bind(refund.sync_attempts)
        .bind(
            refund
                .pending_reason
                .as_ref()
                .map(|r| r.as_str().to_owned()),
        )
        .bind(refund.queued_at)
}

pub(super) async fn insert_event(
    conn: &mut AnyConnection,
    refund_id: &RefundId,
    event: &super::NewEvent,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO refund_events (refund_id, kind, status, previous_status, source, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(refund_id.to_string())
    .bind(event.kind.as_str())
    .bind(event.status.map(|s| s.as_str()))
    .bind(event.previous_status.map(|s| s.as_str()))
    .bind(event.source.as_str())
    .bind(event.detail.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn insert_outbox(
    conn: &mut AnyConnection,
    refund: &RefundRecord,
    event_type: &str,
    now: i64,
) -> Result<(), StoreError> {
    let event_id = new_event_id();
    sqlx::query(
        "INSERT INTO outbox (event_id, merchant_id, refund_id, event_type, payload, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&event_id)
    .bind(&refund.merchant_id)
    .bind(refund.id.to_string())
    .bind(event_type)
    .bind(merchant_event(&event_id, event_type, now, refund))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// A refund by id, whoever owns it (engine use).
    pub async fn refund(&self, id: &RefundId) -> Result<Option<RefundRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(refund_from_row).transpose()
    }

    /// A refund as a caller may see it: with `Some(merchant)`, that merchant's only (another
    /// merchant's refund is `None`, exactly like a missing one); with `None`, anyone's.
    pub(crate) async fn scoped_refund(
        &self,
        merchant_id: Option<&str>,
        id: &RefundId,
    ) -> Result<Option<RefundRecord>, StoreError> {
        match merchant_id {
            Some(merchant_id) => self.merchant_refund(merchant_id, id).await,
            None => self.refund(id).await,
        }
    }

    /// A merchant's refund; another merchant's refund is `None`, exactly like a missing one.
    pub(crate) async fn merchant_refund(
        &self,
        merchant_id: &str,
        id: &RefundId,
    ) -> Result<Option<RefundRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1 AND merchant_id = $2"
        ))
        .bind(id.to_string())
        .bind(merchant_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(refund_from_row).transpose()
    }

    /// A merchant's refunds (every merchant's with `None`), newest first, one more than
    /// `limit` to tell `has_more`.
    pub(crate) async fn list_refunds(
        &self,
        merchant_id: Option<&str>,
        filter: &ListFilter,
    ) -> Result<Vec<RefundRecord>, StoreError> {
        let mut sql = format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE 1 = 1");
        let mut binds: Vec<Bind> = Vec::new();
        let mut add = |clause: &str, value: Bind| {
            binds.push(value);
            sql.push_str(&format!(" AND {clause} ${}", binds.len()));
        };
        if let Some(merchant_id) = merchant_id {
            add("merchant_id =", Bind::Text(Some(merchant_id.to_owned())));
        }
        if let Some(provider) = &filter.provider {
            add("provider =", Bind::Text(Some(provider.clone())));
        }
        if let Some(status) = filter.status {
            add("status =", Bind::Text(Some(status.as_str().to_owned())));
        }
        if let Some(reason) = filter.pending_reason {
            add(
                "status = 'pending' AND pending_reason =",
                Bind::Text(Some(reason.as_str().to_owned())),
            );
        }
        if let Some(currency) = &filter.currency {
            add("currency =", Bind::Text(Some(currency.clone())));
        }
        if let Some(gte) = filter.created_gte {
            add("created_at >=", Bind::Int(Some(gte)));
        }
        if let Some(lt) = filter.created_lt {
            add("created_at <", Bind::Int(Some(lt)));
        }
        // Both served by indexes: (merchant_id, payment_id) and UNIQUE (merchant_id, reference).
        if let Some(payment_id) = &filter.payment_id {
            add("payment_id =", Bind::Text(Some(payment_id.clone())));
        }
        if let Some(reference) = &filter.reference {
            add("reference =", Bind::Text(Some(reference.clone())));
        }
        if let Some(after) = &filter.starting_after {
            add("id <", Bind::Text(Some(after.to_string())));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", filter.limit + 1));
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(int) => query.bind(int),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(refund_from_row).collect()
    }

    /// Up to `limit` refunds that have awaited approval since before `before`, oldest first
    /// (the `refunds_awaiting_approval` partial index), for the expiry pass (DESIGN §19).
    pub(crate) async fn awaiting_approval_before(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<Vec<RefundId>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM refunds WHERE pending_reason = 'awaiting_approval' \
             AND status = 'pending' AND created_at < $1 ORDER BY created_at LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                RefundId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// One page of a refund's history, oldest first: the events after event `after` (from the
    /// first with `None`), at most `limit + 1` of them so the caller can tell `has_more`.
    pub(crate) async fn refund_events_page(
        &self,
        id: &RefundId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, status, previous_status, source, detail, created_at \
             FROM refund_events WHERE refund_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(id.to_string())
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Deletes at most `batch` idempotency keys past their retention (oldest first, by the
    /// `idempotency_keys_by_expiry` index); returns how many. One small statement, so a
    /// backlog never holds the writer or a lock for long.
    pub async fn purge_expired_idempotency_keys(
        &self,
        now: i64,
        batch: u32,
    ) -> Result<u64, StoreError> {
        self.write_statement(
            "DELETE FROM idempotency_keys WHERE (merchant_id, idem_key) IN \
             (SELECT merchant_id, idem_key FROM idempotency_keys \
              WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)"
                .to_owned(),
            vec![Bind::Int(Some(now)), Bind::Int(Some(i64::from(batch)))],
        )
        .await
    }
}

fn event_from_row(row: &sqlx::any::AnyRow) -> Result<EventRecord, StoreError> {
    Ok(EventRecord {
        id: row.try_get("id")?,
        kind: Stored::read(row.try_get("kind")?),
        status: row.try_get("status")?,
        previous_status: row.try_get("previous_status")?,
        source: Stored::read(row.try_get("source")?),
        detail: json_column(row, "detail")?,
        created_at: row.try_get("created_at")?,
    })
}
