//! The queue of refunds never sent (DESIGN §17): what goes in, what comes out, and the
//! worker that drains it.
//!
//! - **In.** A new refund whose account's breaker is open is recorded `pending` with
//!   `pending_reason` `provider_unavailable` and a `queued_at`, and answered `201` at once;
//!   a refund whose call provably never left (`NotSent`, after the quick retries that the
//!   breaker still allows) joins the queue instead of failing. A queued refund has no next
//!   sync time: nothing queries a refund the provider has never seen.
//! - **Out, exactly once.** The drain claims the oldest queued refunds of an account with a
//!   lease, then takes each off the queue with a version-guarded change decided on the
//!   refund as it is (see `store/queue.rs`); only the process whose change was written sends
//!   it, exactly as a new refund (the same request, id and reference, rebuilt from the
//!   stored row). From that change on the refund counts as sent: it has a next sync time (so
//!   a crash during the call leaves an unknown outcome the sync worker settles, never a
//!   blind re-send), it can no longer be canceled, and a `NotSent` puts it back in the
//!   queue at its old place.
//! - **Drain rate.** Per account, while its breaker is closed, at most `drain_per_second`
//!   refunds a second (a token bucket refilled each tick, one second's worth at most), and
//!   at most that many calls in flight. Half-open, only the probe goes.
//! - **Expiry and cancel.** A refund queued longer than `queue_max_age_ms` fails
//!   `provider_unavailable` (nothing was sent); the merchant may cancel a queued refund
//!   (`canceled`, `canceled_by_merchant`, its amount refundable again, nothing posted to the
//!   ledger: nothing was paid).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use refund_provider::{FailureCode, ProviderError, RefundId};

use super::breaker::{Caller, Permit};
use super::decide::transition;
use super::sync::request_for;
use super::{millis, Engine, EngineError};
use crate::domain::{EventKind, EventSource, PendingReason, RefundRecord, RefundStatus};
use crate::store::{Change, Modified, NewEvent};

/// How often the drain looks at the queues.
const TICK: Duration = Duration::from_millis(100);

/// How long a drain's claim keeps other processes off the claimed refunds.
const CLAIM_LEASE_MS: i64 = 3_000;

/// The change that puts `refund` in the queue (or back in it) since `since`, saying why.
pub(crate) fn enqueue(refund: &RefundRecord, since: i64, cause: &str) -> Change {
    Change {
        queue: Some(Some((PendingReason::ProviderUnavailable, since))),
        next_sync_at: Some(None),
        events: vec![NewEvent {
            kind: EventKind::Queued,
            status: None,
            previous_status: None,
            source: EventSource::Queue,
            detail: json!({
                "pending_reason": PendingReason::ProviderUnavailable.as_str(),
                "cause": cause,
                "provider": refund.provider,
                "account": refund.account,
            }),
        }],
        ..Change::default()
    }
}

/// Why a claimed refund could not be taken off the queue: it is final (canceled, expired,
/// resolved by an operator), or it was sent (by another process).
#[derive(Debug)]
enum NotQueued {
    Final,
    Sent,
}

/// The drain's state between ticks: per account, its token bucket and its calls in flight.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Drain {
    tokens: HashMap<(String, String), f64>,
    in_flight: HashMap<(String, String), Arc<AtomicUsize>>,
    /// The sends under way (finished ones are dropped each pass).
    sends: Vec<tokio::task::JoinHandle<()>>,
}

impl Drain {
    /// Waits for every send under way; returns how many ended in a panic (a test's
    /// provider standing in for a crash).
    #[doc(hidden)]
    pub async fn settle(&mut self) -> usize {
        let mut panicked = 0;
        for send in self.sends.drain(..) {
            if send.await.is_err() {
                panicked += 1;
            }
        }
        panicked
    }
}

impl Engine {
    /// Runs the drain forever; the application aborts it on shutdown.
    pub(crate) async fn run_drain(self) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut drain = Drain::default();
        loop {
            tick.tick().await;
            // Each pass reads one generation of the live configuration (DESIGN §18).
            if let Err(e) = self.current().drain_pass(&mut drain, TICK).await {
                tracing::warn!(error = %e, "queue drain pass failed");
            }
        }
    }

    /// One look at every queue: expire what waited too long, then send what the breakers
    /// and the rate allow; publish each account's state in the metrics.
    #[doc(hidden)]
    pub async fn drain_pass(
        &self,
        drain: &mut Drain,
        elapsed: Duration,
    ) -> Result<(), EngineError> {
        drain.sends.retain(|send| !send.is_finished());
        let stats = self.store.queue_stats().await?;
        let now = self.store.now();
        // Accounts whose queue emptied: tell their breakers (an empty queue lets a new
        // refund or a query be the probe).
        for view in self.breakers.views(now) {
            let listed = stats
                .iter()
                .any(|s| s.provider == view.provider && s.account == view.account);
            if !listed && view.queued > 0 {
                self.breakers
                    .saw_queue(&view.provider, &view.account, 0, None);
            }
        }
        for stat in &stats {
            let (provider, account) = (stat.provider.as_str(), stat.account.as_str());
            self.breakers.saw_queue(
                provider,
                account,
                u64::try_from(stat.depth).unwrap_or(0),
                Some(stat.oldest_queued_at),
            );
            let config = self.breakers.config(provider);
            let max_age = millis(config.queue_max_age);
            if now - stat.oldest_queued_at > max_age {
                self.expire(provider, account, now - max_age).await?;
            }
            let key = (provider.to_owned(), account.to_owned());
            let rate = f64::from(config.drain_per_second);
            let tokens = drain.tokens.entry(key.clone()).or_insert(rate);
            *tokens = (*tokens + rate * elapsed.as_secs_f64()).min(rate);
            let in_flight = drain.in_flight.entry(key).or_default().clone();
            let permit = self.breakers.permit(provider, account, Caller::Drain, now);
            let room = usize::try_from(config.drain_per_second)
                .unwrap_or(usize::MAX)
                .saturating_sub(in_flight.load(Ordering::SeqCst));
            let limit = match permit {
                Permit::Wait { .. } => continue,
                Permit::Probe => 1,
                // Whole tokens only: a fraction waits for the next tick.
                Permit::Call => (tokens.floor() as usize).min(room),
            };
            if limit == 0 {
                continue;
            }
            // The lease only needs to outlast the claim-to-dequeue step (the dequeue clears
            // it); exactly-once rests on the dequeue's version guard, not on the lease, so a
            // short one lets a restarted process resume a dead one's claims quickly.
            let lease = now + CLAIM_LEASE_MS;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let claimed = self
                .store
                .claim_queued(provider, account, i64::MAX, now, lease, limit)
                .await?;
            if claimed.is_empty() {
                self.breakers.release(provider, account, permit);
                continue;
            }
            *tokens -= claimed.len() as f64;
            for id in claimed {
                in_flight.fetch_add(1, Ordering::SeqCst);
                let engine = self.clone();
                let in_flight = in_flight.clone();
                drain.sends.push(tokio::spawn(async move {
                    if let Err(e) = engine.send_queued(&id, permit).await {
                        tracing::warn!(refund_id = %id, error = %e, "sending a queued refund failed");
                    }
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                }));
            }
        }
        self.metrics.breakers(&self.breakers.views(now), now);
        Ok(())
    }

    /// Fails every refund of one account's queue that joined it before `before`.
    async fn expire(&self, provider: &str, account: &str, before: i64) -> Result<(), EngineError> {
        let now = self.store.now();
        let lease = now + 60_000;
        let expired = self
            .store
            .claim_queued(provider, account, before, now, lease, 256)
            .await?;
        for id in expired {
            self.apply_with(&id, |engine, refund, _now| {
                if !refund.is_queued() {
                    return Change::default();
                }
                let message = "the provider could not be reached while the refund waited in the queue longer than queue_max_age_ms; it was never sent";
                let mut change = transition(
                    refund,
                    RefundStatus::Failed,
                    EventSource::Queue,
                    json!({"reason": "queue_max_age", "failure_code": FailureCode::ProviderUnavailable, "queued_at": refund.queued_at}),
                    engine.emits_events(&refund.merchant_id),
                );
                change.failure = Some((FailureCode::ProviderUnavailable, message.to_owned()));
                change
            })
            .await?;
            tracing::info!(refund_id = %id, provider, account, "queued refund expired unsent");
        }
        Ok(())
    }

    /// Takes one claimed refund off the queue and, if this process did, sends it as a new
    /// refund would be sent, under `permit`.
    async fn send_queued(&self, id: &RefundId, permit: Permit) -> Result<(), EngineError> {
        let Some(refund) = self.store.refund(id).await? else {
            return Ok(());
        };
        let (provider_id, account) = (refund.provider.clone(), refund.account.clone());
        let release = || self.breakers.release(&provider_id, &account, permit);
        let Some(provider) = self.provider_of(&refund) else {
            // The account left the configuration: it stays queued (an operator may resolve
            // it, or it expires) rather than fail for a configuration change.
            tracing::error!(refund_id = %id, provider = %provider_id, account = %account, "queued refund's provider account is not configured; left in the queue");
            release();
            return Ok(());
        };
        let request_timeout = millis(self.config().server.request_timeout);
        let since = refund.queued_at.unwrap_or(refund.created_at);
        let taken = self
            .store
            .modify_known_refund(refund, move |refund, now| {
                if refund.status.is_final() {
                    return Err(NotQueued::Final);
                }
                let Some(since) = refund.queued_at.filter(|_| refund.is_queued()) else {
                    return Err(NotQueued::Sent);
                };
                Ok(Change {
                    queue: Some(None),
                    // Should this process die during the call, the outcome is unknown: the
                    // sync worker settles it, as for any refund sent.
                    next_sync_at: Some(Some(now + request_timeout + 1_000)),
                    events: vec![NewEvent {
                        kind: EventKind::SentFromQueue,
                        status: None,
                        previous_status: None,
                        source: EventSource::Queue,
                        detail: json!({"queued_for_ms": now - since, "probe": permit == Permit::Probe}),
                    }],
                    ..Change::default()
                })
            })
            .await?;
        let sent = match taken {
            Ok(Modified::Changed { after, .. }) => after,
            Ok(_) | Err(NotQueued::Final | NotQueued::Sent) => {
                release();
                return Ok(());
            }
        };
        let request = request_for(&sent)?;
        let result = self
            .send_guarded(&provider, &account, &request, permit, false)
            .await;
        match result {
            Err(ProviderError::NotSent { cause }) => {
                // Never left: back in the queue at its old place (it keeps its age).
                self.apply_with(id, move |_, refund, _now| {
                    if refund.status != RefundStatus::Pending || refund.is_queued() {
                        return Change::default();
                    }
                    enqueue(refund, since, &cause)
                })
                .await?;
            }
            other => {
                self.record(&provider, &request, other, None, Some(sent))
                    .await?;
            }
        }
        Ok(())
    }

    /// Cancels a refund of `merchant_id` that waits in the queue (DESIGN §17) or for an
    /// operator's approval (§19): never sent, so nothing is undone at the provider.
    #[doc(hidden)]
    pub async fn cancel(
        &self,
        id: &RefundId,
        merchant_id: &str,
    ) -> Result<RefundRecord, EngineError> {
        let engine = self.clone();
        let merchant = merchant_id.to_owned();
        let modified = self
            .store
            .modify_refund(*id, move |refund, _now| {
                if refund.status.is_final() {
                    return Err(EngineError::RefundFinal {
                        status: refund.status,
                    });
                }
                // Never sent either way: queued, or awaiting an operator's approval (§19).
                if !refund.is_queued() && !refund.is_awaiting_approval() {
                    return Err(EngineError::RefundSent);
                }
                let mut change = transition(
                    refund,
                    RefundStatus::Canceled,
                    EventSource::Merchant,
                    json!({"merchant": merchant, "reason": "canceled_by_merchant", "queued_at": refund.queued_at, "pending_reason": refund.pending_reason.as_ref().map(|r| r.as_str().to_owned())}),
                    engine.emits_events(&refund.merchant_id),
                );
                change.failure = Some((
                    FailureCode::CanceledByMerchant,
                    "canceled by the merchant before it was sent; it was never sent".to_owned(),
                ));
                Ok(change)
            })
            .await??;
        let canceled = self.modified(id, modified)?;
        tracing::info!(refund_id = %id, merchant = %merchant_id, "queued refund canceled by its merchant");
        Ok(canceled)
    }
}
