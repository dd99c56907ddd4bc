//! Creating a refund (DESIGN §8 step 1), in one transaction: claim the idempotency key (or
//! report the replay, the conflict or the reuse), check the merchant reference, check the
//! payment (DESIGN §14: owner, currency, what is left, under the payment's lock), insert the
//! refund as `pending` with its creation event (and `refund.created` when the merchant has a
//! webhook). Nothing is committed unless all of it is.
//!
//! Written once per driver: on SQLite a step of the writer thread (rusqlite, see
//! `writer.rs`), on PostgreSQL an sqlx transaction. Both follow the same order and the same
//! rules; the API tests run every case on both.

mod postgres;
mod sqlite;
mod statements;

use std::borrow::Cow;

use refund_provider::RefundId;

use super::payments::{major_string, PaymentCheck};
use super::{
    is_unique_violation, CreateOutcome, IdempotencyClaim, NewEvent, PaymentClaim, RefundRecord,
    Store, StoreError,
};
use crate::domain::{EventKind, EventSource, RefundStatus};
use crate::faults::Faults;
use postgres::create_postgres;
use sqlite::create_sqlite;

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
