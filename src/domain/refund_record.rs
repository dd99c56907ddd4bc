//! A refund as the gateway keeps it: every field of its row, read by the engine that decides
//! on it, the ledger that posts it and the refund object that renders it, and written by the
//! store (`crate::store`), which is the only one that reads or writes the row itself.

use serde_json::Value;

use refund_provider::{FailureCode, RefundId};

use super::pending_reason::PendingReason;
use super::refund::RefundStatus;
use super::stored::Stored;

/// A refund as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundRecord {
    pub id: RefundId,
    pub merchant_id: String,
    pub provider: String,
    /// The provider account it was made on: `default` or `merchant:<id>` (DESIGN §14).
    pub account: String,
    pub provider_refund_id: Option<String>,
    pub provider_reference: String,
    pub payment_id: String,
    /// Major units with the currency's exponent; `None` for a full refund whose amount the
    /// provider has not reported yet.
    pub amount: Option<String>,
    pub amount_minor: Option<i64>,
    pub currency: String,
    pub status: RefundStatus,
    pub failure_code: Option<Stored<FailureCode>>,
    pub failure_message: Option<String>,
    pub reason: Option<String>,
    pub reference: Option<String>,
    pub customer_id: Option<String>,
    pub metadata: Value,
    pub provider_options: Value,
    pub breakdown: Value,
    pub requires_attention: bool,
    pub idempotency_key: Option<String>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub next_sync_at: Option<i64>,
    pub sync_attempts: i64,
    /// Why this pending refund has not been sent (DESIGN §17); `None` once it was sent.
    pub pending_reason: Option<Stored<PendingReason>>,
    /// When it joined the queue of refunds never sent; `None` when it is not queued.
    pub queued_at: Option<i64>,
}

impl RefundRecord {
    /// Whether the refund waits in the queue of refunds never sent: it never reached its
    /// provider, so it may be sent (once) or canceled.
    pub(crate) fn is_queued(&self) -> bool {
        self.status == RefundStatus::Pending && self.queued_at.is_some()
    }

    /// Whether the refund waits for an operator's approval (DESIGN §19): held `pending`, never
    /// sent.
    pub(crate) fn is_awaiting_approval(&self) -> bool {
        self.status == RefundStatus::Pending
            && self.pending_reason == Some(Stored::Known(PendingReason::AwaitingApproval))
    }
}

/// A pending-or-other refund of 'acme' on efundpay's default account, for unit tests.
#[cfg(test)]
impl RefundRecord {
    pub(crate) fn sample(status: RefundStatus, amount_minor: Option<i64>) -> Self {
        Self {
            id: RefundId::generate(),
            merchant_id: "acme".into(),
            provider: "efundpay".into(),
            account: "default".into(),
            provider_refund_id: None,
            provider_reference: "ref".into(),
            payment_id: "pay".into(),
            amount: amount_minor.map(|m| format!("{}.{:02}", m / 100, m % 100)),
            amount_minor,
            currency: "EUR".into(),
            status,
            failure_code: None,
            failure_message: None,
            reason: None,
            reference: None,
            customer_id: None,
            metadata: serde_json::json!({}),
            provider_options: serde_json::json!(null),
            breakdown: serde_json::json!([]),
            requires_attention: false,
            idempotency_key: None,
            version: 0,
            created_at: 0,
            updated_at: 0,
            next_sync_at: None,
            sync_attempts: 0,
            pending_reason: None,
            queued_at: None,
        }
    }
}
