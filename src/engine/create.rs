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

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use refund_provider::{
    Currency, FailureCode, MinorUnits, Money, PaymentId, ProviderError, ProviderRefundRequest,
    RefundId, RefundProvider, RestRefund,
};

use super::breaker::{Caller, Health, Permit};
use super::decide::transition;
use super::{millis, Engine, EngineError};
use crate::config::MerchantConfig;
use crate::domain::approval::{matching_rule, ApprovalInput};
use crate::domain::{
    EventSource, IdempotencyKey, PendingReason, RefundRecord, RefundStatus, Stored,
};
use crate::faults::Faults;
use crate::routing::{route, RouteError, RouteInput};
use crate::store::{Change, CreateOutcome, IdempotencyClaim, NewEvent, PaymentClaim};
use crate::telemetry::spans;
use tracing::Instrument;

/// Backoff before each retry of a request that was provably not sent.
const NOT_SENT_BACKOFF: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];

/// A validated create-refund request.
#[derive(Debug, Clone)]
pub struct CreateCommand {
    pub payment_id: PaymentId,
    pub amount: Option<Money>,
    /// The payment's captured amount, as the merchant knows it (`payment_amount`).
    pub payment_amount: Option<Money>,
    pub currency: Currency,
    pub reason: Option<String>,
    pub reference: Option<String>,
    pub customer_id: Option<String>,
    pub metadata: Value,
    pub provider: Option<String>,
    /// The whole `provider_options` object (each adapter reads its own key).
    pub provider_options: Value,
    pub idempotency_key: Option<IdempotencyKey>,
    /// Fingerprint of the request body, for idempotency.
    pub fingerprint: String,
}

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

/// What a new refund would do, without doing it (a batch's dry run, DESIGN §19).
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    /// The provider and account routing picked.
    pub provider: String,
    pub account: String,
    /// The amount it would be recorded for, when known (the rest of the payment for a
    /// refund without an amount).
    pub amount: Option<Money>,
    /// Whether an approval rule would hold it.
    pub awaiting_approval: bool,
    /// What is left to refund of the payment before it, when the captured amount is known.
    pub refundable_minor: Option<i128>,
}

impl Engine {
    /// The provider a merchant's request goes to (the routes, or its explicit `provider`),
    /// that provider's account key for the merchant, and its adapter.
    fn routed(
        &self,
        merchant: &MerchantConfig,
        command: &CreateCommand,
    ) -> Result<(refund_provider::ProviderId, String, Arc<dyn RefundProvider>), EngineError> {
        let provider_id = route(
            &self.config().routes,
            RouteInput {
                merchant,
                explicit: command.provider.as_deref(),
                currency: command.currency,
                payment_id: command.payment_id.as_str(),
            },
            |id| self.providers().for_merchant(id, &merchant.id).is_some(),
        )
        .map_err(|e| match e {
            RouteError::NoRoute => EngineError::NoRoute,
            RouteError::ProviderUnsupported(name) => EngineError::ProviderUnsupported(name),
        })?;
        let (account, provider) = self
            .providers()
            .for_merchant(&provider_id, &merchant.id)
            .map(|(account, provider)| (account, provider.clone()))
            .ok_or(EngineError::NoRoute)?;
        Ok((provider_id, account.key(), provider))
    }

    /// Routes and checks `command` as [`Engine::create_refund`] would (routing, the
    /// provider's pre-flight checks, approval rules) and reads what is left of its payment;
    /// records nothing and calls nobody.
    pub async fn preview_refund(
        &self,
        merchant: &MerchantConfig,
        command: &CreateCommand,
    ) -> Result<Preview, EngineError> {
        let (provider_id, account, provider) = self.routed(merchant, command)?;
        let refundable_minor = self
            .store
            .payment_refundable(
                provider_id.as_str(),
                &account,
                command.payment_id.as_str(),
                command.payment_amount.map(|m| m.minor_units().get()),
            )
            .await?;
        let rest = refundable_minor
            .filter(|_| command.amount.is_none())
            .and_then(|minor| i64::try_from(minor).ok())
            .and_then(MinorUnits::new)
            .map(|minor| Money::from_minor(minor, command.currency));
        let amount = command.amount.or(rest);
        let refund_id = RefundId::generate();
        let mut request = ProviderRefundRequest {
            refund_id,
            provider_reference: provider.provider_reference(&refund_id),
            payment_id: command.payment_id.clone(),
            currency: command.currency,
            amount: command.amount,
            reason: command.reason.clone(),
            customer_id: command.customer_id.clone(),
            options: command
                .provider_options
                .get(provider_id.as_str())
                .cloned()
                .unwrap_or(Value::Null),
            created_at: self.store.clock().now(),
            merchant_id: Some(merchant.id.clone()),
            metadata: super::sync::metadata_pairs(&command.metadata),
            provider_refund_id: None,
        };
        if provider.rest_refund(&request) == RestRefund::SendAmount {
            request.amount = amount;
        }
        provider.validate(&request)?;
        let awaiting_approval = matching_rule(
            &self.config().approval_rules,
            ApprovalInput {
                merchant: &merchant.id,
                provider: &provider_id,
                currency: command.currency,
                amount_minor: amount.map(|m| m.minor_units().get()),
            },
        )
        .is_some();
        Ok(Preview {
            provider: provider_id.to_string(),
            account,
            amount,
            awaiting_approval,
            refundable_minor,
        })
    }

    pub async fn create_refund(
        &self,
        merchant: &MerchantConfig,
        command: CreateCommand,
    ) -> Result<CreateResult, EngineError> {
        let span = spans::engine_step("engine.create");
        self.create_in(merchant, command).instrument(span).await
    }

    async fn create_in(
        &self,
        merchant: &MerchantConfig,
        command: CreateCommand,
    ) -> Result<CreateResult, EngineError> {
        let (provider_id, account_key, provider) = self.routed(merchant, &command)?;

        let refund_id = RefundId::generate();
        let span = tracing::Span::current();
        span.record("refund_id", tracing::field::display(&refund_id));
        span.record("provider", provider_id.as_str());
        span.record("account", account_key.as_str());
        let now = self.store.now();
        let options = command
            .provider_options
            .get(provider_id.as_str())
            .cloned()
            .unwrap_or(Value::Null);
        let mut request = ProviderRefundRequest {
            refund_id,
            provider_reference: provider.provider_reference(&refund_id),
            payment_id: command.payment_id.clone(),
            currency: command.currency,
            amount: command.amount,
            reason: command.reason.clone(),
            customer_id: command.customer_id.clone(),
            options: options.clone(),
            created_at: self.store.clock().now(),
            merchant_id: Some(merchant.id.clone()),
            metadata: super::sync::metadata_pairs(&command.metadata),
            provider_refund_id: None,
        };
        // Without an amount, a refund of a payment whose captured amount is known refunds
        // what is left (DESIGN §14). Until the create step has counted under the payment's
        // lock, the captured amount stands in for it in the provider's pre-flight checks.
        let rest_form = provider.rest_refund(&request);
        let captured = match (command.amount, command.payment_amount) {
            (Some(_), _) => None,
            (None, Some(given)) => Some(given),
            (None, None) => self
                .store
                .payment_captured_amount(
                    provider_id.as_str(),
                    &account_key,
                    command.payment_id.as_str(),
                )
                .await?
                .and_then(MinorUnits::new)
                .map(|minor| Money::from_minor(minor, command.currency)),
        };
        if rest_form == RestRefund::SendAmount && captured.is_some() {
            request.amount = captured;
        }
        provider.validate(&request)?;
        check_every_providers_options(&command.provider_options, self.providers())?;
        request.amount = command.amount;

        // An approval rule may hold it (DESIGN §19): recorded awaiting approval, unsent, and
        // the breaker is not asked (nothing is called now).
        let held = matching_rule(
            &self.config().approval_rules,
            ApprovalInput {
                merchant: &merchant.id,
                provider: &provider_id,
                currency: command.currency,
                amount_minor: command.amount.or(captured).map(|m| m.minor_units().get()),
            },
        )
        .is_some();
        // The account's breaker decides now: open, the refund is recorded queued, unsent.
        let permit = if held {
            Permit::Call
        } else {
            self.breakers
                .permit(provider_id.as_str(), &account_key, Caller::New, now)
        };
        let queued = !permit.allows();
        let mut record = RefundRecord {
            id: refund_id,
            merchant_id: merchant.id.clone(),
            provider: provider_id.to_string(),
            account: account_key,
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
            provider_options: options,
            breakdown: json!([]),
            requires_attention: false,
            idempotency_key: command
                .idempotency_key
                .as_ref()
                .map(|k| k.as_str().to_owned()),
            version: 0,
            created_at: now,
            updated_at: now,
            // Should this process die before step 3, the sync worker picks the refund up. A
            // queued refund was never sent: nothing is to be queried.
            next_sync_at: (!queued && !held)
                .then(|| now + millis(self.config().server.request_timeout) + 1_000),
            sync_attempts: 0,
            pending_reason: if held {
                Some(Stored::Known(PendingReason::AwaitingApproval))
            } else {
                queued.then_some(Stored::Known(PendingReason::ProviderUnavailable))
            },
            queued_at: queued.then_some(now),
        };
        let payment = PaymentClaim {
            payment_amount_minor: command.payment_amount.map(|m| m.minor_units().get()),
            size_rest: rest_form != RestRefund::ProviderSized,
        };
        let claim = command
            .idempotency_key
            .as_ref()
            // A planted bug (`crate::faults`): the key not claimed at all.
            .filter(|_| !Faults::on(&self.store.faults.idempotency_key_ignored))
            .map(|key| IdempotencyClaim {
                key: key.as_str().to_owned(),
                fingerprint: command.fingerprint.clone(),
                expires_at: now + millis(self.config().idempotency.retention),
                in_progress_grace_ms: millis(self.config().server.request_timeout) + 5_000,
            });
        let emit = self.emits_events(&merchant.id);
        let currency = command.currency;
        let format = |minor: i64| {
            MinorUnits::new(minor).map_or_else(
                || minor.to_string(),
                |m| Money::from_minor(m, currency).to_major_string(),
            )
        };
        let outcome = self
            .store
            .create_refund(&record, claim.as_ref(), Some(&payment), emit)
            .instrument(spans::store_write("store.create_refund"))
            .await;
        if !matches!(outcome, Ok(CreateOutcome::Created { .. })) {
            self.breakers
                .release(provider_id.as_str(), &record.account, permit);
        }
        match outcome? {
            CreateOutcome::Created { amount_minor } => {
                let rest = amount_minor
                    .filter(|_| record.amount_minor.is_none())
                    .and_then(MinorUnits::new)
                    .map(|minor| Money::from_minor(minor, currency));
                // What is left, sent as the amount unless the provider keeps its own form.
                if rest_form == RestRefund::SendAmount && rest.is_some() {
                    request.amount = rest;
                }
                // The row as stored, so recording the answer need not read it again.
                if let Some(rest) = rest {
                    record.amount = Some(rest.to_major_string());
                    record.amount_minor = Some(rest.minor_units().get());
                }
            }
            CreateOutcome::PaymentNotFound => return Err(EngineError::PaymentNotFound),
            CreateOutcome::CurrencyMismatch { payment_currency } => {
                return Err(EngineError::CurrencyMismatch { payment_currency })
            }
            CreateOutcome::PaymentAmountMismatch { known_minor } => {
                return Err(EngineError::PaymentAmountMismatch {
                    known: format(known_minor),
                })
            }
            CreateOutcome::AmountExceedsRefundable { refundable_minor } => {
                return Err(EngineError::AmountExceedsRefundable {
                    refundable: format(refundable_minor),
                    currency: currency.to_string(),
                })
            }
            CreateOutcome::Replay { body, .. } => return Ok(CreateResult::Replayed(body)),
            CreateOutcome::Abandoned { refund_id } => {
                return match self.store.merchant_refund(&merchant.id, &refund_id).await? {
                    Some(refund) => Ok(CreateResult::ReplayedRefund(refund)),
                    None => Err(EngineError::IdempotencyInProgress),
                }
            }
            CreateOutcome::InProgress => return Err(EngineError::IdempotencyInProgress),
            CreateOutcome::KeyReused => return Err(EngineError::IdempotencyKeyReused),
            CreateOutcome::ReferenceInUse => return Err(EngineError::ReferenceInUse),
        }
        self.metrics
            .refund_transition(provider_id.as_str(), "pending");
        if held {
            return self
                .record_awaiting(record)
                .await
                .map(CreateResult::Created);
        }
        if queued {
            return self.record_queued(record).await.map(CreateResult::Created);
        }

        // Steps 2-3 run in their own task: if the client hangs up, the call still completes
        // and is recorded.
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
            Ok(result) => result.map(CreateResult::Created),
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

    /// Sends a new refund under `permit` and records the outcome; one that provably never
    /// left joins the queue where the account's breaker is on. `stored` is the refund as
    /// this process just wrote it (see `Store::modify_known_refund`).
    pub(crate) async fn send_new(
        &self,
        provider: Arc<dyn RefundProvider>,
        request: &ProviderRefundRequest,
        permit: Permit,
        idempotency_key: Option<&str>,
        stored: RefundRecord,
    ) -> Result<RefundRecord, EngineError> {
        let account = stored.account.clone();
        let result = self
            .send_guarded(&provider, &account, request, permit, true)
            .await;
        let breaker_on = self.breakers.config(provider.id().as_str()).enabled;
        match result {
            Err(ProviderError::NotSent { cause }) if breaker_on => {
                tracing::warn!(refund_id = %request.refund_id, provider = %provider.id(), account = %account, cause = %cause, "provider unreachable; refund queued");
                let key = idempotency_key.map(str::to_owned);
                self.apply_with_known(stored, move |_, refund, now| {
                    if refund.status != RefundStatus::Pending {
                        return Change::default();
                    }
                    let mut change = super::queue::enqueue(refund, now, &cause);
                    change.idempotency_key = key.clone();
                    change
                })
                .await
            }
            result => {
                self.record(&provider, request, result, idempotency_key, Some(stored))
                    .await
            }
        }
    }

    /// The provider's answer to a refund sent under `permit` on `account`, each call's
    /// result told to the account's breaker. With `retry`, a `NotSent` is tried again (twice,
    /// short backoff) while the breaker lets calls through.
    pub(crate) async fn send_guarded(
        &self,
        provider: &Arc<dyn RefundProvider>,
        account: &str,
        request: &ProviderRefundRequest,
        mut permit: Permit,
        retry: bool,
    ) -> Result<refund_provider::ProviderRefund, ProviderError> {
        let span = spans::provider_call(provider.id().as_str(), account, "provider.refund");
        let started = std::time::Instant::now();
        let id = provider.id();
        let mut attempt = 0;
        let result = loop {
            let result = provider.refund(request).instrument(span.clone()).await;
            self.breakers.report(
                id.as_str(),
                account,
                permit,
                Health::of(&result),
                self.store.now(),
            );
            match result {
                // A retry is an ordinary call, never a probe: only while the breaker is closed.
                Err(ProviderError::NotSent { ref cause })
                    if retry
                        && attempt < NOT_SENT_BACKOFF.len()
                        && self
                            .breakers
                            .is_closed(id.as_str(), account, self.store.now()) =>
                {
                    tokio::time::sleep(NOT_SENT_BACKOFF[attempt]).await;
                    if !self
                        .breakers
                        .is_closed(id.as_str(), account, self.store.now())
                    {
                        break result;
                    }
                    permit = Permit::Call;
                    tracing::warn!(refund_id = %request.refund_id, provider = %id, cause = %cause, attempt, "provider unreachable; retrying");
                    attempt += 1;
                }
                other => break other,
            }
        };
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.kind(),
        };
        self.metrics
            .provider_call(id.as_str(), outcome, started.elapsed());
        spans::call_outcome(&span, outcome, started.elapsed());
        result
    }

    /// The provider's answer to the refund, retrying only what provably never left (no
    /// breaker: the sync worker's re-send, whose status query the breaker already let by).
    pub(crate) async fn send(
        &self,
        provider: &Arc<dyn RefundProvider>,
        account: &str,
        request: &ProviderRefundRequest,
    ) -> Result<refund_provider::ProviderRefund, ProviderError> {
        let span = spans::provider_call(provider.id().as_str(), account, "provider.refund");
        let started = std::time::Instant::now();
        let mut attempt = 0;
        let result = loop {
            let result = provider.refund(request).instrument(span.clone()).await;
            match result {
                Err(ProviderError::NotSent { ref cause }) if attempt < NOT_SENT_BACKOFF.len() => {
                    tracing::warn!(refund_id = %request.refund_id, provider = %provider.id(), cause = %cause, attempt, "provider unreachable; retrying");
                    tokio::time::sleep(NOT_SENT_BACKOFF[attempt]).await;
                    attempt += 1;
                }
                other => break other,
            }
        };
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.kind(),
        };
        self.metrics
            .provider_call(provider.id().as_str(), outcome, started.elapsed());
        spans::call_outcome(&span, outcome, started.elapsed());
        result
    }

    /// Records a provider's answer to the refund (or why there is none).
    pub(crate) async fn record(
        &self,
        provider: &Arc<dyn RefundProvider>,
        request: &ProviderRefundRequest,
        result: Result<refund_provider::ProviderRefund, ProviderError>,
        idempotency_key: Option<&str>,
        stored: Option<RefundRecord>,
    ) -> Result<RefundRecord, EngineError> {
        let id = request.refund_id;
        match result {
            Ok(report) => {
                let key = idempotency_key.map(str::to_owned);
                let build = move |engine: &Engine, refund: &RefundRecord, now| {
                    engine.report_change(
                        refund,
                        &report,
                        EventSource::Provider,
                        key.as_deref(),
                        now,
                    )
                };
                match stored {
                    Some(stored) => self.apply_with_known(stored, build).await,
                    None => self.apply_with(&id, build).await,
                }
            }
            Err(error) => {
                if let ProviderError::Misconfigured { message } = &error {
                    tracing::error!(refund_id = %id, provider = %provider.id(), message = %message, "provider configuration is wrong");
                }
                let key = idempotency_key.map(str::to_owned);
                self.apply_with(&id, move |engine, refund, now| {
                    let mut change = failure_change(engine, refund, &error, now);
                    change.idempotency_key = key.clone();
                    change
                })
                .await
            }
        }
    }
}

/// The change a failed provider call leads to.
fn failure_change(
    engine: &Engine,
    refund: &RefundRecord,
    error: &ProviderError,
    now: i64,
) -> Change {
    let emit = engine.emits_events(&refund.merchant_id);
    let fail = |code: FailureCode, message: &str| {
        let mut change = if refund.status.can_move_to(RefundStatus::Failed) {
            transition(
                refund,
                RefundStatus::Failed,
                EventSource::Provider,
                json!({"error": error.kind(), "failure_code": code, "message": message}),
                emit,
            )
        } else {
            Change::default()
        };
        change.failure = change.status.map(|_| (code, message.to_owned()));
        change
    };
    match error {
        ProviderError::Rejected { code, message } => fail(*code, message),
        ProviderError::NotSent { cause } => fail(
            FailureCode::ProviderUnavailable,
            &format!("the provider could not be reached: {cause}"),
        ),
        ProviderError::Misconfigured { .. } => fail(
            FailureCode::ProviderMisconfigured,
            "the gateway's configuration for this provider is wrong; the refund was not made",
        ),
        ProviderError::Unknown { cause } | ProviderError::InvalidWebhook { message: cause } => {
            Change {
                next_sync_at: Some(Some(now + millis(engine.config().sync.first_retry))),
                events: vec![NewEvent {
                    kind: "provider_unknown",
                    status: None,
                    previous_status: None,
                    source: EventSource::Provider,
                    detail: json!({"cause": cause}),
                }],
                ..Change::default()
            }
        }
    }
}

/// Every `provider_options.<id>` of a request, checked by that provider's own parsing
/// whatever provider the refund goes to (a request may carry options for several, DESIGN
/// §5): a mistake in another provider's options is refused, never silently carried; a key
/// that names no provider the gateway knows or runs is refused too (a misspelt provider
/// would otherwise be ignored).
fn check_every_providers_options(
    options: &Value,
    running: &crate::providers::ProviderRegistry,
) -> Result<(), refund_provider::RequestInvalid> {
    let Some(map) = options.as_object() else {
        return Ok(());
    };
    for (id, value) in map {
        if let Some(plugin) = crate::providers::plugin(id) {
            plugin.check_options(value)?;
        } else if !running.ids().any(|known| known.as_str() == id) {
            let mut known: Vec<&str> = crate::providers::PLUGINS.iter().map(|p| p.id()).collect();
            known.extend(running.ids().map(refund_provider::ProviderId::as_str));
            known.sort_unstable();
            known.dedup();
            return Err(refund_provider::RequestInvalid::invalid(
                &format!("provider_options.{id}"),
                format!("no provider has this name (known: {})", known.join(", ")),
            ));
        }
    }
    Ok(())
}
