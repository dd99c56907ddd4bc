//! The refund engine: the exactly-once create protocol (DESIGN §8), the application of
//! provider reports (create answers, status queries, webhooks) and the errors it reports to
//! the API layer.

pub mod create;
pub mod decide;
pub mod housekeeping;
pub mod outbox;
pub mod resolve;
pub mod sync;

use std::sync::Arc;
use std::time::Duration;

use refund_provider::{ProviderId, ProviderRefund, RefundId, RefundProvider};

use crate::config::Config;
use crate::metrics::Metrics;
use crate::providers::{Account, ProviderRegistry};
use crate::store::{Change, RefundRecord, Store, StoreError};

pub use create::{CreateCommand, CreateResult};
pub use decide::Source;
pub use resolve::ResolveCommand;

/// Errors the engine hands to the API layer, each mapped to one API error code there.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{message}")]
    InvalidRequest {
        code: &'static str,
        message: String,
        param: Option<String>,
    },
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
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the refund changed concurrently too many times")]
    Contention,
}

/// Shared engine state.
#[derive(Clone)]
pub struct Engine {
    pub store: Store,
    pub providers: Arc<ProviderRegistry>,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

/// How many times a guarded update is retried when another writer got there first.
pub(crate) const MAX_CHANGE_ATTEMPTS: usize = 8;

impl Engine {
    /// Whether merchant events should be written for this merchant (it has a webhook URL).
    pub fn emits_events(&self, merchant_id: &str) -> bool {
        self.config
            .merchant(merchant_id)
            .is_some_and(|m| m.webhook_url.is_some())
    }

    /// The adapter of the account a stored refund was made on (DESIGN §14): status queries
    /// and re-sends of a refund go out on the same account as its first call.
    pub fn provider_of(&self, refund: &RefundRecord) -> Option<Arc<dyn RefundProvider>> {
        let id = ProviderId::parse(&refund.provider).ok()?;
        let account = Account::parse(&refund.account)?;
        self.providers.account(&id, &account).cloned()
    }

    /// When the next status query of an open refund is due after `attempts` queries.
    pub fn next_sync_delay(&self, attempts: i64) -> Duration {
        let first = self.config.sync.first_retry;
        let factor = 2u32.saturating_pow(u32::try_from(attempts.clamp(0, 30)).unwrap_or(30));
        first.saturating_mul(factor).min(self.config.sync.max_retry)
    }

    /// Applies a provider's report to a refund, re-reading and re-deciding if another writer
    /// changed it first. Returns the refund afterwards.
    pub async fn apply_report(
        &self,
        id: &RefundId,
        report: &ProviderRefund,
        source: Source,
        idempotency_key: Option<&str>,
    ) -> Result<RefundRecord, EngineError> {
        self.apply_with(id, |engine, refund, now| {
            let next = now + millis(engine.next_sync_delay(refund.sync_attempts));
            let mut change = decide::decide(
                refund,
                report,
                source,
                next,
                engine.emits_events(&refund.merchant_id),
            );
            change.idempotency_key = idempotency_key.map(str::to_owned);
            change
        })
        .await
    }

    /// Re-reads the refund, builds a change with `build`, and applies it under the refund's
    /// version guard, retrying on concurrent updates.
    pub async fn apply_with(
        &self,
        id: &RefundId,
        build: impl Fn(&Engine, &RefundRecord, i64) -> Change,
    ) -> Result<RefundRecord, EngineError> {
        for _ in 0..MAX_CHANGE_ATTEMPTS {
            let Some(refund) = self.store.refund(id).await? else {
                return Err(StoreError::Corrupt(format!("refund {id} vanished")).into());
            };
            let now = crate::store::now_ms();
            let change = build(self, &refund, now);
            if change == Change::default() {
                return Ok(refund);
            }
            let previous = refund.status;
            if let Some(updated) = self
                .store
                .apply_change(id, refund.version, &change, now)
                .await?
            {
                if updated.status != previous {
                    self.metrics
                        .refund_transition(&updated.provider, updated.status.as_str());
                }
                return Ok(updated);
            }
        }
        Err(EngineError::Contention)
    }
}

/// Milliseconds of a duration, saturating.
pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
