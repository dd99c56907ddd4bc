//! Rows as the store reads and writes them, and the changes the engine asks it to apply.

use serde_json::Value;

use refund_provider::{FailureCode, RefundId};

use crate::domain::{
    AttentionReason, EventKind, EventSource, MerchantEventType, PendingReason, RefundRecord,
    RefundStatus, Stored,
};
use crate::ledger::LedgerLine;

/// An idempotency key to claim together with the refund insert.
#[derive(Debug, Clone)]
pub struct IdempotencyClaim {
    pub key: String,
    pub fingerprint: String,
    pub expires_at: i64,
    /// A claim older than this (ms) whose first request never stored a response is treated
    /// as abandoned (the process died): the caller replays the refund's current state.
    pub in_progress_grace_ms: i64,
}

/// The payment a new refund draws on (DESIGN §14), checked and locked in the create step:
/// the payment row is `(refund.provider, refund.account, refund.payment_id)`, owned by the
/// first merchant to refund it, in the currency of its first refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentClaim {
    /// The captured amount the merchant gave (`payment_amount`), in minor units.
    pub(crate) payment_amount_minor: Option<i64>,
    /// Whether a refund without an amount is recorded with what is left of the payment
    /// (`false` when the provider sizes such a refund itself, see `RestRefund`).
    pub(crate) size_rest: bool,
}

/// What happened to a create.
#[derive(Debug, Clone, PartialEq)]
pub enum CreateOutcome {
    /// The refund and its key are committed as `pending`, for `amount_minor` (the rest of
    /// the payment when the request gave no amount and the captured amount is known).
    Created { amount_minor: Option<i64> },
    /// The key was used before for the same request: its stored answer.
    Replay { status: u16, body: String },
    /// The key's first request is still running.
    InProgress,
    /// The key's first request died before answering; this is its refund.
    Abandoned { refund_id: RefundId },
    /// The key was used before for a different request.
    KeyReused,
    /// The merchant's `reference` is taken.
    ReferenceInUse,
    /// The payment belongs to another merchant (on a shared account).
    PaymentNotFound,
    /// The payment is in another currency.
    CurrencyMismatch { payment_currency: String },
    /// The request's `payment_amount` differs from the one first given.
    PaymentAmountMismatch { known_minor: i64 },
    /// The refund would take the payment's refunds past its captured amount.
    AmountExceedsRefundable { refundable_minor: i64 },
}

/// One line of a refund's history.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub(crate) kind: EventKind,
    pub(crate) status: Option<RefundStatus>,
    pub(crate) previous_status: Option<RefundStatus>,
    pub(crate) source: EventSource,
    pub(crate) detail: Value,
}

impl NewEvent {
    /// A `requires_attention` line: `detail` (an object) with its `reason` set.
    pub(crate) fn attention(reason: AttentionReason, source: EventSource, detail: Value) -> Self {
        let mut detail = match detail {
            Value::Object(map) => map,
            other => {
                let mut map = serde_json::Map::new();
                map.insert("detail".into(), other);
                map
            }
        };
        detail.insert("reason".into(), Value::String(reason.as_str().to_owned()));
        Self {
            kind: EventKind::RequiresAttention,
            status: None,
            previous_status: None,
            source,
            detail: Value::Object(detail),
        }
    }
}

/// A merchant event to deliver, rendered from the refund after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub(crate) event_type: MerchantEventType,
}

/// A change to one refund, applied in one transaction if the refund is still at `version`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    pub(crate) status: Option<RefundStatus>,
    pub(crate) provider_refund_id: Option<String>,
    /// (major-unit string, minor units) learned for a full refund.
    pub(crate) amount: Option<(String, i64)>,
    pub(crate) breakdown: Option<Value>,
    pub(crate) failure: Option<(FailureCode, String)>,
    pub(crate) flag_requires_attention: bool,
    /// `Some(None)` clears the next sync time; `Some(Some(t))` sets it.
    pub(crate) next_sync_at: Option<Option<i64>>,
    pub(crate) sync_attempts: Option<i64>,
    /// `Some(Some((reason, since)))` puts the refund in the queue of refunds never sent;
    /// `Some(None)` takes it out (it is being sent, or was canceled).
    pub(crate) queue: Option<Option<(PendingReason, i64)>>,
    pub(crate) events: Vec<NewEvent>,
    pub(crate) ledger: Vec<LedgerLine>,
    pub(crate) outbox: Option<OutboxMessage>,
    /// The idempotency key whose stored answer becomes the refund object after the change.
    pub(crate) idempotency_key: Option<String>,
    /// The audit entry of an operator's action that this change is (DESIGN §18), written
    /// with the change, all or nothing.
    pub(crate) audit: Option<crate::domain::NewAuditEvent>,
}

impl Change {
    /// The refund after this change is applied at `now`: exactly what the store writes (a
    /// status, breakdown, failure or sync schedule replaces the old one; a provider refund id
    /// or amount is only learnt when none is known; the flag only ever goes up; the version
    /// moves on). Computed here, once, so every backend writes the same row and renders the
    /// merchant event and the idempotent answer from it.
    pub(crate) fn apply_to(&self, refund: &RefundRecord, now: i64) -> RefundRecord {
        let mut after = refund.clone();
        if let Some(status) = self.status {
            after.status = status;
        }
        if after.provider_refund_id.is_none() {
            after.provider_refund_id = self.provider_refund_id.clone();
        }
        if let (None, Some((text, minor))) = (&after.amount, &self.amount) {
            after.amount = Some(text.clone());
            after.amount_minor = Some(*minor);
        }
        if let Some(breakdown) = &self.breakdown {
            after.breakdown = breakdown.clone();
        }
        if let Some((code, message)) = &self.failure {
            after.failure_code = Some(Stored::Known(*code));
            after.failure_message = Some(message.clone());
        }
        after.requires_attention |= self.flag_requires_attention;
        if let Some(next) = self.next_sync_at {
            after.next_sync_at = next;
        }
        if let Some(attempts) = self.sync_attempts {
            after.sync_attempts = attempts;
        }
        match self.queue {
            Some(Some((reason, since))) => {
                after.pending_reason = Some(Stored::Known(reason));
                after.queued_at = Some(since);
            }
            Some(None) => {
                after.pending_reason = None;
                after.queued_at = None;
            }
            None => {}
        }
        // Only a pending refund waits unsent: whatever moves it on takes it off the queue.
        if after.status != RefundStatus::Pending {
            after.pending_reason = None;
            after.queued_at = None;
        }
        after.version += 1;
        after.updated_at = now;
        after
    }
}

/// What became of an atomic read-decide-write of one refund.
#[derive(Debug, Clone, PartialEq)]
pub enum Modified {
    /// No such refund.
    Missing,
    /// The decision changed nothing; the refund as read.
    Unchanged(RefundRecord),
    /// The refund after the change, and its status before.
    Changed {
        before: RefundStatus,
        after: RefundRecord,
    },
    /// Other writers kept changing it (PostgreSQL's optimistic retries ran out).
    Contended,
}

/// What became of a provider webhook applied by the store.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookApplied {
    /// This account's event id was applied before: nothing done.
    Duplicate,
    /// No refund of this account has the webhook's reference: the receipt is recorded.
    UnknownRefund,
    /// Applied to this refund (the receipt is recorded with it).
    Refund(Box<Modified>),
}

/// Filters of `GET /v1/refunds`.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub(crate) provider: Option<String>,
    pub(crate) status: Option<RefundStatus>,
    /// Why a pending refund is unsent (the approval queue: `awaiting_approval`).
    pub(crate) pending_reason: Option<PendingReason>,
    pub(crate) currency: Option<String>,
    pub(crate) created_gte: Option<i64>,
    pub(crate) created_lt: Option<i64>,
    /// The provider's id of the original payment (exact match).
    pub(crate) payment_id: Option<String>,
    /// The merchant's own reference (exact match; unique per merchant).
    pub(crate) reference: Option<String>,
    pub(crate) starting_after: Option<RefundId>,
    pub(crate) limit: u32,
}

/// A stored history line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EventRecord {
    pub(crate) id: i64,
    pub(crate) kind: Stored<EventKind>,
    pub(crate) status: Option<String>,
    pub(crate) previous_status: Option<String>,
    pub(crate) source: Stored<EventSource>,
    pub(crate) detail: Value,
    pub(crate) created_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refund() -> RefundRecord {
        RefundRecord {
            provider_refund_id: Some("prov_first".into()),
            requires_attention: true,
            version: 4,
            created_at: 1,
            updated_at: 1,
            next_sync_at: Some(10),
            sync_attempts: 2,
            ..RefundRecord::sample(RefundStatus::Pending, None)
        }
    }

    #[test]
    fn a_change_replaces_what_it_says_learns_only_what_is_unknown_and_never_lowers_the_flag() {
        let change = Change {
            status: Some(RefundStatus::Failed),
            provider_refund_id: Some("prov_second".into()),
            amount: Some(("50.00".into(), 5000)),
            breakdown: Some(json!([{"asset_type": "cash"}])),
            failure: Some((FailureCode::ProviderDeclined, "no".into())),
            flag_requires_attention: false,
            next_sync_at: Some(None),
            sync_attempts: Some(3),
            ..Change::default()
        };
        let after = change.apply_to(&refund(), 99);
        assert_eq!(after.status, RefundStatus::Failed);
        assert_eq!(after.provider_refund_id.as_deref(), Some("prov_first"));
        assert_eq!(
            (after.amount.as_deref(), after.amount_minor),
            (Some("50.00"), Some(5000))
        );
        assert_eq!(
            after.failure_code.as_ref().map(Stored::as_str),
            Some("provider_declined")
        );
        assert!(after.requires_attention, "a flag is never lowered");
        assert_eq!(after.next_sync_at, None);
        assert_eq!(after.sync_attempts, 3);
        assert_eq!((after.version, after.updated_at), (5, 99));
        let nothing = Change::default().apply_to(&refund(), 99);
        assert_eq!(nothing.next_sync_at, Some(10), "no schedule given: kept");
        assert_eq!(nothing.status, RefundStatus::Pending);
    }

    #[test]
    fn a_refund_leaves_the_queue_when_dequeued_or_when_it_moves_on() {
        let queue = Change {
            queue: Some(Some((PendingReason::ProviderUnavailable, 7))),
            ..Change::default()
        };
        let queued = queue.apply_to(&refund(), 8);
        assert!(queued.is_queued());
        assert_eq!(queued.queued_at, Some(7));
        let sent = Change {
            queue: Some(None),
            ..Change::default()
        }
        .apply_to(&queued, 9);
        assert!(!sent.is_queued());
        assert_eq!(sent.pending_reason, None);
        let canceled = Change {
            status: Some(RefundStatus::Canceled),
            ..Change::default()
        }
        .apply_to(&queued, 9);
        assert_eq!((canceled.pending_reason, canceled.queued_at), (None, None));
    }
}
