//! How the eFundPay simulator behaves: its fixed credentials, the payments it starts with,
//! the faults in force, and the rest of [`SandboxConfig`].

use serde::{Deserialize, Serialize};

/// The sandbox's bearer token (DESIGN §12).
pub const TOKEN: &str = "sandbox-efundpay-token";
/// The sandbox's merchant account, expected in `x-merchant-account-id` (DESIGN §12).
pub const MERCHANT_ACCOUNT_ID: &str = "sandbox-merchant";
/// The secret the sandbox signs webhooks with (DESIGN §12).
pub const WEBHOOK_SECRET: &str = "sandbox-efundpay-whsec";
/// A transaction the sandbox has not seen is a payment of this many minor units, in the
/// currency of its first refund.
pub const UNSEEN_PAYMENT_AMOUNT_MINOR: i64 = 1_000_000;

/// Faults to inject (JSON `POST /_sandbox/faults`): counters consumed one per API request
/// (create or list); `out_of_order_webhooks` sends, after the final event, a stale
/// `processing` event (new id, older `created_at`).
pub type Faults = refund_provider::sandbox_kit::WebhookFaults;

/// A payment the sandbox starts with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxPayment {
    /// eFundPay's transaction id.
    pub id: String,
    pub amount_minor: i64,
    pub currency: String,
    /// `promptpay` or `thai_mobile_banking` make `bank_detail` required; default `card`.
    #[serde(default)]
    pub payment_method: Option<String>,
}

/// How the simulator behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Latency before every API answer.
    pub latency_ms: u64,
    /// Delay between answering `processing` and the final status (and its webhook).
    pub webhook_delay_ms: u64,
    /// Attempts per webhook delivery (a non-2xx answer or a transport error is retried).
    pub webhook_attempts: u32,
    /// Wait before the first retry, doubling after each.
    pub webhook_retry_ms: u64,
    /// How long `timeout_next` and `apply_then_hang_next` hang.
    pub hang_ms: u64,
    /// Faults in force from the start.
    pub faults: Faults,
    /// Payments known from the start (others appear on first use, see
    /// [`UNSEEN_PAYMENT_AMOUNT_MINOR`]).
    pub payments: Vec<SandboxPayment>,
    /// The most refunds retained: beyond it the oldest settled refunds are forgotten, with
    /// their payment when it has no refund left (configured payments stay); refunds still
    /// `processing` are never evicted. The webhook delivery log keeps as many entries.
    pub max_refunds: usize,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            webhook_delay_ms: 200,
            webhook_attempts: 4,
            webhook_retry_ms: 100,
            hang_ms: 30_000,
            faults: Faults::default(),
            payments: Vec::new(),
            max_refunds: refund_provider::sandbox_kit::DEFAULT_MAX_REFUNDS,
        }
    }
}

refund_provider::with_simulator_options!(SandboxConfig, webhook_delay_ms);
