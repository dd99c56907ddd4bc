//! The create step on PostgreSQL: the common case as one autocommitted statement, anything
//! else (a known captured amount, a refusal, a race) in an sqlx transaction.

use refund_provider::RefundId;
use sqlx::{AnyConnection, Row};

use super::statements::{fast_create_sql, single_statement_sql, ROLLED_BACK};
use super::{
    created_event, existing_claim, sized_for_payment, CreateOutcome, CreateStep, IdempotencyClaim,
    RefundRecord, Store, StoreError, READ_KEY, REFERENCE_TAKEN, REFUND_STATUS,
};
use crate::domain::refund_object::{merchant_event, new_event_id};
use crate::domain::RefundStatus;
use crate::store::committed::first_row_committed;
use crate::store::is_unique_violation;
use crate::store::payments::LockedPayment;
use crate::store::payments::PaymentCheck;
use crate::store::refunds::bind_refund;

impl Store {
    /// PostgreSQL's common case in ONE statement and one commit, without a transaction block
    /// (see [`single_statement_sql`]): `Some` outcome when it decided (created, or the key's
    /// earlier answer), `None` when the step needs the transaction of [`create_postgres`]
    /// (a payment whose captured amount is known or given, a refusal, a race). When it says
    /// `None` it has written nothing.
    pub(super) async fn create_in_one_statement(
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
        // Only once committed: the provider is called on this answer.
        let row = match first_row_committed(query, &self.pool).await {
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

/// Whether `error` is the single statement undoing itself (nothing of it was written).
fn is_rolled_back(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|c| c == "22P02") && db.message().contains(ROLLED_BACK)
        }
        _ => false,
    }
}

/// The column types of `REFUND_COLUMNS`, in order, for the casts of the fast path's
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
pub(super) async fn create_postgres(
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
    let check = match crate::store::payments::row_check(locked, refund, payment) {
        Err(refusal) => PaymentCheck::Refuse(refusal),
        Ok(None) => return Ok((CreateOutcome::ReferenceInUse, false)),
        Ok(Some(captured)) => {
            crate::store::payments::count_postgres(conn, refund, captured).await?
        }
    };
    let refund = match sized_for_payment(refund, payment, check, step.skip_refundable_check)? {
        Ok(refund) => refund,
        Err(refusal) => return Ok((refusal, false)),
    };
    let refund = refund.as_ref();
    match crate::store::refunds::insert_refund_postgres(conn, refund).await {
        Ok(()) => {}
        Err(StoreError::Unavailable(e)) if is_unique_violation(&e) => {
            return Ok((CreateOutcome::ReferenceInUse, false));
        }
        Err(e) => return Err(e),
    }
    crate::store::refunds::insert_event(conn, &refund.id, &created_event(refund), now).await?;
    if step.emit_created {
        crate::store::refunds::insert_outbox(conn, refund, "refund.created", now).await?;
    }
    Ok((
        CreateOutcome::Created {
            amount_minor: refund.amount_minor,
        },
        true,
    ))
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
