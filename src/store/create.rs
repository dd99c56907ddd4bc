//! Creating a refund (DESIGN §8 step 1), in one transaction: claim the idempotency key (or
//! report the replay, the conflict or the reuse), check the merchant reference, check the
//! payment (DESIGN §14: owner, currency, what is left, under the payment's lock), insert the
//! refund as `pending` with its creation event (and `refund.created` when the merchant has a
//! webhook). Nothing is committed unless all of it is.
//!
//! Written once per driver: on SQLite a step of the writer thread (rusqlite, see
//! `writer.rs`), on PostgreSQL an sqlx transaction. Both follow the same order and the same
//! rules; the API tests run every case on both.

use std::borrow::Cow;

use rusqlite::{params, Connection, OptionalExtension};
use sqlx::{AnyConnection, Row};

use refund_provider::RefundId;

use super::payments::{major_string, LockedPayment, PaymentCheck};
use super::refunds::{bind_refund, REFUND_COLUMNS};
use super::sqlite::{insert_event, insert_outbox, insert_refund, prepare};
use super::writer::sqlite_error;
use super::{
    is_unique_violation, CreateOutcome, IdempotencyClaim, NewEvent, PaymentClaim, RefundRecord,
    Store, StoreError,
};
use crate::domain::refund_object::{merchant_event, new_event_id};
use crate::domain::{EventKind, EventSource, RefundStatus};
use crate::faults::Faults;

/// What one create step writes.
#[derive(Debug, Clone)]
struct CreateStep {
    refund: RefundRecord,
    claim: Option<IdempotencyClaim>,
    payment: Option<PaymentClaim>,
    emit_created: bool,
    /// A planted bug (`crate::faults`): a refund beyond what is refundable is inserted anyway.
    skip_refundable_check: bool,
}

impl Store {
    /// §8 step 1 (see the module doc). With a `payment` claim, the step also checks the
    /// payment, serialized with every other create of it: no number of concurrent creates,
    /// in one process or several, can exceed it.
    pub async fn create_refund(
        &self,
        refund: &RefundRecord,
        claim: Option<&IdempotencyClaim>,
        payment: Option<&PaymentClaim>,
        emit_created: bool,
    ) -> Result<CreateOutcome, StoreError> {
        let step = CreateStep {
            refund: refund.clone(),
            claim: claim.cloned(),
            payment: payment.cloned(),
            emit_created,
            skip_refundable_check: Faults::on(&self.faults.skip_refundable_check),
        };
        if let Some(writer) = &self.sqlite {
            return writer.write(move |conn| create_sqlite(conn, &step)).await;
        }
        if let Some(outcome) = self.create_in_one_statement(&step).await? {
            return Ok(outcome);
        }
        let mut tx = self.pool.begin().await?;
        let (outcome, keep) = create_postgres(&mut tx, &step).await?;
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

impl Store {
    /// PostgreSQL's common case in ONE statement and one commit, without a transaction block
    /// (see [`single_statement_sql`]): `Some` outcome when it decided (created, or the key's
    /// earlier answer), `None` when the step needs the transaction of [`create_postgres`]
    /// (a payment whose captured amount is known or given, a refusal, a race). When it says
    /// `None` it has written nothing.
    async fn create_in_one_statement(
        &self,
        step: &CreateStep,
    ) -> Result<Option<CreateOutcome>, StoreError> {
        if step
            .payment
            .as_ref()
            .is_some_and(|p| p.payment_amount_minor.is_some())
        {
            return Ok(None);
        }
        let refund = &step.refund;
        let sql = single_statement_sql(step);
        let mut query = bind_refund(sqlx::query(&sql), refund);
        if let Some(claim) = &step.claim {
            query = query
                .bind(&claim.key)
                .bind(&claim.fingerprint)
                .bind(claim.expires_at);
        }
        query = query.bind(created_event(refund).detail.to_string());
        if step.emit_created {
            let event_id = new_event_id();
            let payload = merchant_event(&event_id, "refund.created", refund.created_at, refund);
            query = query.bind(event_id).bind(payload);
        }
        let row = match query.fetch_one(&self.pool).await {
            Ok(row) => row,
            Err(e) if is_rolled_back(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if row.try_get::<i64, _>("inserted")? == 1 {
            return Ok(Some(CreateOutcome::Created {
                amount_minor: refund.amount_minor,
            }));
        }
        match &step.claim {
            Some(claim) if row.try_get::<i64, _>("key_live")? > 0 => {
                let mut conn = self.pool.acquire().await?;
                let (outcome, _) =
                    existing_claim_postgres(&mut conn, claim, refund, refund.created_at).await?;
                Ok(Some(outcome))
            }
            _ => Ok(None),
        }
    }
}

/// The text PostgreSQL reports when the single statement undid itself (see
/// [`single_statement_sql`]).
const ROLLED_BACK: &str = "refund not inserted: the statement is rolled back";

/// Whether `error` is the single statement undoing itself (nothing of it was written).
fn is_rolled_back(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|c| c == "22P02") && db.message().contains(ROLLED_BACK)
        }
        _ => false,
    }
}

/// The creation event of a refund.
fn created_event(refund: &RefundRecord) -> NewEvent {
    let mut detail = serde_json::json!({"provider": refund.provider, "provider_reference": refund.provider_reference});
    if let Some(reason) = &refund.pending_reason {
        // Recorded unsent, in the queue (DESIGN §17).
        detail["pending_reason"] = serde_json::Value::from(reason.as_str());
    }
    NewEvent {
        kind: EventKind::Created,
        status: Some(RefundStatus::Pending),
        previous_status: None,
        source: EventSource::Api,
        detail,
    }
}

/// What an idempotency key that could not be claimed says about this request.
fn existing_claim(
    claim: &IdempotencyClaim,
    now: i64,
    fingerprint: &str,
    response: Option<(i64, String)>,
    created_at: i64,
    refund_id: Option<RefundId>,
    refund_is_final: impl FnOnce(&RefundId) -> Result<bool, StoreError>,
) -> Result<CreateOutcome, StoreError> {
    if fingerprint != claim.fingerprint {
        return Ok(CreateOutcome::KeyReused);
    }
    if let Some((status, body)) = response {
        return Ok(CreateOutcome::Replay {
            status: u16::try_from(status).unwrap_or(200),
            body,
        });
    }
    let Some(id) = refund_id else {
        return Ok(CreateOutcome::InProgress);
    };
    // The first request died before answering (its process crashed): once the grace has
    // passed, or the sync worker has already settled the refund, the retry gets the
    // refund's current state.
    if refund_is_final(&id)? || created_at + claim.in_progress_grace_ms < now {
        return Ok(CreateOutcome::Abandoned { refund_id: id });
    }
    Ok(CreateOutcome::InProgress)
}

const CLAIM_KEY: &str = "INSERT INTO idempotency_keys (merchant_id, idem_key, fingerprint, refund_id, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (merchant_id, idem_key) DO UPDATE SET \
       fingerprint = excluded.fingerprint, refund_id = excluded.refund_id, \
       response_status = NULL, response_body = NULL, \
       created_at = excluded.created_at, expires_at = excluded.expires_at \
     WHERE idempotency_keys.expires_at <= excluded.created_at";
const READ_KEY: &str = "SELECT fingerprint, refund_id, response_status, response_body, created_at \
     FROM idempotency_keys WHERE merchant_id = $1 AND idem_key = $2";
const REFERENCE_TAKEN: &str = "SELECT 1 FROM refunds WHERE merchant_id = $1 AND reference = $2";
const REFUND_STATUS: &str = "SELECT status FROM refunds WHERE id = $1";

/// The create step on SQLite, on the writer thread inside its batch's transaction.
fn create_sqlite(
    conn: &Connection,
    step: &CreateStep,
) -> Result<(CreateOutcome, bool), StoreError> {
    let refund = &step.refund;
    let now = refund.created_at;
    if let Some(claim) = &step.claim {
        // A key past its retention is claimed afresh (as if deleted first); a live one is
        // left alone and reported.
        let claimed = prepare(conn, CLAIM_KEY)?
            .execute(params![
                refund.merchant_id,
                claim.key,
                claim.fingerprint,
                refund.id.to_string(),
                now,
                claim.expires_at
            ])
            .map_err(sqlite_error)?;
        if claimed == 0 {
            let (fingerprint, refund_id, status, body, created_at) = prepare(conn, READ_KEY)?
                .query_row(params![refund.merchant_id, claim.key], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, Option<String>>(1)?,
                        row.get::<_, Option<i64>>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, i64>(4)?,
                    ))
                })
                .map_err(sqlite_error)?;
            let outcome = existing_claim(
                claim,
                now,
                &fingerprint,
                status.zip(body),
                created_at,
                refund_id.and_then(|id| RefundId::parse(&id).ok()),
                |id| {
                    let status: Option<String> = prepare(conn, REFUND_STATUS)?
                        .query_row([id.to_string()], |row| row.get(0))
                        .optional()
                        .map_err(sqlite_error)?;
                    Ok(status
                        .and_then(|s| RefundStatus::parse(&s))
                        .is_some_and(RefundStatus::is_final))
                },
            )?;
            return Ok((outcome, false));
        }
    }
    if let Some(reference) = &refund.reference {
        let taken = prepare(conn, REFERENCE_TAKEN)?
            .exists(params![refund.merchant_id, reference])
            .map_err(sqlite_error)?;
        if taken {
            return Ok((CreateOutcome::ReferenceInUse, false));
        }
    }
    let refund = match &step.payment {
        None => Cow::Borrowed(refund),
        Some(payment) => {
            let check = super::payments::check_payment_sqlite(conn, refund, payment, now)?;
            match sized_for_payment(refund, payment, check, step.skip_refundable_check)? {
                Ok(refund) => refund,
                Err(refusal) => return Ok((refusal, false)),
            }
        }
    };
    let refund = refund.as_ref();
    if !insert_refund(conn, refund)? {
        return Ok((CreateOutcome::ReferenceInUse, false));
    }
    insert_event(conn, &refund.id, &created_event(refund), now)?;
    if step.emit_created {
        insert_outbox(conn, refund, "refund.created", now)?;
    }
    Ok((
        CreateOutcome::Created {
            amount_minor: refund.amount_minor,
        },
        true,
    ))
}

/// The refund to insert once its payment was checked: the refusal, or the refund with an
/// omitted amount sized to the payment's rest when the merchant asked for the rest.
fn sized_for_payment<'a>(
    refund: &'a RefundRecord,
    payment: &PaymentClaim,
    check: PaymentCheck,
    skip_refundable_check: bool,
) -> Result<Result<Cow<'a, RefundRecord>, CreateOutcome>, StoreError> {
    match check {
        PaymentCheck::Refuse(CreateOutcome::AmountExceedsRefundable { .. })
            if skip_refundable_check && refund.amount_minor.is_some() =>
        {
            Ok(Ok(Cow::Borrowed(refund)))
        }
        PaymentCheck::Refuse(outcome) => Ok(Err(outcome)),
        PaymentCheck::Refund {
            rest_minor: Some(rest),
        } if refund.amount_minor.is_none() && payment.size_rest => {
            Ok(Ok(Cow::Owned(RefundRecord {
                amount: Some(major_string(&refund.currency, rest)?),
                amount_minor: Some(rest),
                ..refund.clone()
            })))
        }
        PaymentCheck::Refund { .. } => Ok(Ok(Cow::Borrowed(refund))),
    }
}

/// The column types of `REFUND_COLUMNS`, in order, for the casts of the fast path's
/// parameters (PostgreSQL cannot infer a parameter's type inside `INSERT … SELECT`).
const REFUND_COLUMN_TYPES: [&str; 28] = [
    "text", "text", "text", "text", "text", "text", "text", "text", "bigint", "text", "text",
    "text", "text", "text", "text", "text", "text", "text", "text", "bigint", "text", "bigint",
    "bigint", "bigint", "bigint", "bigint", "text", "bigint",
];

/// The create step on PostgreSQL, on `conn` inside a transaction: its outcome and whether
/// its writes are to be kept.
///
/// The common case is ONE statement: data-modifying CTEs claim the idempotency key, upsert
/// (and lock) the payment row, and insert the refund, its creation event and its merchant
/// event only if the key was claimed, the payment is this merchant's in this currency and
/// its captured amount is unknown (nothing to count). Anything else, read from what that
/// statement returned, goes on in the same transaction: a key already used is reported; a
/// refused payment rolls back; a known captured amount is counted (a statement of its own,
/// after the row lock, so it sees what the lock's previous holder committed) before the
/// insert.
async fn create_postgres(
    conn: &mut AnyConnection,
    step: &CreateStep,
) -> Result<(CreateOutcome, bool), StoreError> {
    let refund = &step.refund;
    let now = refund.created_at;
    let fast = fast_create_sql(step);
    let mut query = sqlx::query(&fast);
    query = bind_refund(query, refund);
    if let Some(claim) = &step.claim {
        query = query
            .bind(&claim.key)
            .bind(&claim.fingerprint)
            .bind(claim.expires_at);
    }
    if let Some(payment) = &step.payment {
        query = query.bind(payment.payment_amount_minor);
    }
    query = query.bind(created_event(refund).detail.to_string());
    if step.emit_created {
        let event_id = new_event_id();
        let payload = merchant_event(&event_id, "refund.created", now, refund);
        query = query.bind(event_id).bind(payload);
    }
    let row = query.fetch_one(&mut *conn).await?;
    let claimed: i64 = row.try_get("claimed")?;
    let inserted: i64 = row.try_get("inserted")?;
    if let (Some(claim), 0) = (&step.claim, claimed) {
        return existing_claim_postgres(conn, claim, refund, now).await;
    }
    if inserted == 1 {
        return Ok((
            CreateOutcome::Created {
                amount_minor: refund.amount_minor,
            },
            true,
        ));
    }
    // Not inserted: a refused or counted payment, or a taken reference.
    let Some(payment) = &step.payment else {
        return Ok((CreateOutcome::ReferenceInUse, false));
    };
    // The merchant's own reference is checked before anything about the payment, as on
    // SQLite: checked after, a taken reference would answer `reference_in_use` for a payment
    // of its own and `payment_not_found` for another merchant's, telling who owns it.
    if let Some(reference) = &refund.reference {
        let taken = sqlx::query(REFERENCE_TAKEN)
            .bind(&refund.merchant_id)
            .bind(reference)
            .fetch_optional(&mut *conn)
            .await?
            .is_some();
        if taken {
            return Ok((CreateOutcome::ReferenceInUse, false));
        }
    }
    let locked = LockedPayment {
        owner: row.try_get("owner")?,
        currency: row.try_get("payment_currency")?,
        captured: row.try_get("captured")?,
    };
    let check = match super::payments::row_check(locked, refund, payment) {
        Err(refusal) => PaymentCheck::Refuse(refusal),
        Ok(None) => return Ok((CreateOutcome::ReferenceInUse, false)),
        Ok(Some(captured)) => super::payments::count_postgres(conn, refund, captured).await?,
    };
    let refund = match sized_for_payment(refund, payment, check, step.skip_refundable_check)? {
        Ok(refund) => refund,
        Err(refusal) => return Ok((refusal, false)),
    };
    let refund = refund.as_ref();
    match super::refunds::insert_refund_postgres(conn, refund).await {
        Ok(()) => {}
        Err(StoreError::Unavailable(e)) if is_unique_violation(&e) => {
            return Ok((CreateOutcome::ReferenceInUse, false));
        }
        Err(e) => return Err(e),
    }
    super::refunds::insert_event(conn, &refund.id, &created_event(refund), now).await?;
    if step.emit_created {
        super::refunds::insert_outbox(conn, refund, "refund.created", now).await?;
    }
    Ok((
        CreateOutcome::Created {
            amount_minor: refund.amount_minor,
        },
        true,
    ))
}

/// The fast path's statement for this step's shape (idempotency key or not, payment claim
/// or not, merchant event or not). Parameters: `$1`-`$28` the refund's columns, then the
/// key's `idem_key, fingerprint, expires_at`, the `payment_amount`, the creation event's
/// detail, and the merchant event's `event_id, payload`.
fn fast_create_sql(step: &CreateStep) -> String {
    let mut next = REFUND_COLUMN_TYPES.len() + 1;
    let mut param = || {
        let n = next;
        next += 1;
        format!("${n}")
    };
    let values: Vec<String> = REFUND_COLUMN_TYPES
        .iter()
        .enumerate()
        .map(|(i, kind)| format!("${}::{kind}", i + 1))
        .collect();
    let mut ctes = Vec::new();
    let mut conditions = Vec::new();
    // Parameters are numbered in binding order (key, then payment amount); the statements
    // run payment first, then key, as the one-statement path does: two creates of one
    // payment with one key would otherwise take the two locks in opposite orders and
    // deadlock (found by the model test, two requests at once).
    let key_params = step.claim.is_some().then(|| (param(), param(), param()));
    let payment_select = if step.payment.is_some() {
        let amount = param();
        ctes.push(format!(
            "pay AS (INSERT INTO payments (provider, account, payment_id, merchant_id, currency, amount_minor, created_at, updated_at) \
             VALUES ($3, $4, $7, $2, $10, {amount}::bigint, $23, $23) \
             ON CONFLICT (provider, account, payment_id) DO UPDATE SET \
               amount_minor = COALESCE(payments.amount_minor, excluded.amount_minor), \
               updated_at = excluded.updated_at \
             RETURNING merchant_id, currency, amount_minor)"
        ));
        conditions.push(
            "EXISTS (SELECT 1 FROM pay WHERE pay.merchant_id = $2 AND pay.currency = $10 \
             AND pay.amount_minor IS NULL)"
                .to_owned(),
        );
        "(SELECT merchant_id FROM pay) AS owner, (SELECT currency FROM pay) AS payment_currency, \
         (SELECT amount_minor FROM pay) AS captured"
    } else {
        "NULL AS owner, NULL AS payment_currency, NULL AS captured"
    };
    if let Some((key, fingerprint, expires)) = key_params {
        // The upsert always returns the payment row: gating the key on it changes nothing
        // but the order.
        let after_payment = if step.payment.is_some() {
            " WHERE EXISTS (SELECT 1 FROM pay)"
        } else {
            ""
        };
        ctes.push(format!(
            "claim AS (INSERT INTO idempotency_keys (merchant_id, idem_key, fingerprint, refund_id, created_at, expires_at) \
             SELECT $2, {key}, {fingerprint}, $1, $23, {expires}{after_payment} \
             ON CONFLICT (merchant_id, idem_key) DO UPDATE SET \
               fingerprint = excluded.fingerprint, refund_id = excluded.refund_id, \
               response_status = NULL, response_body = NULL, \
               created_at = excluded.created_at, expires_at = excluded.expires_at \
             WHERE idempotency_keys.expires_at <= excluded.created_at RETURNING 1 AS one)"
        ));
        conditions.insert(0, "EXISTS (SELECT 1 FROM claim)".to_owned());
    }
    let condition = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    ctes.push(format!(
        "ins AS (INSERT INTO refunds ({REFUND_COLUMNS}) SELECT {}{condition} \
         ON CONFLICT DO NOTHING RETURNING id)",
        values.join(", ")
    ));
    let detail = param();
    ctes.push(format!(
        "created AS (INSERT INTO refund_events (refund_id, kind, status, previous_status, source, detail, created_at) \
         SELECT id, 'created', 'pending', NULL, 'api', {detail}::text, $23::bigint FROM ins)"
    ));
    if step.emit_created {
        let (event_id, payload) = (param(), param());
        ctes.push(format!(
            "announced AS (INSERT INTO outbox (event_id, merchant_id, refund_id, event_type, payload, created_at, next_attempt_at) \
             SELECT {event_id}::text, $2::text, id, 'refund.created', {payload}::text, $23::bigint, $23::bigint FROM ins)"
        ));
    }
    let claimed = if step.claim.is_some() {
        "(SELECT COUNT(*) FROM claim)"
    } else {
        "1"
    };
    format!(
        "WITH {} SELECT {claimed} AS claimed, (SELECT COUNT(*) FROM ins) AS inserted, {payment_select}",
        ctes.join(", ")
    )
}

/// The create step as ONE statement run outside any transaction block (PostgreSQL commits
/// it on its own: one round trip and one commit, against three round trips for BEGIN, the
/// statement and COMMIT). Every write in it is conditional, so it writes all or nothing:
///
/// - `live`: whether the idempotency key is taken and unexpired in the statement's snapshot
///   (a replay: nothing below runs, `key_live` says so);
/// - `pay`: creates the payment row (this merchant's, this currency, captured amount
///   unknown) or, for an existing one that is this merchant's in this currency with no
///   captured amount (nothing to count), touches it, which also takes its row lock; any other
///   payment writes nothing and the caller goes the transactional way;
/// - `claim`, `ins`, `created`, `announced`: the key, the refund, its creation event and its
///   merchant event, each only if the one before it wrote;
/// - if a write happened and the refund was still not inserted (another request took the
///   key or the merchant's reference between the snapshot and the write), the final SELECT
///   fails on purpose with [`ROLLED_BACK`], which undoes the whole statement: nothing
///   written, the caller goes the transactional way and reports what it finds.
///
/// Parameters: `$1`-`$28` the refund's columns (`REFUND_COLUMN_TYPES`, as `bind_refund`
/// binds them), then the key's `idem_key, fingerprint, expires_at`, the creation event's
/// detail, and the merchant event's `event_id, payload`.
fn single_statement_sql(step: &CreateStep) -> String {
    // Numbered after every refund column: counted from the list, so a column added later
    // cannot make the next parameters read the refund's last columns (as `$27` once did).
    let mut next = REFUND_COLUMN_TYPES.len() + 1;
    let mut param = || {
        let n = next;
        next += 1;
        format!("${n}")
    };
    let values: Vec<String> = REFUND_COLUMN_TYPES
        .iter()
        .enumerate()
        .map(|(i, kind)| format!("${}::{kind}", i + 1))
        .collect();
    let mut ctes = Vec::new();
    // The condition for the next write: the writes happen in chain order.
    let mut gate = "TRUE".to_owned();
    let mut first_write = None;
    let mut key_params = None;
    if step.claim.is_some() {
        let (key, fingerprint, expires) = (param(), param(), param());
        ctes.push(format!(
            "live AS (SELECT 1 AS one FROM idempotency_keys              WHERE merchant_id = $2 AND idem_key = {key} AND expires_at > $23::bigint)"
        ));
        gate = "NOT EXISTS (SELECT 1 FROM live)".to_owned();
        key_params = Some((key, fingerprint, expires));
    }
    if step.payment.is_some() {
        ctes.push(format!(
            "pay AS (INSERT INTO payments (provider, account, payment_id, merchant_id, currency, amount_minor, created_at, updated_at)              SELECT $3, $4, $7, $2, $10, NULL, $23, $23 WHERE {gate}              ON CONFLICT (provider, account, payment_id) DO UPDATE SET updated_at = excluded.updated_at              WHERE payments.merchant_id = excluded.merchant_id AND payments.currency = excluded.currency                AND payments.amount_minor IS NULL              RETURNING 1 AS one)"
        ));
        gate = "EXISTS (SELECT 1 FROM pay)".to_owned();
        first_write.get_or_insert("pay");
    }
    if let Some((key, fingerprint, expires)) = &key_params {
        ctes.push(format!(
            "claim AS (INSERT INTO idempotency_keys (merchant_id, idem_key, fingerprint, refund_id, created_at, expires_at)              SELECT $2, {key}, {fingerprint}, $1, $23, {expires} WHERE {gate}              ON CONFLICT (merchant_id, idem_key) DO UPDATE SET                fingerprint = excluded.fingerprint, refund_id = excluded.refund_id,                response_status = NULL, response_body = NULL,                created_at = excluded.created_at, expires_at = excluded.expires_at              WHERE idempotency_keys.expires_at <= excluded.created_at RETURNING 1 AS one)"
        ));
        gate = "EXISTS (SELECT 1 FROM claim)".to_owned();
        first_write.get_or_insert("claim");
    }
    ctes.push(format!(
        "ins AS (INSERT INTO refunds ({REFUND_COLUMNS}) SELECT {} WHERE {gate}          ON CONFLICT DO NOTHING RETURNING id)",
        values.join(", ")
    ));
    let detail = param();
    ctes.push(format!(
        "created AS (INSERT INTO refund_events (refund_id, kind, status, previous_status, source, detail, created_at)          SELECT id, 'created', 'pending', NULL, 'api', {detail}::text, $23::bigint FROM ins)"
    ));
    if step.emit_created {
        let (event_id, payload) = (param(), param());
        ctes.push(format!(
            "announced AS (INSERT INTO outbox (event_id, merchant_id, refund_id, event_type, payload, created_at, next_attempt_at)              SELECT {event_id}::text, $2::text, id, 'refund.created', {payload}::text, $23::bigint, $23::bigint FROM ins)"
        ));
    }
    let key_live = if key_params.is_some() {
        "(SELECT COUNT(*) FROM live)"
    } else {
        "0"
    };
    // A scalar subquery, so the cast runs (and fails) only when the case is taken, never
    // while planning.
    let undo = match first_write {
        Some(writer) => format!(
            "CASE WHEN EXISTS (SELECT 1 FROM {writer}) AND NOT EXISTS (SELECT 1 FROM ins)              THEN CAST((SELECT '{ROLLED_BACK}'::text) AS bigint) ELSE 0 END"
        ),
        None => "0".to_owned(),
    };
    format!(
        "WITH {} SELECT {key_live} AS key_live, (SELECT COUNT(*) FROM ins) AS inserted, {undo} AS undone",
        ctes.join(", ")
    )
}

/// What an idempotency key that could not be claimed says, read on PostgreSQL.
async fn existing_claim_postgres(
    conn: &mut AnyConnection,
    claim: &IdempotencyClaim,
    refund: &RefundRecord,
    now: i64,
) -> Result<(CreateOutcome, bool), StoreError> {
    let row = sqlx::query(READ_KEY)
        .bind(&refund.merchant_id)
        .bind(&claim.key)
        .fetch_one(&mut *conn)
        .await?;
    let fingerprint: String = row.try_get("fingerprint")?;
    let status: Option<i64> = row.try_get("response_status")?;
    let body: Option<String> = row.try_get("response_body")?;
    let created_at: i64 = row.try_get("created_at")?;
    let refund_id: Option<String> = row.try_get("refund_id")?;
    let refund_id = refund_id.and_then(|id| RefundId::parse(&id).ok());
    let is_final = match &refund_id {
        None => false,
        Some(id) => sqlx::query_scalar::<_, String>(REFUND_STATUS)
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?
            .and_then(|s| RefundStatus::parse(&s))
            .is_some_and(RefundStatus::is_final),
    };
    let outcome = existing_claim(
        claim,
        now,
        &fingerprint,
        status.zip(body),
        created_at,
        refund_id,
        |_| Ok(is_final),
    )?;
    Ok((outcome, false))
}
