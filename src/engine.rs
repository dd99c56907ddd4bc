//! The refund engine: the exactly-once create protocol (DESIGN §8), the application of
//! provider reports (create answers, status queries, webhooks) and the errors it reports to
//! the API layer.

pub mod breaker;
pub mod create;
pub mod decide;
pub mod housekeeping;
pub mod outbox;
pub mod queue;
pub mod resolve;
pub mod sync;

use std::sync::Arc;
use std::time::Duration;

use refund_provider::{
    InvalidCode, ProviderId, ProviderRefund, ProviderWebhook, RefundId, RefundProvider,
    RequestInvalid,
};

use crate::config::Config;
use crate::domain::EventSource;
use crate::metrics::Metrics;
use crate::providers::{Account, ProviderRegistry};
use crate::store::{
    Change, Modified, Receipt, RefundRecord, Store, StoreError, WebhookApplied as StoreWebhook,
};

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
    RefundFinal { status: crate::domain::RefundStatus },
    #[error(
        "the refund was already sent to the provider: only a refund still queued can be canceled"
    )]
    RefundSent,
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
pub(crate) enum WebhookApplied {
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

/// Shared engine state.
#[derive(Clone)]
pub struct Engine {
    pub store: Store,
    pub providers: Arc<ProviderRegistry>,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// Each provider account's circuit breaker in this process (DESIGN §17).
    pub breakers: Arc<breaker::Breakers>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `store` and `providers`, with a closed breaker for every provider
    /// account as configured.
    pub fn new(
        store: Store,
        providers: Arc<ProviderRegistry>,
        config: Arc<Config>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let breakers = Arc::new(breaker::Breakers::new(config.breakers.clone()));
        // Every configured account shows in the metrics and the console from the start.
        for (provider, account) in providers.accounts() {
            breakers.saw_queue(&provider, &account, 0, None);
        }
        Self {
            store,
            providers,
            config,
            metrics,
            breakers,
        }
    }

    /// Whether merchant events should be written for this merchant (it has a webhook URL).
    pub(crate) fn emits_events(&self, merchant_id: &str) -> bool {
        self.config
            .merchant(merchant_id)
            .is_some_and(|m| m.webhook_url.is_some())
    }

    /// The adapter of the account a stored refund was made on (DESIGN §14): status queries
    /// and re-sends of a refund go out on the same account as its first call.
    pub(crate) fn provider_of(&self, refund: &RefundRecord) -> Option<Arc<dyn RefundProvider>> {
        let id = ProviderId::parse(&refund.provider).ok()?;
        let account = Account::parse(&refund.account)?;
        self.providers.account(&id, &account).cloned()
    }

    /// When the next status query of an open refund is due after `attempts` queries.
    pub(crate) fn next_sync_delay(&self, attempts: i64) -> Duration {
        let first = self.config.sync.first_retry;
        let factor = 2u32.saturating_pow(u32::try_from(attempts.clamp(0, 30)).unwrap_or(30));
        first.saturating_mul(factor).min(self.config.sync.max_retry)
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
        let mut change = decide::decide(
            refund,
            report,
            source,
            next,
            self.emits_events(&refund.merchant_id),
        );
        change.idempotency_key = idempotency_key.map(str::to_owned);
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
    pub(crate) async fn apply_webhook(
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
        let reference = report.provider_reference.clone();
        let engine = self.clone();
        let applied = self
            .store
            .apply_webhook(receipt, reference, move |refund, now| {
                engine.report_change(refund, &report, EventSource::Webhook, None, now)
            })
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
                WebhookApplied::Refund(Box::new(self.modified(&id, modified)?))
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

/// Milliseconds of a duration, saturating.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
