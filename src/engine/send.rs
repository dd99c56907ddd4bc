//! Sending a refund to its provider and recording the answer (DESIGN §8 steps 2-4), for a
//! new refund, one leaving the queue or approved, and the sync worker's one re-send. Only
//! `NotSent` is retried (twice, short backoff): it provably never left, and every retry
//! carries the same refund id and reference. A failed call becomes the refund's failure;
//! an unknown outcome leaves it `pending` for the sync worker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tracing::Instrument;

use refund_provider::{
    FailureCode, ProviderError, ProviderId, ProviderRefund, ProviderRefundRequest, RefundProvider,
};

use super::breaker::{Health, Permit};
use super::decide::transition;
use super::{millis, Engine, EngineError};
use crate::domain::{EventKind, EventSource, RefundRecord, RefundStatus};
use crate::store::{Change, NewEvent};
use crate::telemetry::spans;

/// Backoff before each retry of a request that was provably not sent.
const NOT_SENT_BACKOFF: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];

impl Engine {
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
    ) -> Result<ProviderRefund, ProviderError> {
        let span = spans::provider_call(provider.id().as_str(), account, "provider.refund");
        let started = Instant::now();
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
        self.observe_call(&span, &id, started, &result);
        result
    }

    /// The provider's answer to the refund, retrying only what provably never left (no
    /// breaker: the sync worker's re-send, whose status query the breaker already let by).
    pub(crate) async fn send(
        &self,
        provider: &Arc<dyn RefundProvider>,
        account: &str,
        request: &ProviderRefundRequest,
    ) -> Result<ProviderRefund, ProviderError> {
        let span = spans::provider_call(provider.id().as_str(), account, "provider.refund");
        let started = Instant::now();
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
        self.observe_call(&span, &provider.id(), started, &result);
        result
    }

    /// A refund call's outcome and duration, in the metrics and on its span.
    fn observe_call(
        &self,
        span: &tracing::Span,
        provider: &ProviderId,
        started: Instant,
        result: &Result<ProviderRefund, ProviderError>,
    ) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(e) => e.kind(),
        };
        self.metrics
            .provider_call(provider.as_str(), outcome, started.elapsed());
        spans::call_outcome(span, outcome, started.elapsed());
    }

    /// Records a provider's answer to the refund (or why there is none).
    pub(crate) async fn record(
        &self,
        provider: &Arc<dyn RefundProvider>,
        request: &ProviderRefundRequest,
        result: Result<ProviderRefund, ProviderError>,
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
                    kind: EventKind::ProviderUnknown,
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
