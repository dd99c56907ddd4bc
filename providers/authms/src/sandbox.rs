//! A stateful simulator of AuthMS on its own wire format (feature `sandbox`): wallets with
//! balances kept as double entries, refunds against original transactions, transfers, the
//! assumed transactions query, the fixed sandbox token, magic values for deterministic
//! failures, and injected faults (`POST /_sandbox/faults`).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use provider_authms::sandbox::{Sandbox, SandboxConfig};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let sandbox = Sandbox::start(listener, SandboxConfig::default()).await?;
//! println!("AuthMS sandbox at {}", sandbox.base_url());
//! # Ok(()) }
//! ```

pub mod magic;
mod server;
pub mod state;
pub mod statement;

use std::sync::{Arc, Mutex, MutexGuard};

use refund_provider::sandbox_kit::{lock, FaultCell, Hang, Running};
use refund_provider::{
    AppliedEffect, Currency, Money, PaymentId, ProviderRefundRequest, RefundId, Simulator,
    SimulatorOptions,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use state::Ledger;

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

impl SandboxConfig {
    /// The defaults with the shared simulator options applied.
    pub fn with_options(options: &SimulatorOptions) -> Self {
        let defaults = Self::default();
        Self {
            latency_ms: options.latency_ms.unwrap_or(defaults.latency_ms),
            hang_ms: options.hang_ms.unwrap_or(defaults.hang_ms),
            settle_after_ms: options.settle_after_ms.unwrap_or(defaults.settle_after_ms),
            max_refunds: options.max_refunds.unwrap_or(defaults.max_refunds),
            ..defaults
        }
    }
}

/// A refund or transfer the sandbox carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effect {
    /// The refund's `reference_id` (the gateway refund id); for a transfer, the `rf_…` its
    /// description carries (else the whole description).
    pub reference: String,
    /// The original transaction (`""` for a transfer).
    pub payment_id: String,
    pub amount_minor: i64,
    pub currency: String,
    /// The transaction's status now: `completed`, `processing` or `failed`.
    pub status: String,
    /// `refund` or `transfer`.
    pub kind: String,
    /// The customer credited.
    pub user_id: String,
    /// The id of the customer's transaction.
    pub transaction_id: String,
    pub created_at: String,
}

#[derive(Debug)]
struct Shared {
    config: SandboxConfig,
    ledger: Mutex<Ledger>,
    faults: FaultCell<Faults>,
    /// Hanging requests hang their full `hang_ms`, even past the sandbox's drop.
    hang: Hang,
}

impl Shared {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        lock(&self.ledger)
    }
}

/// A running AuthMS simulator; dropping it stops the server.
#[derive(Debug)]
pub struct Sandbox {
    running: Running,
    shared: Arc<Shared>,
}

impl Sandbox {
    /// Serves the simulator on `listener` until dropped.
    pub async fn start(
        listener: tokio::net::TcpListener,
        config: SandboxConfig,
    ) -> std::io::Result<Sandbox> {
        let running = Running::new(listener.local_addr()?);
        let ledger = Ledger::new(&config, OffsetDateTime::now_utc())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let shared = Arc::new(Shared {
            faults: FaultCell::new(config.faults.clone()),
            hang: Hang::new(config.hang_ms),
            ledger: Mutex::new(ledger),
            config,
        });
        let app = server::router(shared.clone());
        let outages = shared.faults.outages();
        let running = running.serve_with_outages(
            "AuthMS sandbox",
            listener,
            outages,
            move |listener, stop| axum::serve(listener, app.clone()).with_graceful_shutdown(stop),
        );
        Ok(Sandbox { running, shared })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.running.base_url()
    }

    /// Replaces the faults in force (same as `POST /_sandbox/faults`).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.faults.set(faults);
    }

    /// The faults in force, counters as they stand.
    pub fn faults(&self) -> Faults {
        self.shared.faults.get()
    }

    /// Every refund and transfer applied so far, oldest first (same as
    /// `GET /_sandbox/effects`).
    pub fn effects(&self) -> Vec<Effect> {
        self.shared.ledger().effects(OffsetDateTime::now_utc())
    }

    /// A wallet's balance in minor units, if the wallet exists.
    pub fn balance_minor(&self, user_id: &str) -> Option<i64> {
        self.shared.ledger().balance(user_id)
    }

    /// Checks the books: every balance is the sum of its entries and all sum to zero.
    pub fn check_ledger(&self) -> Result<(), String> {
        self.shared.ledger().check()
    }

    /// How many refunds and transfers the simulator retains (see
    /// [`SandboxConfig::max_refunds`]).
    pub fn retained_refunds(&self) -> usize {
        self.shared.ledger().retained()
    }
}

impl Simulator for Sandbox {
    fn provider(&self) -> &'static str {
        crate::identity::PROVIDER_ID
    }

    fn base_url(&self) -> String {
        Sandbox::base_url(self)
    }

    fn set_faults(&self, faults: Faults) {
        self.shared.faults.set(faults);
    }

    fn faults(&self) -> Faults {
        self.shared.faults.get()
    }

    fn effects(&self) -> Vec<AppliedEffect> {
        Sandbox::effects(self)
            .into_iter()
            .map(|effect| AppliedEffect {
                reference: effect.reference,
                payment_id: effect.payment_id,
                amount_minor: effect.amount_minor,
                currency: effect.currency,
                status: effect.status,
            })
            .collect()
    }

    fn sample_request(&self, tag: &str) -> ProviderRefundRequest {
        sample_request(tag)
    }

    fn sample_merchant_body(&self, tag: &str) -> serde_json::Value {
        serde_json::json!({
            "provider": crate::identity::PROVIDER_ID,
            "payment_id": format!("txn_{tag}"),
            "amount": "50.00",
            "currency": "CNY",
            "customer_id": format!("usr_{tag}"),
            "reason": "Product return",
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A 50.00 CNY wallet refund of payment `txn_{tag}` to wallet user `usr_{tag}`, which the
/// simulator completes at once.
pub fn sample_request(tag: &str) -> ProviderRefundRequest {
    let currency = Currency::parse("CNY").unwrap_or_else(|_| unreachable!("CNY is ISO 4217"));
    let payment_id = PaymentId::parse(&format!("txn_{tag}"))
        .unwrap_or_else(|e| panic!("sample payment id from tag `{tag}`: {e}"));
    let mut request = ProviderRefundRequest::new(RefundId::generate(), payment_id, currency);
    request.amount = Money::parse("50.00", currency).ok();
    request.reason = Some("Product return".into());
    request.customer_id = Some(format!("usr_{tag}"));
    request
}
