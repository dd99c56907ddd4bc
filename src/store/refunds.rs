//! Refund rows: the create transaction (idempotency claim + pending insert, §8 step 1), the
//! guarded change transaction (status + history + ledger + outbox + idempotent answer, §8
//! step 3), and the merchant-scoped reads.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use refund_provider::RefundId;

use super::payments::PaymentCheck;
use super::records::EventRecord;
use super::{
    is_unique_violation, Change, CreateOutcome, IdempotencyClaim, ListFilter, PaymentClaim,
    RefundRecord, Store, StoreError,
};
use crate::domain::refund_object::{merchant_event, new_event_id, RefundObject};
use crate::domain::RefundStatus;

pub(super) const REFUND_COLUMNS: &str =
    "id, merchant_id, provider, account, provider_refund_id, provider_reference, \
    payment_id, amount, amount_minor, currency, status, failure_code, failure_message, reason, \
    reference, customer_id, metadata, provider_options, breakdown, requires_attention, \
    idempotency_key, version, created_at, updated_at, next_sync_at, sync_attempts";

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
        failure_code: row.try_get("failure_code")?,
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
    })
}

async fn insert_event(
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
    .bind(event.kind)
    .bind(event.status.map(|s| s.as_str()))
    .bind(event.previous_status.map(|s| s.as_str()))
    .bind(event.source)
    .bind(event.detail.to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_outbox(
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
    /// §8 step 1, in one transaction: claim the idempotency key (or report the replay, the
    /// conflict or the reuse), check the merchant reference, insert the refund as `pending`
    /// with its creation event (and `refund.created` when `emit_created`). Nothing is
    /// committed unless all of it is.
    ///
    /// With a `payment` claim, the step also checks the payment (DESIGN §14: its owner, its
    /// currency, its captured amount and what is left of it) under the payment row's lock
    /// (`FOR UPDATE` on PostgreSQL; on SQLite the single writer runs one step at a time), so
    /// no number of concurrent creates, in one process or several, can exceed the payment.
    ///
    /// On SQLite the transaction is a step of a group commit (`writer.rs`).
    pub async fn create_refund(
        &self,
        refund: &RefundRecord,
        claim: Option<&IdempotencyClaim>,
        payment: Option<&PaymentClaim>,
        emit_created: bool,
    ) -> Result<CreateOutcome, StoreError> {
        if let Some(group) = &self.group {
            let refund = refund.clone();
            let claim = claim.cloned();
            let payment = payment.cloned();
            return group
                .write(move |conn| {
                    Box::pin(async move {
                        let step = CreateStep {
                            refund: &refund,
                            claim: claim.as_ref(),
                            payment: payment.as_ref(),
                            emit_created,
                        };
                        create_in(conn, step).await
                    })
                })
                .await;
        }
        let mut tx = self.begin_write().await?;
        let step = CreateStep {
            refund,
            claim,
            payment,
            emit_created,
        };
        let (outcome, keep) = create_in(&mut tx, step).await?;
        if !keep {
            tx.rollback().await?;
            return Ok(outcome);
        }
        match tx.commit().await {
            Ok(()) => Ok(outcome),
            Err(e) if is_unique_violation(&e) => Ok(CreateOutcome::ReferenceInUse),
            Err(e) => Err(e.into()),
        }
    }
}

/// What one create step writes.
struct CreateStep<'a> {
    refund: &'a RefundRecord,
    claim: Option<&'a IdempotencyClaim>,
    payment: Option<&'a PaymentClaim>,
    emit_created: bool,
}

/// The create step on `conn` (inside a transaction): its outcome and whether its writes are
/// to be kept.
async fn create_in(
    conn: &mut AnyConnection,
    step: CreateStep<'_>,
) -> Result<(CreateOutcome, bool), StoreError> {
    let CreateStep {
        refund,
        claim,
        payment,
        emit_created,
    } = step;
    let now = refund.created_at;
    if let Some(claim) = claim {
        // A key past its retention is claimed afresh (as if deleted first); a live one is
        // left alone and reported below.
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (merchant_id, idem_key, fingerprint, refund_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (merchant_id, idem_key) DO UPDATE SET \
               fingerprint = excluded.fingerprint, refund_id = excluded.refund_id, \
               response_status = NULL, response_body = NULL, \
               created_at = excluded.created_at, expires_at = excluded.expires_at \
             WHERE idempotency_keys.expires_at <= excluded.created_at",
        )
            .bind(&refund.merchant_id)
            .bind(&claim.key)
            .bind(&claim.fingerprint)
            .bind(refund.id.to_string())
            .bind(now)
            .bind(claim.expires_at)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if claimed == 0 {
            let row = sqlx::query(
                "SELECT fingerprint, refund_id, response_status, response_body, created_at \
                     FROM idempotency_keys WHERE merchant_id = $1 AND idem_key = $2",
            )
            .bind(&refund.merchant_id)
            .bind(&claim.key)
            .fetch_one(&mut *conn)
            .await?;
            let fingerprint: String = row.try_get("fingerprint")?;
            if fingerprint != claim.fingerprint {
                return Ok((CreateOutcome::KeyReused, false));
            }
            let status: Option<i64> = row.try_get("response_status")?;
            let body: Option<String> = row.try_get("response_body")?;
            if let (Some(status), Some(body)) = (status, body) {
                let replay = CreateOutcome::Replay {
                    status: u16::try_from(status).unwrap_or(200),
                    body,
                };
                return Ok((replay, false));
            }
            let created_at: i64 = row.try_get("created_at")?;
            let refund_id: Option<String> = row.try_get("refund_id")?;
            let Some(id) = refund_id.and_then(|id| RefundId::parse(&id).ok()) else {
                return Ok((CreateOutcome::InProgress, false));
            };
            // The first request died before answering (its process crashed): once the
            // grace has passed, or the sync worker has already settled the refund, the
            // retry gets the refund's current state.
            let status: Option<String> =
                sqlx::query_scalar("SELECT status FROM refunds WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_optional(&mut *conn)
                    .await?;
            let settled = status
                .and_then(|s| RefundStatus::parse(&s))
                .is_some_and(RefundStatus::is_final);
            if settled || created_at + claim.in_progress_grace_ms < now {
                return Ok((CreateOutcome::Abandoned { refund_id: id }, false));
            }
            return Ok((CreateOutcome::InProgress, false));
        }
    }
    if let Some(reference) = &refund.reference {
        let taken = sqlx::query("SELECT 1 FROM refunds WHERE merchant_id = $1 AND reference = $2")
            .bind(&refund.merchant_id)
            .bind(reference)
            .fetch_optional(&mut *conn)
            .await?;
        if taken.is_some() {
            return Ok((CreateOutcome::ReferenceInUse, false));
        }
    }
    // A refund without an amount of a payment whose captured amount is known refunds what
    // is left of it: the refund is recorded (and announced) with that amount.
    let resolved;
    let refund = match payment {
        None => refund,
        Some(payment) => match super::payments::check_payment(conn, refund, payment, now).await? {
            PaymentCheck::Refund {
                rest_minor: Some(rest),
            } if refund.amount_minor.is_none() && payment.size_rest => {
                resolved = RefundRecord {
                    amount: Some(super::payments::major_string(&refund.currency, rest)?),
                    amount_minor: Some(rest),
                    ..refund.clone()
                };
                &resolved
            }
            PaymentCheck::Refund { .. } => refund,
            PaymentCheck::Refuse(outcome) => return Ok((outcome, false)),
        },
    };
    let inserted = sqlx::query(&format!(
            "INSERT INTO refunds ({REFUND_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)"
        ))
        .bind(refund.id.to_string())
        .bind(&refund.merchant_id)
        .bind(&refund.provider)
        .bind(&refund.account)
        .bind(&refund.provider_refund_id)
        .bind(&refund.provider_reference)
        .bind(&refund.payment_id)
        .bind(&refund.amount)
        .bind(refund.amount_minor)
        .bind(&refund.currency)
        .bind(refund.status.as_str())
        .bind(&refund.failure_code)
        .bind(&refund.failure_message)
        .bind(&refund.reason)
        .bind(&refund.reference)
        .bind(&refund.customer_id)
        .bind(refund.metadata.to_string())
        .bind(refund.provider_options.to_string())
        .bind(refund.breakdown.to_string())
        .bind(i64::from(refund.requires_attention))
        .bind(&refund.idempotency_key)
        .bind(refund.version)
        .bind(refund.created_at)
        .bind(refund.updated_at)
        .bind(refund.next_sync_at)
        .bind(refund.sync_attempts)
        .execute(&mut *conn)
        .await;
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) && refund.reference.is_some() => {
            return Ok((CreateOutcome::ReferenceInUse, false));
        }
        Err(e) => return Err(e.into()),
    }
    let created = super::NewEvent {
        kind: "created",
        status: Some(RefundStatus::Pending),
        previous_status: None,
        source: "api",
        detail: serde_json::json!({"provider": refund.provider, "provider_reference": refund.provider_reference}),
    };
    insert_event(conn, &refund.id, &created, now).await?;
    if emit_created {
        insert_outbox(conn, refund, "refund.created", now).await?;
    }
    Ok((
        CreateOutcome::Created {
            amount_minor: refund.amount_minor,
        },
        true,
    ))
}

impl Store {
    /// §8 step 3: applies `change` if the refund is still at `version`, in one transaction
    /// with its history, ledger lines, outbox event and idempotent answer. Returns the
    /// refund after the change, or `None` when someone else changed it first (re-read and
    /// decide again).
    pub async fn apply_change(
        &self,
        id: &RefundId,
        version: i64,
        change: &Change,
        now: i64,
    ) -> Result<Option<RefundRecord>, StoreError> {
        if let Some(group) = &self.group {
            let (id, change) = (*id, change.clone());
            return group
                .write(move |conn| {
                    Box::pin(async move { apply_in(conn, &id, version, &change, now).await })
                })
                .await;
        }
        let mut tx = self.begin_write().await?;
        let (refund, keep) = apply_in(&mut tx, id, version, change, now).await?;
        if keep {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(refund)
    }
}

/// The change step on `conn` (inside a transaction): the refund after the change (`None`
/// when the version guard refused it, which rolls the step back).
async fn apply_in(
    conn: &mut AnyConnection,
    id: &RefundId,
    version: i64,
    change: &Change,
    now: i64,
) -> Result<(Option<RefundRecord>, bool), StoreError> {
    let (amount, amount_minor) = match &change.amount {
        Some((text, minor)) => (Some(text.clone()), Some(*minor)),
        None => (None, None),
    };
    let (failure_code, failure_message) = match &change.failure {
        Some((code, message)) => (Some(code.clone()), Some(message.clone())),
        None => (None, None),
    };
    // RETURNING: the refund after the change without a second statement.
    let updated = sqlx::query(&format!(
        "UPDATE refunds SET \
               status = COALESCE($1, status), \
               provider_refund_id = COALESCE(provider_refund_id, $2), \
               amount = COALESCE(amount, $3), \
               amount_minor = COALESCE(amount_minor, $4), \
               breakdown = COALESCE($5, breakdown), \
               failure_code = COALESCE($6, failure_code), \
               failure_message = COALESCE($7, failure_message), \
               requires_attention = CASE WHEN $8 = 1 THEN 1 ELSE requires_attention END, \
               next_sync_at = CASE WHEN $9 = 1 THEN $10 ELSE next_sync_at END, \
               sync_attempts = COALESCE($11, sync_attempts), \
               version = version + 1, \
               lease_until = NULL, \
               updated_at = $12 \
             WHERE id = $13 AND version = $14 RETURNING {REFUND_COLUMNS}"
    ))
    .bind(change.status.map(|s| s.as_str()))
    .bind(&change.provider_refund_id)
    .bind(amount)
    .bind(amount_minor)
    .bind(change.breakdown.as_ref().map(|b| b.to_string()))
    .bind(failure_code)
    .bind(failure_message)
    .bind(i64::from(change.flag_requires_attention))
    .bind(i64::from(change.next_sync_at.is_some()))
    .bind(change.next_sync_at.flatten())
    .bind(change.sync_attempts)
    .bind(now)
    .bind(id.to_string())
    .bind(version)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = updated else {
        return Ok((None, false));
    };
    let refund = refund_from_row(&row)?;
    for event in &change.events {
        insert_event(conn, id, event, now).await?;
    }
    for line in &change.ledger {
        sqlx::query(
                "INSERT INTO ledger_entries (refund_id, entry_kind, account, currency, amount_minor, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(id.to_string())
            .bind(line.entry_kind)
            .bind(&line.account)
            .bind(&line.currency)
            .bind(line.amount_minor)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(outbox) = &change.outbox {
        insert_outbox(conn, &refund, outbox.event_type, now).await?;
    }
    if let Some(key) = &change.idempotency_key {
        sqlx::query(
            "UPDATE idempotency_keys SET response_status = 201, response_body = $1 \
                 WHERE merchant_id = $2 AND idem_key = $3 AND response_body IS NULL",
        )
        .bind(RefundObject::from(&refund).to_json())
        .bind(&refund.merchant_id)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    }
    Ok((Some(refund), true))
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
    pub async fn scoped_refund(
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
    pub async fn merchant_refund(
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

    /// The refund a provider reference belongs to (webhook matching).
    pub async fn refund_by_provider_reference(
        &self,
        provider: &str,
        reference: &str,
    ) -> Result<Option<RefundRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE provider = $1 AND provider_reference = $2"
        ))
        .bind(provider)
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(refund_from_row).transpose()
    }

    /// A merchant's refunds (every merchant's with `None`), newest first, one more than
    /// `limit` to tell `has_more`.
    pub async fn list_refunds(
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
            add("merchant_id =", Bind::Text(merchant_id.to_owned()));
        }
        if let Some(provider) = &filter.provider {
            add("provider =", Bind::Text(provider.clone()));
        }
        if let Some(status) = filter.status {
            add("status =", Bind::Text(status.as_str().to_owned()));
        }
        if let Some(currency) = &filter.currency {
            add("currency =", Bind::Text(currency.clone()));
        }
        if let Some(gte) = filter.created_gte {
            add("created_at >=", Bind::Int(gte));
        }
        if let Some(lt) = filter.created_lt {
            add("created_at <", Bind::Int(lt));
        }
        if let Some(after) = &filter.starting_after {
            add("id <", Bind::Text(after.to_string()));
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

    /// A refund's history, oldest first.
    pub async fn refund_events(&self, id: &RefundId) -> Result<Vec<EventRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, status, previous_status, source, detail, created_at \
             FROM refund_events WHERE refund_id = $1 ORDER BY id",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// One page of a refund's history, oldest first: the events after event `after` (from the
    /// first with `None`), at most `limit + 1` of them so the caller can tell `has_more`.
    pub async fn refund_events_page(
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

    /// Deletes idempotency keys past their retention; returns how many.
    pub async fn purge_expired_idempotency_keys(&self, now: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= $1")
                .bind(now)
                .execute(self.writer())
                .await?
                .rows_affected(),
        )
    }

    /// Refunds by status and provider, for the metrics gauge.
    pub async fn count_by_provider_and_status(
        &self,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT provider, status, COUNT(*) AS n FROM refunds GROUP BY provider, status",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("provider")?,
                    row.try_get("status")?,
                    row.try_get("n")?,
                ))
            })
            .collect()
    }
}

enum Bind {
    Text(String),
    Int(i64),
}

fn event_from_row(row: &sqlx::any::AnyRow) -> Result<EventRecord, StoreError> {
    Ok(EventRecord {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        status: row.try_get("status")?,
        previous_status: row.try_get("previous_status")?,
        source: row.try_get("source")?,
        detail: json_column(row, "detail")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Whether a provider account's webhook event was already applied.
    pub async fn webhook_seen(
        &self,
        provider: &str,
        account: &str,
        event_id: &str,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "SELECT 1 FROM webhook_receipts WHERE provider = $1 AND account = $2 AND event_id = $3",
        )
        .bind(provider)
        .bind(account)
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    /// Records a provider account's webhook event as applied (a second record is a no-op).
    pub async fn record_webhook_receipt(
        &self,
        provider: &str,
        account: &str,
        event_id: &str,
        refund_id: Option<&RefundId>,
    ) -> Result<(), StoreError> {
        const INSERT: &str =
            "INSERT INTO webhook_receipts (provider, account, event_id, refund_id, received_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider, account, event_id) DO NOTHING";
        let (provider, account, event_id) =
            (provider.to_owned(), account.to_owned(), event_id.to_owned());
        let refund_id = refund_id.map(|id| id.to_string());
        let now = super::now_ms();
        if let Some(group) = &self.group {
            return group
                .write(move |conn| {
                    Box::pin(async move {
                        sqlx::query(INSERT)
                            .bind(provider)
                            .bind(account)
                            .bind(event_id)
                            .bind(refund_id)
                            .bind(now)
                            .execute(&mut *conn)
                            .await?;
                        Ok(((), true))
                    })
                })
                .await;
        }
        sqlx::query(INSERT)
            .bind(provider)
            .bind(account)
            .bind(event_id)
            .bind(refund_id)
            .bind(now)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
