//! The status sync worker (DESIGN §8 steps 4-5): follows every `pending` or `processing`
//! refund to a final status by status query, with exponential backoff.
//!
//! - Rows are claimed with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL), renewed per
//!   refund just before its query (a refund whose lease ran out while earlier ones were
//!   queried is skipped), so several gateway processes never query the same refund at once;
//!   a crashed process's refunds (left `pending` with a next sync time at insert) are picked
//!   up when the lease expires.
//! - "Not found" shortly after an unknown outcome is not proof that nothing happened: the
//!   request may still be in flight. Only once the refund is older than
//!   `sync.not_found_grace_ms` (longer than any provider timeout) does a `pending` refund
//!   conclude: a provider that deduplicates by reference (eFundPay) is sent the same refund
//!   again, which is safe; any other provider (AuthMS, e-Buy) is never re-sent, and the
//!   refund fails as never made after a second "not found".
//! - After `sync.give_up_after_hours` an open refund is flagged `requires_attention` in its
//!   history (its status stays) and keeps being queried at the longest interval.

use std::collections::BTreeMap;

use serde_json::json;
use time::OffsetDateTime;

use std::sync::Arc;

use tracing::Instrument;

use refund_provider::{
    Currency, FailureCode, Money, PaymentId, ProviderError, ProviderRefundRequest,
    ProviderRefundStatus, RefundId, RefundProvider,
};

use refund_provider::proof::{after_no_record, NoRecord};

use super::breaker::{Caller, Health, Permit};
use super::decide::transition;
use super::{millis, Engine, EngineError};
use crate::domain::{AttentionReason, EventKind, EventSource, RefundRecord, RefundStatus};
use crate::faults::Faults;
use crate::store::work::Queue;
use crate::store::{Change, NewEvent, StoreError};
use crate::telemetry::spans;

/// How many refunds one pass claims.
const BATCH: i64 = 64;

/// The merchant's `metadata` object as the string pairs a provider request carries (the API
/// accepts string values only; anything else, which the store never holds, is left out).
pub(crate) fn metadata_pairs(metadata: &serde_json::Value) -> BTreeMap<String, String> {
    metadata
        .as_object()
        .map(|object| {
            object
                .iter()
                .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Rebuilds the provider request of a stored refund: the same id, reference, amount,
/// merchant and metadata as the first attempt, plus the provider's refund id once known.
pub(crate) fn request_for(refund: &RefundRecord) -> Result<ProviderRefundRequest, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("refund {}: {what}", refund.id));
    let currency = Currency::parse(&refund.currency).map_err(|_| corrupt("currency"))?;
    // For a full refund this is the amount the provider reported, once known.
    let amount = refund
        .amount
        .as_deref()
        .map(|text| Money::parse(text, currency).map_err(|_| corrupt("amount")))
        .transpose()?;
    Ok(ProviderRefundRequest {
        refund_id: refund.id,
        provider_reference: refund.provider_reference.clone(),
        payment_id: PaymentId::parse(&refund.payment_id).map_err(|_| corrupt("payment_id"))?,
        currency,
        amount,
        reason: refund.reason.clone(),
        customer_id: refund.customer_id.clone(),
        options: refund.provider_options.clone(),
        created_at: OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(refund.created_at) * 1_000_000,
        )
        .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        merchant_id: Some(refund.merchant_id.clone()),
        metadata: metadata_pairs(&refund.metadata),
        provider_refund_id: refund.provider_refund_id.clone(),
    })
}

/// A status query of `request` on `account`, in a `provider.call` span.
async fn status_query(
    provider: &Arc<dyn RefundProvider>,
    account: &str,
    request: &ProviderRefundRequest,
) -> Result<refund_provider::ProviderRefund, ProviderError> {
    let span = spans::provider_call(provider.id().as_str(), account, "provider.refund_status");
    let started = std::time::Instant::now();
    let result = provider
        .refund_status(request)
        .instrument(span.clone())
        .await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.kind(),
    };
    spans::call_outcome(&span, outcome, started.elapsed());
    result
}

impl Engine {
    /// Runs the sync loop forever; the application aborts it on shutdown. Each pass runs
    /// on the configuration current when it starts (a reload's poll interval applies from
    /// the next tick).
    pub(crate) async fn run_sync(self) {
        let mut ticker = super::ticker::Ticker::new(|engine| engine.config().sync.poll_interval);
        loop {
            let engine = ticker.tick(&self).await;
            if let Err(e) = engine.sync_pass().await {
                tracing::warn!(error = %e, "status sync pass failed");
            }
        }
    }

    /// Claims the refunds that are due and queries each; returns how many were looked at.
    #[doc(hidden)]
    pub async fn sync_pass(&self) -> Result<usize, EngineError> {
        let now = self.store.now();
        let lease = now + millis(self.config().server.request_timeout) + 5_000;
        let due = self.store.claim_due_refunds(now, lease, BATCH).await?;
        let mut count = 0;
        for id in due {
            // The batch's lease may have run out while earlier refunds were queried: work on
            // this one only if it is still ours, for one more query's time.
            let now = self.store.now();
            let until = now + millis(self.config().server.request_timeout) + 5_000;
            if !self
                .store
                .renew_lease(Queue::Sync, &id.to_string(), lease, now, until)
                .await?
            {
                tracing::info!(refund_id = %id, "sync lease expired before its turn; left for a later pass");
                continue;
            }
            count += 1;
            if let Err(e) = self.sync_one(&id).await {
                tracing::warn!(refund_id = %id, error = %e, "status sync of a refund failed");
            }
        }
        Ok(count)
    }

    /// One status query of one refund, and whatever it leads to.
    pub(crate) async fn sync_one(&self, id: &RefundId) -> Result<(), EngineError> {
        let span = spans::engine_step("engine.sync");
        span.record("refund_id", tracing::field::display(id));
        self.sync_one_in(id).instrument(span).await
    }

    async fn sync_one_in(&self, id: &RefundId) -> Result<(), EngineError> {
        let Some(refund) = self.store.refund(id).await? else {
            return Ok(());
        };
        if refund.status.is_final() {
            return Ok(());
        }
        let Some(provider) = self.provider_of(&refund) else {
            tracing::error!(refund_id = %id, provider = %refund.provider, account = %refund.account, "refund's provider account is not configured; cannot sync");
            self.reschedule(
                id,
                EventKind::ProviderNotConfigured,
                json!({"provider": refund.provider, "account": refund.account}),
            )
            .await?;
            return Ok(());
        };
        let request = request_for(&refund)?;
        // An open breaker: the query waits for it (DESIGN §17), costing the provider nothing.
        let permit = self.breakers.permit(
            &refund.provider,
            &refund.account,
            Caller::Query,
            self.store.now(),
        );
        if let Permit::Wait { until } = permit {
            return self.defer(id, until).await;
        }
        let result = status_query(&provider, &refund.account, &request).await;
        self.breakers.report(
            &refund.provider,
            &refund.account,
            permit,
            Health::of(&result),
            self.store.now(),
        );
        match result {
            Ok(report) if report.status != ProviderRefundStatus::NotFound => {
                self.apply_with(id, move |engine, current, now| {
                    let change =
                        engine.report_change(current, &report, EventSource::Sync, None, now);
                    engine.scheduled(current, change, now)
                })
                .await?;
            }
            Ok(_) => self.no_record(&refund, provider, &request).await?,
            Err(error) => {
                if matches!(error, refund_provider::ProviderError::Misconfigured { .. }) {
                    tracing::error!(refund_id = %id, provider = %refund.provider, "status query refused: provider configuration is wrong");
                }
                self.reschedule(
                    id,
                    EventKind::StatusQueryFailed,
                    json!({"error": error.kind(), "cause": error.to_string()}),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// A status query found no record of `refund` (DESIGN §16). Within the grace period after
    /// it was sent (or re-sent), or once it is no longer pending, that proves nothing and the
    /// refund is asked about again. After it, what the provider proves decides
    /// ([`after_no_record`]): not proven absent, the refund is flagged once for an operator
    /// and stays pending, never sent again; proven absent, it is re-sent once where a re-send
    /// is deduplicated, else failed. The one re-send is claimed in the store first, so no
    /// process ever sends it twice.
    async fn no_record(
        &self,
        refund: &RefundRecord,
        provider: Arc<dyn RefundProvider>,
        request: &ProviderRefundRequest,
    ) -> Result<(), EngineError> {
        let id = &refund.id;
        let resent_at = self.store.resent_at(id).await?;
        let now = self.store.now();
        let silent_for = now
            - resent_at
                .unwrap_or(refund.created_at)
                .max(refund.created_at);
        if silent_for < millis(self.config().sync.not_found_grace)
            || refund.status != RefundStatus::Pending
        {
            return self
                .reschedule(
                    id,
                    EventKind::ProviderNotFound,
                    json!({"age_ms": silent_for}),
                )
                .await;
        }
        let mut proofs = self.providers().proofs(provider.as_ref());
        // Planted bugs for the model test (`crate::faults`); never set outside it.
        if Faults::on(&self.store.faults.resend_without_proof) {
            proofs.not_found_proves_absence = true;
            proofs.resend_is_deduplicated = true;
        }
        if Faults::on(&self.store.faults.fail_without_proof) {
            proofs.not_found_proves_absence = true;
            proofs.resend_is_deduplicated = false;
        }
        let proven = json!({
            "age_ms": silent_for,
            "not_found_proves_absence": proofs.not_found_proves_absence,
            "resend_is_deduplicated": proofs.resend_is_deduplicated,
            "resent": resent_at.is_some(),
        });
        match after_no_record(proofs, resent_at.is_some()) {
            NoRecord::Flag => {
                let first = !self
                    .store
                    .was_flagged_for(id, AttentionReason::ProviderHasNoRecord)
                    .await?;
                if first {
                    tracing::warn!(refund_id = %id, provider = %refund.provider, "the provider has no record of this refund and its status query proves nothing: flagged for an operator, never re-sent");
                }
                self.apply_with(id, move |engine, current, now| {
                    let event = if first {
                        NewEvent::attention(
                            AttentionReason::ProviderHasNoRecord,
                            EventSource::Sync,
                            proven.clone(),
                        )
                    } else {
                        NewEvent {
                            kind: EventKind::ProviderNotFound,
                            status: None,
                            previous_status: None,
                            source: EventSource::Sync,
                            detail: proven.clone(),
                        }
                    };
                    let mut change = Change {
                        flag_requires_attention: first,
                        ..Change::default()
                    };
                    change.events.push(event);
                    engine.scheduled(current, change, now)
                })
                .await?;
            }
            NoRecord::Resend => {
                if !self.store.claim_resend(id, now).await? {
                    // Another process claimed the one re-send first: it sends it.
                    return self
                        .reschedule(id, EventKind::ProviderNotFound, proven)
                        .await;
                }
                tracing::info!(refund_id = %id, provider = %refund.provider, "no record after the grace period, absence proven: re-sending once with the same reference");
                self.apply_with(id, move |engine, current, now| {
                    let mut change = engine.scheduled(current, Change::default(), now);
                    change.events.push(NewEvent {
                        kind: EventKind::Resent,
                        status: None,
                        previous_status: None,
                        source: EventSource::Sync,
                        detail: json!({"reason": "provider_has_no_record", "provider_reference": current.provider_reference, "proofs": proven}),
                    });
                    change
                })
                .await?;
                self.resend(provider, &refund.account, request).await?;
            }
            NoRecord::Fail => {
                self.apply_with(id, move |engine, current, _now| {
                    if current.status != RefundStatus::Pending {
                        return Change::default();
                    }
                    let message = "the provider has no record of this refund well after it was sent, and its status query proves that it was never made";
                    let mut change = transition(
                        current,
                        RefundStatus::Failed,
                        EventSource::Sync,
                        json!({"reason": "provider_has_no_record", "failure_code": FailureCode::ProviderUnavailable, "proofs": proven}),
                        engine.emits_events(&current.merchant_id),
                    );
                    change.failure = Some((FailureCode::ProviderUnavailable, message.to_owned()));
                    change
                })
                .await?;
            }
        }
        Ok(())
    }

    /// Re-sends (once) a refund its provider proved absent, to a provider that deduplicates
    /// by reference. A refusal of the
    /// re-send (a 4xx, or our credentials refused) is not yet proof that nothing was paid:
    /// the provider may refuse it because it has the first one (under an answer that got
    /// lost). So a status query decides first: the refund it finds is applied; only when the
    /// provider has no such refund does the refusal stand; when it cannot say, the refund
    /// stays pending and is queried again.
    async fn resend(
        &self,
        provider: Arc<dyn RefundProvider>,
        account: &str,
        request: &ProviderRefundRequest,
    ) -> Result<(), EngineError> {
        let result = self.send(&provider, account, request).await;
        let refused = matches!(
            result,
            Err(ProviderError::Rejected { .. } | ProviderError::Misconfigured { .. })
        );
        if !refused {
            self.record(&provider, request, result, None, None).await?;
            return Ok(());
        }
        let id = request.refund_id;
        match status_query(&provider, account, request).await {
            Ok(report) if report.status != ProviderRefundStatus::NotFound => {
                tracing::info!(refund_id = %id, "re-send refused, but the provider has the refund: applying what it says");
                self.apply_report(&id, &report, EventSource::Sync, None)
                    .await?;
            }
            Ok(_) => {
                self.record(&provider, request, result, None, None).await?;
            }
            Err(error) => {
                self.reschedule(
                    &id,
                    EventKind::ResendRefusedUnconfirmed,
                    json!({"resend": result.err().map(|e| e.to_string()), "status_query": error.to_string()}),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Puts off a refund's status query until its account's breaker may let it through
    /// (its own backoff when later), without counting an attempt or writing history.
    async fn defer(&self, id: &RefundId, until: i64) -> Result<(), EngineError> {
        self.apply_with(id, move |engine, current, now| {
            let own = now + millis(engine.next_sync_delay(current.sync_attempts));
            Change {
                next_sync_at: Some(Some(until.max(own))),
                ..Change::default()
            }
        })
        .await?;
        Ok(())
    }

    /// Records an inconclusive query and schedules the next one.
    async fn reschedule(
        &self,
        id: &RefundId,
        kind: EventKind,
        detail: serde_json::Value,
    ) -> Result<(), EngineError> {
        self.apply_with(id, move |engine, current, now| {
            let mut change = engine.scheduled(current, Change::default(), now);
            change.events.push(NewEvent {
                kind,
                status: None,
                previous_status: None,
                source: EventSource::Sync,
                detail: detail.clone(),
            });
            change
        })
        .await?;
        Ok(())
    }

    /// Adds the sync bookkeeping to a change: one more attempt, the next query time while
    /// the refund stays open, and the give-up flag once it has been open too long.
    fn scheduled(&self, refund: &RefundRecord, mut change: Change, now: i64) -> Change {
        let attempts = refund.sync_attempts + 1;
        change.sync_attempts = Some(attempts);
        let stays_open = !change.status.unwrap_or(refund.status).is_final();
        if stays_open {
            change.next_sync_at = Some(Some(now + millis(self.next_sync_delay(attempts))));
            let open_for = now - refund.created_at;
            // A planted bug (`crate::faults`) never gives up.
            if open_for > millis(self.config().sync.give_up_after)
                && !refund.requires_attention
                && !Faults::on(&self.store.faults.never_give_up)
            {
                change.flag_requires_attention = true;
                change.events.push(NewEvent {
                    kind: EventKind::RequiresAttention,
                    status: None,
                    previous_status: None,
                    source: EventSource::Sync,
                    detail: json!({"reason": "sync_gave_up", "open_for_ms": open_for}),
                });
            }
        }
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored() -> RefundRecord {
        RefundRecord {
            id: RefundId::generate(),
            merchant_id: "acme".into(),
            provider: "stripe".into(),
            account: "default".into(),
            provider_refund_id: Some("re_123".into()),
            provider_reference: "ref_1".into(),
            payment_id: "pi_1".into(),
            amount: Some("12.99".into()),
            amount_minor: Some(1299),
            currency: "EUR".into(),
            status: RefundStatus::Processing,
            failure_code: None,
            failure_message: None,
            reason: Some("Product return".into()),
            reference: None,
            customer_id: None,
            metadata: json!({"order": "A-1001", "channel": "web"}),
            provider_options: json!({"reason": "duplicate"}),
            breakdown: json!([]),
            requires_attention: false,
            idempotency_key: None,
            version: 3,
            created_at: 1_700_000_000_000,
            updated_at: 1_700_000_000_000,
            next_sync_at: None,
            sync_attempts: 0,
            pending_reason: None,
            queued_at: None,
        }
    }

    #[test]
    fn a_stored_refund_is_asked_about_with_its_merchant_metadata_and_provider_refund_id() {
        let refund = stored();
        let req = request_for(&refund).expect("request");
        assert_eq!(req.refund_id, refund.id);
        assert_eq!(req.provider_reference, "ref_1");
        assert_eq!(req.merchant_id.as_deref(), Some("acme"));
        assert_eq!(req.provider_refund_id.as_deref(), Some("re_123"));
        assert_eq!(
            req.metadata.iter().collect::<Vec<_>>(),
            [
                (&"channel".to_owned(), &"web".to_owned()),
                (&"order".to_owned(), &"A-1001".to_owned())
            ]
        );
        assert_eq!(req.amount.map(|m| m.minor_units().get()), Some(1299));
        assert_eq!(req.options["reason"], "duplicate");
        assert_eq!(req.created_at.unix_timestamp(), 1_700_000_000);
    }

    #[test]
    fn metadata_pairs_keep_strings_only() {
        let pairs = metadata_pairs(&json!({"a": "1", "b": 2, "c": null}));
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs.get("a").map(String::as_str), Some("1"));
        assert!(metadata_pairs(&json!(null)).is_empty());
    }
}
