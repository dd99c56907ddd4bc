//! The refund engine: the exactly-once create protocol (DESIGN §8), the application of
//! provider reports (create answers, status queries, webhooks) and the errors it reports to
//! the API layer.

pub mod approval;
pub mod breaker;
pub mod create;
pub mod decide;
pub mod housekeeping;
mod intake;
pub mod outbox;
pub mod preview;
pub mod queue;
pub mod resolve;
mod send;
pub mod sync;
mod ticker;

use std::sync::Arc;
use std::time::Duration;

use refund_provider::{
    InvalidCode, ProviderId, ProviderRefund, ProviderWebhook, RefundId, RefundProvider,
    RequestInvalid,
};

use crate::config::Config;
use crate::domain::{EntryKind, EventKind, EventSource, RefundRecord, RefundStatus};
use crate::faults::Faults;
use crate::ledger;
use crate::limits::webhooks::WebhookLimits;
use crate::limits::RateLimits;
use crate::live::{Live, Snapshot};
use crate::metrics::Metrics;
use crate::providers::{Account, ProviderRegistry};
use crate::store::{Change, Modified, Receipt, Store, StoreError, WebhookApplied as StoreWebhook};
use crate::telemetry::spans;
use tracing::Instrument;

pub use create::{CreateCommand, CreateResult};
pub use resolve::ResolveCommand;

/// Errors the engine hands to the API layer, each mapped to one API error code there.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{message}")]
    InvalidRequest {
        code: InvalidCode,
        message: String,
        param: Option<String>,
    },
    #[error("provider `{0}` is not available to this merchant")]
    ProviderUnsupported(String),
    #[error("no routing rule matched this refund")]
    NoRoute,
    #[error("an earlier request with this Idempotency-Key is still being processed")]
    IdempotencyInProgress,
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error("this reference is already used by another refund")]
    ReferenceInUse,
    #[error("no such payment")]
    PaymentNotFound,
    #[error("the payment is in {payment_currency}")]
    CurrencyMismatch { payment_currency: String },
    #[error("the payment's amount was given before as {known}")]
    PaymentAmountMismatch { known: String },
    #[error("the amount exceeds what is left to refund of the payment: {refundable} {currency}")]
    AmountExceedsRefundable {
        refundable: String,
        currency: String,
    },
    #[error("the refund is already {status}: a final refund never moves")]
    RefundFinal { status: RefundStatus },
    #[error(
        "the refund was already sent to the provider: only a refund still queued can be canceled"
    )]
    RefundSent,
    #[error("the refund is not awaiting approval")]
    NotAwaitingApproval,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the refund changed concurrently too many times")]
    Contention,
}

/// A request a provider's pre-flight checks refuse: answered 400 with its own code.
impl From<RequestInvalid> for EngineError {
    fn from(invalid: RequestInvalid) -> Self {
        Self::InvalidRequest {
            code: invalid.code,
            message: invalid.message,
            param: invalid.param,
        }
    }
}

/// What a provider webhook did.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookApplied {
    /// A genuine event the provider sends but the gateway need not act on
    /// (`ProviderWebhook::ignored`, e.g. Stripe's `charge.refunded`): acknowledged, nothing
    /// read or written.
    Ignored,
    /// The event was applied before: nothing done.
    Duplicate,
    /// No refund of that account has its reference: acknowledged, nothing changed.
    UnknownRefund,
    /// Applied to this refund (as it is afterwards).
    Refund(Box<RefundRecord>),
}

/// Shared engine state: the store and metrics, and one snapshot of the live configuration
/// (see [`crate::live`]). Everything one request or one engine step reads of the
/// configuration comes from [`Engine::config`] and [`Engine::providers`] of one `Engine`
/// value, so from one generation; a long-running loop takes [`Engine::current`] once per
/// round.
#[derive(Clone)]
pub struct Engine {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    snapshot: Arc<Snapshot>,
    live: Arc<Live>,
    /// Each provider account's circuit breaker in this process (DESIGN §17); kept across
    /// reloads, which only change their settings.
    pub breakers: Arc<breaker::Breakers>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine on `store` whose live configuration starts as `first`.
    pub(crate) fn new(store: Store, metrics: Arc<Metrics>, first: Snapshot) -> Self {
        metrics.set_config_generation(first.generation);
        let breakers = Arc::new(breaker::Breakers::new(first.config.breakers.clone()));
        // Every configured account shows in the metrics and the console from the start.
        for (provider, account) in first.providers.accounts() {
            breakers.saw_queue(&provider, &account, 0, None);
        }
        let now = store.now();
        metrics.breakers(&breakers.views(now), now);
        let live = Arc::new(Live::new(first));
        Self {
            store,
            metrics,
            snapshot: live.load(),
            live,
            breakers,
        }
    }

    /// An engine on `store` running `config` with `providers` as its first generation
    /// (benches and embedders; the application builds its own in `startup`).
    pub fn from_parts(
        store: Store,
        metrics: Arc<Metrics>,
        config: Config,
        providers: ProviderRegistry,
    ) -> Self {
        Self::new(store, metrics, Snapshot::first(config, providers))
    }

    /// The configuration of this engine's snapshot.
    pub fn config(&self) -> &Config {
        &self.snapshot.config
    }

    /// The provider accounts of this engine's snapshot.
    pub fn providers(&self) -> &ProviderRegistry {
        &self.snapshot.providers
    }

    /// The rate limiters of this engine's snapshot.
    pub(crate) fn limits(&self) -> &Arc<RateLimits> {
        &self.snapshot.limits
    }

    /// The provider webhook limiter of the snapshot this engine reads.
    pub(crate) fn webhook_limits(&self) -> &Arc<WebhookLimits> {
        &self.snapshot.webhook_limits
    }

    /// The snapshot this engine reads.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }

    /// The same engine on the snapshot current now (a reload may have replaced this one's).
    #[must_use]
    pub fn current(&self) -> Self {
        Self {
            store: self.store.clone(),
            metrics: self.metrics.clone(),
            snapshot: self.live.load(),
            live: self.live.clone(),
            breakers: self.breakers.clone(),
        }
    }

    /// Makes `next` the live snapshot (a reload): requests and steps already under way keep
    /// the one they began with.
    pub(crate) fn publish(&self, next: Snapshot) {
        self.metrics.set_config_generation(next.generation);
        self.breakers.reconfigure(next.config.breakers.clone());
        for (provider, account) in next.providers.accounts() {
            if !self.breakers.is_known(&provider, &account) {
                self.breakers.saw_queue(&provider, &account, 0, None);
            }
        }
        self.live.publish(next);
    }

    /// Whether merchant events should be written for this merchant (it has a webhook URL).
    pub(crate) fn emits_events(&self, merchant_id: &str) -> bool {
        self.config()
            .merchant(merchant_id)
            .is_some_and(|m| m.webhook_url.is_some())
    }

    /// The adapter of the account a stored refund was made on (DESIGN §14): status queries
    /// and re-sends of a refund go out on the same account as its first call.
    pub(crate) fn provider_of(&self, refund: &RefundRecord) -> Option<Arc<dyn RefundProvider>> {
        let id = ProviderId::parse(&refund.provider).ok()?;
        let account = Account::parse(&refund.account)?;
        self.providers().account(&id, &account).cloned()
    }

    /// What `refund`'s provider proves (DESIGN §16): its adapter's declared proofs and what its
    /// section trusts; `None` when the refund's account is no longer configured.
    pub(crate) fn proofs_of(&self, refund: &RefundRecord) -> Option<refund_provider::Proofs> {
        self.provider_of(refund)
            .map(|provider| self.providers().proofs(provider.as_ref()))
    }

    /// Whether `refund`'s provider's success reports must carry the amount (true when its
    /// account is no longer configured: nothing unproven is booked).
    pub(crate) fn answers_carry_amount(&self, refund: &RefundRecord) -> bool {
        self.proofs_of(refund)
            .is_none_or(|proofs| proofs.answers_carry_amount)
    }

    /// When the next status query of an open refund is due after `attempts` queries.
    pub(crate) fn next_sync_delay(&self, attempts: i64) -> Duration {
        let first = self.config().sync.first_retry;
        let factor = 2u32.saturating_pow(u32::try_from(attempts.clamp(0, 30)).unwrap_or(30));
        first
            .saturating_mul(factor)
            .min(self.config().sync.max_retry)
    }

    /// Applies a provider's report to a refund (see `decide`). Returns the refund afterwards.
    pub(crate) async fn apply_report(
        &self,
        id: &RefundId,
        report: &ProviderRefund,
        source: EventSource,
        idempotency_key: Option<&str>,
    ) -> Result<RefundRecord, EngineError> {
        let report = report.clone();
        let key = idempotency_key.map(str::to_owned);
        self.apply_with(id, move |engine, refund, now| {
            engine.report_change(refund, &report, source, key.as_deref(), now)
        })
        .await
    }

    /// The change a provider's report makes to `refund` at `now`.
    pub(crate) fn report_change(
        &self,
        refund: &RefundRecord,
        report: &ProviderRefund,
        source: EventSource,
        idempotency_key: Option<&str>,
        now: i64,
    ) -> Change {
        let next = now + millis(self.next_sync_delay(refund.sync_attempts));
        // A planted bug (`crate::faults`): a reported amount other than the one asked is
        // booked, as if nothing had been asked.
        let forgetful;
        let refund = match report.amount {
            Some(reported)
                if Faults::on(&self.store.faults.book_reported_amount)
                    && refund
                        .amount_minor
                        .is_some_and(|asked| asked != reported.minor_units().get()) =>
            {
                forgetful = RefundRecord {
                    amount: None,
                    amount_minor: None,
                    ..refund.clone()
                };
                &forgetful
            }
            _ => refund,
        };
        let mut change = decide::decide(
            refund,
            report,
            source,
            next,
            self.emits_events(&refund.merchant_id),
            self.answers_carry_amount(refund),
        );
        change.idempotency_key = idempotency_key.map(str::to_owned);
        note_reversal(&mut change, refund, report);
        change
    }

    /// Reads the refund, builds a change with `build` from the refund as it is, and writes it
    /// atomically (`Store::modify_refund`). Returns the refund afterwards.
    pub(crate) async fn apply_with(
        &self,
        id: &RefundId,
        build: impl Fn(&Engine, &RefundRecord, i64) -> Change + Send + Sync + 'static,
    ) -> Result<RefundRecord, EngineError> {
        let engine = self.clone();
        let modified = self
            .store
            .modify_refund(*id, move |refund, now| {
                Ok::<_, std::convert::Infallible>(build(&engine, refund, now))
            })
            .instrument(spans::store_write("store.change_refund"))
            .await?;
        match modified {
            Ok(modified) => self.modified(id, modified),
            Err(never) => match never {},
        }
    }

    /// Applies a verified provider webhook for one account: once per event id, to that
    /// account's refund only (see `Store::apply_webhook`).
    ///
    /// An event the adapter acknowledged and ignored touches nothing, not even the receipts:
    /// a receipt exists to apply an event once, and an event that applies nothing is harmless
    /// however often it comes, so recording it would only cost a durable write per event (the
    /// provider sends one with every refund) and rows for retention to purge.
    #[doc(hidden)]
    pub async fn apply_webhook(
        &self,
        provider: &ProviderId,
        account: String,
        webhook: ProviderWebhook,
    ) -> Result<WebhookApplied, EngineError> {
        if webhook.is_ignored() {
            return Ok(WebhookApplied::Ignored);
        }
        let receipt = Receipt {
            provider: provider.to_string(),
            account,
            event_id: webhook.event_id,
        };
        let report = webhook.refund;
        let again = report.clone();
        let reference = report.provider_reference.clone();
        let engine = self.clone();
        let applied = self
            .store
            .apply_webhook(receipt, reference, move |refund, now| {
                engine.report_change(refund, &report, EventSource::Webhook, None, now)
            })
            .instrument(spans::store_write("store.apply_webhook"))
            .await?;
        Ok(match applied {
            StoreWebhook::Duplicate => WebhookApplied::Duplicate,
            StoreWebhook::UnknownRefund => WebhookApplied::UnknownRefund,
            StoreWebhook::Refund(modified) => {
                let modified = *modified;
                let id = match &modified {
                    Modified::Unchanged(refund) => refund.id,
                    Modified::Changed { after, .. } => after.id,
                    Modified::Missing | Modified::Contended => {
                        return Err(EngineError::Contention);
                    }
                };
                let refund = self.modified(&id, modified)?;
                if Faults::on(&self.store.faults.webhook_applied_twice) {
                    // The planted bug (`crate::faults`): the event applied a second time,
                    // as if the refund were still open (the final-status guard skipped).
                    let report = again;
                    let refund = self
                        .apply_with(&id, move |engine, refund, now| {
                            let mut reopened = refund.clone();
                            reopened.status = RefundStatus::Pending;
                            engine.report_change(
                                &reopened,
                                &report,
                                EventSource::Webhook,
                                None,
                                now,
                            )
                        })
                        .await?;
                    return Ok(WebhookApplied::Refund(Box::new(refund)));
                }
                WebhookApplied::Refund(Box::new(refund))
            }
        })
    }

    /// [`Engine::apply_with`] from the refund as this process holds it (see
    /// `Store::modify_known_refund`).
    pub(crate) async fn apply_with_known(
        &self,
        known: RefundRecord,
        build: impl Fn(&Engine, &RefundRecord, i64) -> Change + Send + Sync + 'static,
    ) -> Result<RefundRecord, EngineError> {
        let id = known.id;
        let engine = self.clone();
        let modified = self
            .store
            .modify_known_refund(known, move |refund, now| {
                Ok::<_, std::convert::Infallible>(build(&engine, refund, now))
            })
            .instrument(spans::store_write("store.change_refund"))
            .await?;
        match modified {
            Ok(modified) => self.modified(&id, modified),
            Err(never) => match never {},
        }
    }

    /// The refund after a store modification, counting a status change in the metrics.
    pub(crate) fn modified(
        &self,
        id: &RefundId,
        modified: Modified,
    ) -> Result<RefundRecord, EngineError> {
        match modified {
            Modified::Missing => Err(StoreError::Corrupt(format!("refund {id} vanished")).into()),
            Modified::Unchanged(refund) => Ok(refund),
            Modified::Changed { before, after } => {
                if after.status != before {
                    self.metrics
                        .refund_transition(&after.provider, after.status.as_str());
                }
                Ok(after)
            }
            Modified::Contended => Err(EngineError::Contention),
        }
    }
}

/// When `change` reverses a succeeded refund's lines (a void, or a failure reported after
/// success: both are one [`EntryKind::RefundCanceled`] reversal, posted once whichever comes),
/// notes in its flag event which status the provider reported, so that reconciliation
/// matches the refund against a statement saying `canceled` for a void and `failed` for a
/// failure (`Store::reversals`), not `canceled` for both.
fn note_reversal(change: &mut Change, refund: &RefundRecord, report: &ProviderRefund) {
    let reversal = change
        .ledger
        .iter()
        .any(|l| l.entry_kind == EntryKind::RefundCanceled);
    let reported = RefundStatus::from_provider(report.status);
    let (true, RefundStatus::Succeeded, Some(reported)) = (reversal, refund.status, reported)
    else {
        return;
    };
    for event in change
        .events
        .iter_mut()
        .filter(|e| e.kind == EventKind::RequiresAttention)
    {
        if let Some(detail) = event.detail.as_object_mut() {
            detail.insert(ledger::REVERSED_TO.into(), reported.as_str().into());
        }
    }
}

/// Milliseconds of a duration, saturating.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
