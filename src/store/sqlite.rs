//! The statements the SQLite writer thread runs (see `writer.rs`), on its own rusqlite
//! connection: reading a refund inside a write step, inserting one, writing a change with its
//! history, ledger lines, merchant event and idempotent answer. The SQL texts are the ones the
//! PostgreSQL path uses, placeholders converted once by [`sqlite_sql`].

use rusqlite::{params, Connection, OptionalExtension, Row};

use refund_provider::RefundId;

use super::refunds::REFUND_COLUMNS;
use super::writer::sqlite_error;
use super::{Change, NewEvent, StoreError};
// `create.rs` takes `prepare` from here.
pub(super) use super::prepare;
use crate::domain::refund_object::{merchant_event, new_event_id, RefundObject};
use crate::domain::{RefundRecord, RefundStatus, Stored};

fn json(text: &str, column: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// A refund from a row of `SELECT {REFUND_COLUMNS}`.
pub(super) fn refund_from_row(row: &Row<'_>) -> Result<RefundRecord, StoreError> {
    let get_text = |name: &str| row.get::<_, String>(name).map_err(sqlite_error);
    let id = get_text("id")?;
    let status = get_text("status")?;
    Ok(RefundRecord {
        id: RefundId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        merchant_id: get_text("merchant_id")?,
        provider: get_text("provider")?,
        account: get_text("account")?,
        provider_refund_id: row.get("provider_refund_id").map_err(sqlite_error)?,
        provider_reference: get_text("provider_reference")?,
        payment_id: get_text("payment_id")?,
        amount: row.get("amount").map_err(sqlite_error)?,
        amount_minor: row.get("amount_minor").map_err(sqlite_error)?,
        currency: get_text("currency")?,
        status: RefundStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown status {status}")))?,
        failure_code: row
            .get::<_, Option<String>>("failure_code")
            .map_err(sqlite_error)?
            .map(Stored::read),
        failure_message: row.get("failure_message").map_err(sqlite_error)?,
        reason: row.get("reason").map_err(sqlite_error)?,
        reference: row.get("reference").map_err(sqlite_error)?,
        customer_id: row.get("customer_id").map_err(sqlite_error)?,
        metadata: json(&get_text("metadata")?, "metadata")?,
        provider_options: json(&get_text("provider_options")?, "provider_options")?,
        breakdown: json(&get_text("breakdown")?, "breakdown")?,
        requires_attention: row
            .get::<_, i64>("requires_attention")
            .map_err(sqlite_error)?
            != 0,
        idempotency_key: row.get("idempotency_key").map_err(sqlite_error)?,
        version: row.get("version").map_err(sqlite_error)?,
        created_at: row.get("created_at").map_err(sqlite_error)?,
        updated_at: row.get("updated_at").map_err(sqlite_error)?,
        next_sync_at: row.get("next_sync_at").map_err(sqlite_error)?,
        sync_attempts: row.get("sync_attempts").map_err(sqlite_error)?,
        pending_reason: row
            .get::<_, Option<String>>("pending_reason")
            .map_err(sqlite_error)?
            .map(Stored::read),
        queued_at: row.get("queued_at").map_err(sqlite_error)?,
    })
}

/// One refund by id.
pub(super) fn read_refund(
    conn: &Connection,
    id: &RefundId,
) -> Result<Option<RefundRecord>, StoreError> {
    let mut statement = prepare(
        conn,
        &format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1"),
    )?;
    let mut rows = statement.query([id.to_string()]).map_err(sqlite_error)?;
    match rows.next().map_err(sqlite_error)? {
        Some(row) => refund_from_row(row).map(Some),
        None => Ok(None),
    }
}

/// The refund a provider reference belongs to.
pub(super) fn read_refund_by_reference(
    conn: &Connection,
    provider: &str,
    reference: &str,
) -> Result<Option<RefundRecord>, StoreError> {
    let mut statement = prepare(
        conn,
        &format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE provider = $1 AND provider_reference = $2"
        ),
    )?;
    let mut rows = statement
        .query(params![provider, reference])
        .map_err(sqlite_error)?;
    match rows.next().map_err(sqlite_error)? {
        Some(row) => refund_from_row(row).map(Some),
        None => Ok(None),
    }
}

pub(super) fn insert_event(
    conn: &Connection,
    refund_id: &RefundId,
    event: &NewEvent,
    now: i64,
) -> Result<(), StoreError> {
    prepare(
        conn,
        "INSERT INTO refund_events (refund_id, kind, status, previous_status, source, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )?
    .execute(params![
        refund_id.to_string(),
        event.kind.as_str(),
        event.status.map(|s| s.as_str()),
        event.previous_status.map(|s| s.as_str()),
        event.source.as_str(),
        event.detail.to_string(),
        now
    ])
    .map_err(sqlite_error)?;
    Ok(())
}

/// Queues the merchant event `event_type` rendered from `refund`.
pub(super) fn insert_outbox(
    conn: &Connection,
    refund: &RefundRecord,
    event_type: &str,
    now: i64,
) -> Result<(), StoreError> {
    let event_id = new_event_id();
    prepare(
        conn,
        "INSERT INTO outbox (event_id, merchant_id, refund_id, event_type, payload, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )?
    .execute(params![
        event_id,
        refund.merchant_id,
        refund.id.to_string(),
        event_type,
        merchant_event(&event_id, event_type, now, refund),
        now
    ])
    .map_err(sqlite_error)?;
    Ok(())
}

/// Inserts a new refund row; `Ok(false)` when a unique key (the merchant's reference, the
/// provider reference) is taken.
pub(super) fn insert_refund(conn: &Connection, refund: &RefundRecord) -> Result<bool, StoreError> {
    let inserted = prepare(
        conn,
        &format!(
            "INSERT INTO refunds ({REFUND_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)"
        ),
    )?
    .execute(params![
        refund.id.to_string(),
        refund.merchant_id,
        refund.provider,
        refund.account,
        refund.provider_refund_id,
        refund.provider_reference,
        refund.payment_id,
        refund.amount,
        refund.amount_minor,
        refund.currency,
        refund.status.as_str(),
        refund.failure_code.as_ref().map(Stored::as_str),
        refund.failure_message,
        refund.reason,
        refund.reference,
        refund.customer_id,
        refund.metadata.to_string(),
        refund.provider_options.to_string(),
        refund.breakdown.to_string(),
        i64::from(refund.requires_attention),
        refund.idempotency_key,
        refund.version,
        refund.created_at,
        refund.updated_at,
        refund.next_sync_at,
        refund.sync_attempts,
        refund.pending_reason.as_ref().map(Stored::as_str),
        refund.queued_at
    ]);
    match inserted {
        Ok(_) => Ok(true),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Ok(false)
        }
        Err(e) => Err(sqlite_error(e)),
    }
}

/// Writes `change` of `before` (read in this same transaction, so it is current): the row
/// as `change.apply_to` computes it, the history, ledger lines (once per refund, kind and
/// account), the merchant event and the idempotent answer. Returns the refund after.
pub(super) fn write_change(
    conn: &Connection,
    before: &RefundRecord,
    change: &Change,
    now: i64,
) -> Result<RefundRecord, StoreError> {
    let after = change.apply_to(before, now);
    let updated = prepare(
        conn,
        "UPDATE refunds SET status = $1, provider_refund_id = $2, amount = $3, amount_minor = $4, \
           breakdown = $5, failure_code = $6, failure_message = $7, requires_attention = $8, \
           next_sync_at = $9, sync_attempts = $10, version = $11, lease_until = NULL, \
           updated_at = $12, pending_reason = $15, queued_at = $16 \
           WHERE id = $13 AND version = $14",
    )?
    .execute(params![
        after.status.as_str(),
        after.provider_refund_id,
        after.amount,
        after.amount_minor,
        after.breakdown.to_string(),
        after.failure_code.as_ref().map(Stored::as_str),
        after.failure_message,
        i64::from(after.requires_attention),
        after.next_sync_at,
        after.sync_attempts,
        after.version,
        now,
        after.id.to_string(),
        before.version,
        after.pending_reason.as_ref().map(Stored::as_str),
        after.queued_at
    ])
    .map_err(sqlite_error)?;
    if updated != 1 {
        // Only the writer thread writes, and it read `before` in this transaction.
        return Err(StoreError::Corrupt(format!(
            "refund {} changed under the writer",
            before.id
        )));
    }
    for event in &change.events {
        insert_event(conn, &after.id, event, now)?;
    }
    for line in &change.ledger {
        prepare(
            conn,
            "INSERT INTO ledger_entries (refund_id, entry_kind, account, currency, amount_minor, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            after.id.to_string(),
            line.entry_kind.as_str(),
            line.account,
            line.currency,
            line.amount_minor,
            now
        ])
        .map_err(sqlite_error)?;
    }
    if let Some(outbox) = &change.outbox {
        insert_outbox(conn, &after, outbox.event_type.as_str(), now)?;
    }
    if let Some(key) = &change.idempotency_key {
        prepare(
            conn,
            "UPDATE idempotency_keys SET response_status = 201, response_body = $1 \
             WHERE merchant_id = $2 AND idem_key = $3 AND response_body IS NULL",
        )?
        .execute(params![
            RefundObject::from(&after).to_json(),
            after.merchant_id,
            key
        ])
        .map_err(sqlite_error)?;
    }
    if let Some(audit) = &change.audit {
        super::audit::insert_sqlite(conn, audit, now)?;
    }
    Ok(after)
}

/// Whether a provider account's webhook event was applied before.
pub(super) fn webhook_seen(
    conn: &Connection,
    provider: &str,
    account: &str,
    event_id: &str,
) -> Result<bool, StoreError> {
    prepare(
        conn,
        "SELECT 1 FROM webhook_receipts WHERE provider = $1 AND account = $2 AND event_id = $3",
    )?
    .query_row(params![provider, account, event_id], |_| Ok(()))
    .optional()
    .map(|found| found.is_some())
    .map_err(sqlite_error)
}

pub(super) fn insert_webhook_receipt(
    conn: &Connection,
    provider: &str,
    account: &str,
    event_id: &str,
    refund_id: Option<&RefundId>,
    now: i64,
) -> Result<(), StoreError> {
    prepare(
        conn,
        "INSERT INTO webhook_receipts (provider, account, event_id, refund_id, received_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider, account, event_id) DO NOTHING",
    )?
    .execute(params![
        provider,
        account,
        event_id,
        refund_id.map(|id| id.to_string()),
        now
    ])
    .map_err(sqlite_error)?;
    Ok(())
}
