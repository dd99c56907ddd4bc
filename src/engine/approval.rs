//! Refunds held for an operator's approval (DESIGN §19): recorded, approved, rejected and
//! expired.
//!
//! - **Held.** A new refund that an `[[approval_rules]]` rule matches is recorded `pending`
//!   with `pending_reason` `awaiting_approval` (`create.rs`): its amount counts against the
//!   payment like any pending refund's, it has no sync time and no place in the send queue,
//!   and nothing is called. Its history says so and its merchant gets
//!   `refund.awaiting_approval`.
//! - **Approved.** One version-guarded change takes it out of waiting (so of two operators,
//!   or an approval racing a rejection or the expiry, exactly one wins) and gives it a sync
//!   time, with the `refund.approved` audit entry; then it is sent at once, exactly as a new
//!   refund would be: under its account's breaker, or into the queue when that is open.
//! - **Rejected / expired.** `canceled` with `rejected_by_operator` (audit
//!   `refund.rejected`, the reason kept) or `approval_expired` (older than
//!   `approval_expires_after_hours`, looked at by housekeeping): never sent, so nothing is
//!   posted to the ledger and the amount is refundable again.
//!
//! Anything not awaiting approval (already approved, final, queued, sent) is
//! `not_awaiting_approval`.

use serde_json::json;

use refund_provider::{FailureCode, RefundId};

use super::breaker::Caller;
use super::decide::transition;
use super::sync::request_for;
use super::{millis, Engine, EngineError};
use crate::domain::{
    AuditKind, EventKind, EventSource, MerchantEventType, NewAuditEvent, PendingReason,
    RefundRecord, RefundStatus,
};
use crate::store::{Change, NewEvent, OutboxMessage};

/// Refunds canceled per expiry pass, at most (the next pass takes the rest).
const EXPIRE_BATCH: i64 = 256;

/// The change that ends `refund`'s wait unsent: `canceled` with `code`, saying why.
fn cancel_unsent(
    refund: &RefundRecord,
    source: EventSource,
    code: FailureCode,
    message: String,
    detail: serde_json::Value,
    emit: bool,
) -> Change {
    let mut change = transition(refund, RefundStatus::Canceled, source, detail, emit);
    change.failure = Some((code, message));
    change
}

impl Engine {
    /// A refund just recorded awaiting approval: its history line, its merchant event and
    /// the idempotent answer, in one change.
    pub(crate) async fn record_awaiting(
        &self,
        record: RefundRecord,
    ) -> Result<RefundRecord, EngineError> {
        let key = record.idempotency_key.clone();
        let emit = self.emits_events(&record.merchant_id);
        self.apply_with_known(record, move |_, refund, _now| Change {
            events: vec![NewEvent {
                kind: EventKind::AwaitingApproval,
                status: None,
                previous_status: None,
                source: EventSource::Api,
                detail: json!({
                    "pending_reason": PendingReason::AwaitingApproval.as_str(),
                    "amount": refund.amount,
                    "currency": refund.currency,
                }),
            }],
            outbox: emit.then_some(OutboxMessage {
                event_type: MerchantEventType::AwaitingApproval,
            }),
            idempotency_key: key.clone(),
            ..Change::default()
        })
        .await
    }

    /// An operator approves a refund awaiting approval: it is sent at once, as a new refund
    /// would be. Returns the refund after the provider's answer (or queued, breaker open).
    pub(crate) async fn approve(
        &self,
        id: &RefundId,
        operator_id: &str,
        note: Option<String>,
    ) -> Result<RefundRecord, EngineError> {
        let request_timeout = millis(self.config().server.request_timeout);
        let operator = operator_id.to_owned();
        let modified = self
            .store
            .modify_refund(*id, move |refund, now| {
                if !refund.is_awaiting_approval() {
                    return Err(EngineError::NotAwaitingApproval);
                }
                Ok(Change {
                    // Out of waiting; from here on it counts as sent (a crash during the
                    // call leaves an outcome the sync worker settles, never a blind re-send).
                    queue: Some(None),
                    next_sync_at: Some(Some(now + request_timeout + 1_000)),
                    events: vec![NewEvent {
                        kind: EventKind::Approved,
                        status: None,
                        previous_status: None,
                        source: EventSource::Operator,
                        detail: json!({"operator": operator, "note": note}),
                    }],
                    audit: Some(NewAuditEvent::new(
                        operator.clone(),
                        AuditKind::RefundApproved,
                        Some(refund.id.to_string()),
                        json!({"note": note, "amount": refund.amount, "currency": refund.currency, "merchant": refund.merchant_id}),
                    )),
                    ..Change::default()
                })
            })
            .await??;
        let approved = self.modified(id, modified)?;
        tracing::info!(refund_id = %id, operator = %operator_id, "refund approved by an operator");
        self.send_approved(approved).await
    }

    /// Sends an approved refund as a new refund is sent (`create.rs` steps 2-3).
    async fn send_approved(&self, approved: RefundRecord) -> Result<RefundRecord, EngineError> {
        let Some(provider) = self.provider_of(&approved) else {
            // The account left the configuration: the sync worker settles it like any refund
            // whose call did not happen (it is never sent twice).
            tracing::error!(refund_id = %approved.id, provider = %approved.provider, account = %approved.account, "approved refund's provider account is not configured");
            return Ok(approved);
        };
        let now = self.store.now();
        let permit = self
            .breakers
            .permit(&approved.provider, &approved.account, Caller::New, now);
        if !permit.allows() {
            return self
                .apply_with_known(approved, move |_, refund, now| {
                    if refund.status != RefundStatus::Pending {
                        return Change::default();
                    }
                    super::queue::enqueue(refund, now, "circuit breaker open")
                })
                .await;
        }
        let request = request_for(&approved)?;
        let engine = self.clone();
        // Its own task: an operator's client hanging up cannot cut the call from its record.
        let task = tokio::spawn(async move {
            engine
                .send_new(provider, &request, permit, None, approved)
                .await
        });
        match task.await {
            Ok(result) => result,
            Err(join_error) => Err(EngineError::Store(crate::store::StoreError::Corrupt(
                format!("approved refund's task failed: {join_error}"),
            ))),
        }
    }

    /// An operator rejects a refund awaiting approval: `canceled`, `rejected_by_operator`.
    pub(crate) async fn reject(
        &self,
        id: &RefundId,
        operator_id: &str,
        reason: String,
    ) -> Result<RefundRecord, EngineError> {
        let engine = self.clone();
        let operator = operator_id.to_owned();
        let modified = self
            .store
            .modify_refund(*id, move |refund, _now| {
                if !refund.is_awaiting_approval() {
                    return Err(EngineError::NotAwaitingApproval);
                }
                let mut change = cancel_unsent(
                    refund,
                    EventSource::Operator,
                    FailureCode::RejectedByOperator,
                    reason.clone(),
                    json!({"operator": operator, "reason": reason, "failure_code": FailureCode::RejectedByOperator}),
                    engine.emits_events(&refund.merchant_id),
                );
                change.audit = Some(NewAuditEvent::new(
                    operator.clone(),
                    AuditKind::RefundRejected,
                    Some(refund.id.to_string()),
                    json!({"reason": reason, "amount": refund.amount, "currency": refund.currency, "merchant": refund.merchant_id}),
                ));
                Ok(change)
            })
            .await??;
        let rejected = self.modified(id, modified)?;
        tracing::info!(refund_id = %id, operator = %operator_id, "refund rejected by an operator");
        Ok(rejected)
    }

    /// Cancels (`approval_expired`) every refund that has awaited approval longer than
    /// `approval_expires_after_hours` at `now` (Unix ms); returns how many. Housekeeping
    /// calls it with the clock's time, tests with a time of their choosing.
    pub async fn expire_approvals(&self, now: i64) -> Result<u64, EngineError> {
        let before = now.saturating_sub(millis(self.config().approval_expires_after));
        let mut expired = 0;
        loop {
            let ids = self
                .store
                .awaiting_approval_before(before, EXPIRE_BATCH)
                .await?;
            let full = i64::try_from(ids.len()).unwrap_or(i64::MAX) >= EXPIRE_BATCH;
            for id in ids {
                let refund = self
                    .apply_with(&id, move |engine, refund, _now| {
                        if !refund.is_awaiting_approval() || refund.created_at >= before {
                            return Change::default();
                        }
                        cancel_unsent(
                            refund,
                            EventSource::Operator,
                            FailureCode::ApprovalExpired,
                            "no operator approved the refund within approval_expires_after_hours; it was never sent".to_owned(),
                            json!({"reason": "approval_expired", "failure_code": FailureCode::ApprovalExpired}),
                            engine.emits_events(&refund.merchant_id),
                        )
                    })
                    .await?;
                if refund.status == RefundStatus::Canceled {
                    expired += 1;
                    tracing::info!(refund_id = %id, "refund awaiting approval expired unsent");
                }
            }
            if !full {
                return Ok(expired);
            }
        }
    }
}
