//! How the Stripe simulator behaves: its fixed secrets, the payments it starts with, the
//! faults in force, and the rest of [`SandboxConfig`].

use serde::{Deserialize, Serialize};

/// The secret key the simulator accepts (DESIGN §7), as `Authorization: Bearer …` or as the
/// user of Basic auth.
pub const SECRET_KEY: &str = crate::config::SANDBOX_SECRET_KEY;
/// The secret the simulator signs webhooks with (DESIGN §7).
pub const WEBHOOK_SECRET: &str = crate::config::SANDBOX_WEBHOOK_SECRET;
/// A payment the simulator has not seen is one of this many minor units (10,000.00 in a
/// two-decimal currency), on its first refund.
pub const UNSEEN_PAYMENT_AMOUNT_MINOR: i64 = 1_000_000;

/// Faults to inject (JSON `POST /_sandbox/faults`): the shared counters, one per API request,
/// and the webhook switches; `out_of_order_webhooks` sends, after a refund's final event, its
/// creation-time `refund.updated` again (new id, older `created`).
pub type Faults = refund_provider::sandbox_kit::WebhookFaults;

/// A payment the simulator starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxPayment {
    /// `pi_…` or `ch_…`.
    pub id: String,
    /// In Stripe's minor units.
    pub amount_minor: i64,
    /// ISO code, either case.
    pub currency: String,
}

/// How the simulator behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Latency before every API answer.
    pub latency_ms: u64,
    /// How long a refund stays `pending`/`requires_action` (or `succeeded` for
    /// [`super::magic::AMOUNT_SUCCEEDS_THEN_FAILS`]) before it moves on.
    pub settle_after_ms: u64,
    /// Where events go (Stripe's webhook endpoint); none are sent without one.
    pub webhook_url: Option<String>,
    /// Attempts per event delivery (a non-2xx answer or a transport error is retried).
    pub webhook_attempts: u32,
    /// Wait before the first retry, doubling after each.
    pub webhook_retry_ms: u64,
    /// How long `timeout_next` and `apply_then_hang_next` hang.
    pub hang_ms: u64,
    /// Faults in force from the start.
    pub faults: Faults,
    /// Payments known from the start.
    pub payments: Vec<SandboxPayment>,
    /// The currency of a payment first seen without one in its id (lower case).
    pub default_currency: String,
    /// The most refunds retained: beyond it the oldest settled refunds are forgotten, with
    /// their payment when it has no refund left (configured payments stay) — its refunded
    /// total goes with it; refunds still `pending` or `requires_action` are never evicted.
    /// Saved idempotency answers and the delivery log are capped alike.
    pub max_refunds: usize,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            settle_after_ms: 200,
            webhook_url: None,
            webhook_attempts: 4,
            webhook_retry_ms: 100,
            hang_ms: 30_000,
            faults: Faults::default(),
            payments: Vec::new(),
            default_currency: "eur".into(),
            max_refunds: refund_provider::sandbox_kit::DEFAULT_MAX_REFUNDS,
        }
    }
}

refund_provider::with_simulator_options!(SandboxConfig, settle_after_ms, webhook_url);
