//! What the eFundPay simulator did, as the tests and the e2e read it back: the refunds it
//! recorded and each webhook delivery attempt.

use serde::{Deserialize, Serialize};

/// A refund the sandbox recorded (accepted or not: `status` says), in creation order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effect {
    /// The `external_identifier` (the gateway's provider reference).
    pub reference: String,
    /// The transaction id.
    pub payment_id: String,
    pub amount_minor: i64,
    pub currency: String,
    /// The refund's current eFundPay status: `processing`, `succeeded`, `failed`,
    /// `declined` or `voided`.
    pub status: String,
    /// eFundPay's refund id.
    pub refund_id: String,
    pub reason: String,
    pub webhooks_url: String,
    pub created_at: String,
}

/// One webhook delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub event_id: String,
    /// The refund's status in the event.
    pub status: String,
    pub url: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The receiver's HTTP status, or `None` when it could not be reached.
    pub answer: Option<u16>,
}
