//! Creating a refund exactly once (DESIGN §8 steps 1-4):
//!
//! 1. Route, build the provider request with its refund id and provider reference, let the
//!    adapter validate it (a 400 that records nothing), then in ONE transaction claim the
//!    idempotency key and insert the refund as `pending`. Commit before any provider call.
//! 2. Call the provider in a task of its own, so a client hanging up cannot cut the call
//!    between sending and recording. Only `NotSent` is retried (twice, short backoff, while
//!    the account's breaker stays closed): it provably never left. Every retry carries the
//!    same refund id and reference. Still not sent, it joins the queue (DESIGN §17; it
//!    fails `provider_unavailable` only where the breaker is turned off). While the breaker
//!    is open, step 1 records the refund queued instead and nothing is called (`queue.rs`).
//! 3. In one transaction: the outcome's status, its history line, ledger lines, the merchant
//!    event and the idempotent answer.
//! 4. `Unknown` leaves the refund `pending` with a next sync time; the sync worker settles it.
//!
//! A refund an `[[approval_rules]]` rule holds (DESIGN §19) stops after step 1: recorded
//! `pending` with `pending_reason` `awaiting_approval` (its amount counts against the
//! payment), no sync time, nothing called; `approval.rs` sends it once an operator approves.
//!
//! Here: step 1 and the choice between sending, holding and queueing. Routing and the
//! pre-flight checks are `intake.rs` (shared with the dry run, `preview.rs`); steps 2-4,
//! the call and the recording of its answer, are `send.rs`.

use std::sync::Arc;

use serde_json::json;
use tracing::Instrument;

use refund_provider::{
    Currency, MinorUnits, Money, ProviderRefundRequest, RefundId, RefundProvider, RestRefund,
};

use super::breaker::{Caller, Permit};
use super::intake::{check_every_providers_options, Routed};
use super::{millis, Engine, EngineError};
use crate::config::MerchantConfig;
use crate::domain::{PendingReason, RefundRecord, RefundStatus, Stored};
use crate::faults::Faults;
use crate::store::{CreateOutcome, IdempotencyClaim, PaymentClaim};
use crate::telemetry::spans;

/// The request this module carries out, as the engine's callers know it.
pub use super::intake::CreateCommand;

/// What the API answers.
#[derive(Debug)]
pub enum CreateResult {
    /// A new refund (201), whatever its status.
    Created(RefundRecord),
    /// An idempotent replay (200 + `Idempotent-Replayed: true`) of a stored answer.
    Replayed(String),
    /// An idempotent replay of a refund whose first request died before answering.
    ReplayedRefund(RefundRecord),
}

/// What step 1's transaction left to do.
enum Recorded {
    /// The refund is committed `pending`; for this amount when the store sized a refund
    /// without an amount (the rest of the payment).
    New { amount_minor: Option<i64> },
    /// The idempotency key answers for an earlier request, with this.
    Answered(Box<CreateResult>),
}

impl Engine {
    pub async fn create_refund(
        &self,
        merchant: &MerchantConfig,
        command: CreateCommand,
    ) -> Result<CreateResult, EngineError> {
        let span = spans::engine_step("engine.create");
        self.create_in(merchant, command).instrument(span).await
    }

    /// The steps of the module doc: route and check, decide whether it is sent now, record
    /// it with its idempotency key, then hold it, queue it or send it.
    async fn create_in(
        &self,
        merchant: &MerchantConfig,
        command: CreateCommand,
    ) -> Result<CreateResult, EngineError> {
        let routed = self.routed(merchant, &command)?;
        let refund_id = RefundId::generate();
        let span = tracing::Span::current();
        span.record("refund_id", tracing::field::display(&refund_id));
        span.record("provider", routed.id.as_str());
        span.record("account", routed.account.as_str());
        let now = self.store.now();
        let mut request = self.provider_request(merchant, &command, &routed, refund_id);
        let rest_form = routed.provider.rest_refund(&request);
        let captured = self
            .preflight(&command, &routed, rest_form, &mut request)
            .await?;

        // An approval rule may hold it (DESIGN §19): recorded awaiting approval, unsent, and
        // the breaker is not asked (nothing is called now). Else the account's breaker
        // decides now: open, the refund is recorded queued, unsent.
        let amount = command.amount.or(captured);
        let (permit, unsent) =
            if self.held_for_approval(merchant, &routed.id, command.currency, amount) {
                (Permit::Call, Some(PendingReason::AwaitingApproval))
            } else {
                let permit =
                    self.breakers
                        .permit(routed.id.as_str(), &routed.account, Caller::New, now);
                let queued = !permit.allows();
                (permit, queued.then_some(PendingReason::ProviderUnavailable))
            };
        let claim = self.idempotency_claim(&command, now);
        let payment = PaymentClaim {
            payment_amount_minor: command.payment_amount.map(|m| m.minor_units().get()),
            size_rest: rest_form != RestRefund::ProviderSized,
        };
        let currency = command.currency;
        let first_sync_at = now + millis(self.config().server.request_timeout) + 1_000;
        let mut record = new_record(merchant, command, &routed, &request, unsent, now);
        // Should this process die before step 3, the sync worker picks the refund up. A
        // refund not sent now has nothing to query.
        record.next_sync_at = unsent.is_none().then_some(first_sync_at);
        let amount_minor = match self
            .record_new(
                merchant,
                &record,
                claim.as_ref(),
                &payment,
                permit,
                currency,
            )
            .await?
        {
            Recorded::New { amount_minor } => amount_minor,
            Recorded::Answered(answer) => return Ok(*answer),
        };
        size_rest(&mut record, &mut request, amount_minor, currency, rest_form);
        self.metrics
            .refund_transition(routed.id.as_str(), "pending");
        match unsent {
            Some(PendingReason::AwaitingApproval) => self
                .record_awaiting(record)
                .await
                .map(CreateResult::Created),
            Some(PendingReason::ProviderUnavailable) => {
                self.record_queued(record).await.map(CreateResult::Created)
            }
            None => self
                .send_in_own_task(routed.provider, request, permit, record)
                .await
                .map(CreateResult::Created),
        }
    }

    /// The provider's pre-flight checks of `request` and the checks of every provider's
    /// options: a refusal is a 400 that records nothing. Without an amount, a refund of a
    /// payment whose captured amount is known refunds what is left (DESIGN §14): until the
    /// create step has counted under the payment's lock, the captured amount (returned)
    /// stands in for it in the checks.
    async fn preflight(
        &self,
        command: &CreateCommand,
        routed: &Routed,
        rest_form: RestRefund,
        request: &mut ProviderRefundRequest,
    ) -> Result<Option<Money>, EngineError> {
        let captured = match (command.amount, command.payment_amount) {
            (Some(_), _) => None,
            (None, Some(given)) => Some(given),
            (None, None) => self
                .store
                .payment_captured_amount(
                    routed.id.as_str(),
                    &routed.account,
                    command.payment_id.as_str(),
                )
                .await?
                .and_then(MinorUnits::new)
                .map(|minor| Money::from_minor(minor, command.currency)),
        };
        if rest_form == RestRefund::SendAmount && captured.is_some() {
            request.amount = captured;
        }
        routed.provider.validate(request)?;
        check_every_providers_options(&command.provider_options, self.providers())?;
        request.amount = command.amount;
        Ok(captured)
    }

    /// The idempotency key to claim with the refund, when the request has one.
    fn idempotency_claim(&self, command: &CreateCommand, now: i64) -> Option<IdempotencyClaim> {
        command
            .idempotency_key
            .as_ref()
            // A planted bug (`crate::faults`): the key not claimed at all.
            .filter(|_| !Faults::on(&self.store.faults.idempotency_key_ignored))
            .map(|key| IdempotencyClaim {
                key: key.as_str().to_owned(),
                fingerprint: command.fingerprint.clone(),
                expires_at: now + millis(self.config().idempotency.retention),
                in_progress_grace_ms: millis(self.config().server.request_timeout) + 5_000,
            })
    }

    /// Step 1's transaction: claims the idempotency key and records the refund `pending`
    /// under its payment (DESIGN §8, §14). Anything but a new refund hands the breaker's
    /// `permit` back; a refusal is the error the API answers.
    async fn record_new(
        &self,
        merchant: &MerchantConfig,
        record: &RefundRecord,
        claim: Option<&IdempotencyClaim>,
        payment: &PaymentClaim,
        permit: Permit,
        currency: Currency,
    ) -> Result<Recorded, EngineError> {
        let emit = self.emits_events(&merchant.id);
        let outcome = self
            .store
            .create_refund(record, claim, Some(payment), emit)
            .instrument(spans::store_write("store.create_refund"))
            .await;
        if !matches!(outcome, Ok(CreateOutcome::Created { .. })) {
            self.breakers
                .release(&record.provider, &record.account, permit);
        }
        let format = |minor: i64| {
            MinorUnits::new(minor).map_or_else(
                || minor.to_string(),
                |m| Money::from_minor(m, currency).to_major_string(),
            )
        };
        match outcome? {
            CreateOutcome::Created { amount_minor } => Ok(Recorded::New { amount_minor }),
            CreateOutcome::Replay { body, .. } => {
                Ok(Recorded::Answered(Box::new(CreateResult::Replayed(body))))
            }
            CreateOutcome::Abandoned { refund_id } => {
                match self.store.merchant_refund(&merchant.id, &refund_id).await? {
                    Some(refund) => Ok(Recorded::Answered(Box::new(CreateResult::ReplayedRefund(
                        refund,
                    )))),
                    None => Err(EngineError::IdempotencyInProgress),
                }
            }
            CreateOutcome::PaymentNotFound => Err(EngineError::PaymentNotFound),
            CreateOutcome::CurrencyMismatch { payment_currency } => {
                Err(EngineError::CurrencyMismatch { payment_currency })
            }
            CreateOutcome::PaymentAmountMismatch { known_minor } => {
                Err(EngineError::PaymentAmountMismatch {
                    known: format(known_minor),
                })
            }
            CreateOutcome::AmountExceedsRefundable { refundable_minor } => {
                Err(EngineError::AmountExceedsRefundable {
                    refundable: format(refundable_minor),
                    currency: currency.to_string(),
                })
            }
            CreateOutcome::InProgress => Err(EngineError::IdempotencyInProgress),
            CreateOutcome::KeyReused => Err(EngineError::IdempotencyKeyReused),
            CreateOutcome::ReferenceInUse => Err(EngineError::ReferenceInUse),
        }
    }

    /// Steps 2-3 in a task of their own: if the client hangs up, the call still completes
    /// and is recorded.
    async fn send_in_own_task(
        &self,
        provider: Arc<dyn RefundProvider>,
        request: ProviderRefundRequest,
        permit: Permit,
        record: RefundRecord,
    ) -> Result<RefundRecord, EngineError> {
        let engine = self.clone();
        let key = record.idempotency_key.clone();
        let task = tokio::spawn(
            async move {
                engine
                    .send_new(provider, &request, permit, key.as_deref(), record)
                    .await
            }
            .in_current_span(),
        );
        match task.await {
            Ok(result) => result,
            Err(join_error) => Err(EngineError::Store(crate::store::StoreError::Corrupt(
                format!("refund task failed: {join_error}"),
            ))),
        }
    }

    /// A refund just recorded queued: its history line and the idempotent answer (the
    /// queued refund), in one change.
    async fn record_queued(&self, record: RefundRecord) -> Result<RefundRecord, EngineError> {
        let key = record.idempotency_key.clone();
        self.apply_with_known(record, move |_, refund, _now| {
            let since = refund.queued_at.unwrap_or(refund.created_at);
            let mut change = super::queue::enqueue(refund, since, "circuit breaker open");
            change.idempotency_key = key.clone();
            change
        })
        .await
    }
}

/// The row a new refund is recorded as: `pending`, for the command's amount, with the
/// reason it is not sent now (`unsent`: held for approval, or queued since `now`). Its
/// sync time is the caller's.
fn new_record(
    merchant: &MerchantConfig,
    command: CreateCommand,
    routed: &Routed,
    request: &ProviderRefundRequest,
    unsent: Option<PendingReason>,
    now: i64,
) -> RefundRecord {
    let queued = unsent == Some(PendingReason::ProviderUnavailable);
    RefundRecord {
        id: request.refund_id,
        merchant_id: merchant.id.clone(),
        provider: routed.id.to_string(),
        account: routed.account.clone(),
        provider_refund_id: None,
        provider_reference: request.provider_reference.clone(),
        payment_id: command.payment_id.to_string(),
        amount: command.amount.map(|m| m.to_major_string()),
        amount_minor: command.amount.map(|m| m.minor_units().get()),
        currency: command.currency.to_string(),
        status: RefundStatus::Pending,
        failure_code: None,
        failure_message: None,
        reason: command.reason,
        reference: command.reference,
        customer_id: command.customer_id,
        metadata: command.metadata,
        provider_options: request.options.clone(),
        breakdown: json!([]),
        requires_attention: false,
        idempotency_key: command
            .idempotency_key
            .as_ref()
            .map(|k| k.as_str().to_owned()),
        version: 0,
        created_at: now,
        updated_at: now,
        next_sync_at: None,
        sync_attempts: 0,
        pending_reason: unsent.map(Stored::Known),
        queued_at: queued.then_some(now),
    }
}

/// A refund without an amount, recorded for what is left of its payment (`amount_minor`,
/// when the store knew it): the row as stored, so recording the answer need not read it
/// again, and the amount sent unless the provider keeps its own form for such a refund.
fn size_rest(
    record: &mut RefundRecord,
    request: &mut ProviderRefundRequest,
    amount_minor: Option<i64>,
    currency: Currency,
    rest_form: RestRefund,
) {
    let rest = amount_minor
        .filter(|_| record.amount_minor.is_none())
        .and_then(MinorUnits::new)
        .map(|minor| Money::from_minor(minor, currency));
    if rest_form == RestRefund::SendAmount && rest.is_some() {
        request.amount = rest;
    }
    if let Some(rest) = rest {
        record.amount = Some(rest.to_major_string());
        record.amount_minor = Some(rest.minor_units().get());
    }
}
