//! The create step on SQLite: a step of the writer thread (rusqlite, see `writer.rs`),
//! inside its batch's transaction.

use std::borrow::Cow;

use refund_provider::RefundId;
use rusqlite::{params, Connection, OptionalExtension};

use super::{
    created_event, existing_claim, sized_for_payment, CreateOutcome, CreateStep, StoreError,
    CLAIM_KEY, READ_KEY, REFERENCE_TAKEN, REFUND_STATUS,
};
use crate::domain::RefundStatus;
use crate::store::sqlite::{insert_event, insert_outbox, insert_refund, prepare};
use crate::store::writer::sqlite_error;

/// The create step on SQLite, on the writer thread inside its batch's transaction.
pub(super) fn create_sqlite(
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
            let check = crate::store::payments::check_payment_sqlite(conn, refund, payment, now)?;
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
