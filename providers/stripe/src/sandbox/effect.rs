//! What the Stripe simulator did, as the tests and the e2e read it back: the refunds it
//! recorded and each webhook delivery attempt.

use serde::{Deserialize, Serialize};

/// A refund the simulator recorded, with its current status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effect {
    /// `metadata[gateway_refund_id]`, else the Idempotency-Key, else the refund id.
    pub reference: String,
    /// The payment as the request named it (`pi_…` or `ch_…`).
    pub payment_id: String,
    /// Stripe's refund id.
    pub refund_id: String,
    /// Stripe minor units.
    pub amount_minor: i64,
    /// Upper-case ISO code.
    pub currency: String,
    /// `pending`, `requires_action`, `succeeded`, `failed` or `canceled`.
    pub status: String,
    pub reason: Option<String>,
    /// Unix seconds.
    pub created: i64,
}

/// One event delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub event_id: String,
    pub event_type: String,
    /// The refund's status in the event (`""` for an event about another object).
    pub status: String,
    pub url: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The receiver's HTTP status, `None` when it could not be reached.
    pub answer: Option<u16>,
}
