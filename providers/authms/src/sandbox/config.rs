//! How the AuthMS simulator behaves: its fixed token, the merchant's settlement wallet, the
//! payments and wallets it starts with, the faults in force, and the rest of
//! [`SandboxConfig`].

use serde::{Deserialize, Serialize};

/// The bearer token the sandbox accepts (DESIGN §12).
pub const TOKEN: &str = "sandbox-authms-token";
/// The merchant's settlement wallet: it funds wallet refunds, and is the natural
/// `transfer_source_user_id`.
pub const MERCHANT_USER_ID: &str = "usr_merchant";
/// Opening balance of the merchant's wallet: 10,000,000.00 CNY.
pub const MERCHANT_OPENING_MINOR: i64 = 1_000_000_000;
/// What an original transaction the sandbox has never seen is taken to have been:
/// 10,000.00 CNY (or the refund's amount, when larger).
pub const UNSEEN_PAYMENT_AMOUNT_MINOR: i64 = 1_000_000;

/// Faults injected into the next requests to the wallet API (control endpoints excluded):
/// the shared counters, drawn in the order `fail_next`, `timeout_next`,
/// `apply_then_hang_next`, `drop_after_apply_next`. A `fail_next` or `timeout_next` request
/// is answered 503; a `drop_after_apply_next` answer is a 200 whose body stops short of its
/// Content-Length.
pub type Faults = refund_provider::sandbox_kit::FaultCounters;

/// An original payment known to the sandbox from the start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxPayment {
    pub transaction_id: String,
    /// The wallet user the payment came from (refunds go back to this wallet only).
    pub user_id: String,
    pub amount_minor: i64,
}

/// A wallet with an opening balance from the start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxWallet {
    pub user_id: String,
    pub balance_minor: i64,
}

/// How the sandbox behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Delay before every answer, in milliseconds (added to `faults.latency_ms`).
    pub latency_ms: u64,
    /// How long a hanging request (`timeout_next`, `apply_then_hang_next`) hangs.
    pub hang_ms: u64,
    /// How long a `txn_processing` refund reads `processing`.
    pub settle_after_ms: u64,
    /// Faults in force from the start.
    pub faults: Faults,
    /// The wallets' currency.
    pub currency: String,
    /// The settlement wallet that funds refunds.
    pub merchant_user_id: String,
    pub merchant_opening_minor: i64,
    /// What an unseen original transaction is taken to have been.
    pub unseen_payment_amount_minor: i64,
    /// Payments known from the start.
    pub payments: Vec<SandboxPayment>,
    /// Other wallets with opening balances.
    pub wallets: Vec<SandboxWallet>,
    /// The most refunds and transfers retained: beyond it the oldest settled ones are
    /// forgotten with their ledger entries (their wallets keep the balance), their payment
    /// when it has no operation left (configured payments stay), and customer wallets left
    /// without entries; operations still `processing` are never evicted.
    pub max_refunds: usize,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            hang_ms: 30_000,
            settle_after_ms: 200,
            faults: Faults::default(),
            currency: "CNY".into(),
            merchant_user_id: MERCHANT_USER_ID.into(),
            merchant_opening_minor: MERCHANT_OPENING_MINOR,
            unseen_payment_amount_minor: UNSEEN_PAYMENT_AMOUNT_MINOR,
            payments: Vec::new(),
            wallets: Vec::new(),
            max_refunds: refund_provider::sandbox_kit::DEFAULT_MAX_REFUNDS,
        }
    }
}

refund_provider::with_simulator_options!(SandboxConfig, settle_after_ms);
