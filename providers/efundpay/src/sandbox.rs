//! The eFundPay simulator (feature `sandbox`): an axum server speaking eFundPay's wire
//! format, stateful (payments, refunds) and strict (bearer token, merchant account, integer
//! minor units, field limits, `external_identifier` uniqueness, refunds never exceeding the
//! payment). It answers `processing`, then moves the refund to its final status and sends a
//! signed `refund.updated` webhook to the refund's `webhooks_url`.
//!
//! Faults come from [`SandboxConfig::faults`], [`Sandbox::set_faults`] or
//! `POST /_sandbox/faults`; `GET /_sandbox/effects` lists every refund it recorded and
//! `GET /_sandbox/statement?from=&to=` writes eFundPay's settlement statement of them. The magic
//! values are in [`magic`] and the crate README.

mod conn;
mod error;
pub mod magic;
mod server;
mod state;
pub mod statement;
mod webhooks;

use std::io;
use std::sync::Arc;

use refund_provider::sandbox_kit::{FaultCounters, Running};
use refund_provider::{
    AppliedEffect, Currency, Money, PaymentId, ProviderRefundRequest, RefundId, Simulator,
    SimulatorOptions,
};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use conn::{ConnHandle, KillableListener};
use state::Shared;

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

/// A running simulator; dropping it stops it.
#[derive(Debug)]
pub struct Sandbox {
    /// Dropping it stops accepting, closes idle connections, wakes hanging answers and
    /// pending webhook tasks.
    running: Running,
    shared: Arc<Shared>,
}

impl Sandbox {
    /// Serves the simulator on `listener` until the returned value is dropped.
    pub async fn start(listener: TcpListener, config: SandboxConfig) -> io::Result<Sandbox> {
        let running = Running::new(listener.local_addr()?);
        let shared = Arc::new(Shared::new(config, running.stopped())?);
        let app =
            server::router(Arc::clone(&shared)).into_make_service_with_connect_info::<ConnHandle>();
        let outages = shared.faults.outages();
        let running = running.serve_with_outages(
            "efundpay sandbox",
            listener,
            outages,
            move |listener, stop| {
                axum::serve(KillableListener(listener), app.clone()).with_graceful_shutdown(stop)
            },
        );
        Ok(Sandbox { running, shared })
    }

    /// `http://127.0.0.1:PORT` (loopback when bound to an unspecified address).
    pub fn base_url(&self) -> String {
        self.running.base_url()
    }

    /// Replaces the faults in force (same effect as `POST /_sandbox/faults`).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.faults.set(faults);
    }

    /// The faults in force, with counters as consumed so far.
    pub fn faults(&self) -> Faults {
        self.shared.faults.get()
    }

    /// Every refund recorded, in creation order, with its current status.
    pub fn effects(&self) -> Vec<Effect> {
        self.shared.effects()
    }

    /// Every webhook delivery attempt retained (the newest `max_refunds`).
    pub fn deliveries(&self) -> Vec<WebhookDelivery> {
        self.shared.deliveries()
    }

    /// How many refunds the simulator retains (see [`SandboxConfig::max_refunds`]).
    pub fn retained_refunds(&self) -> usize {
        self.shared.retained()
    }
}

impl SandboxConfig {
    /// The defaults with the shared simulator options applied.
    pub fn with_options(options: &SimulatorOptions) -> Self {
        let defaults = Self::default();
        Self {
            latency_ms: options.latency_ms.unwrap_or(defaults.latency_ms),
            hang_ms: options.hang_ms.unwrap_or(defaults.hang_ms),
            webhook_delay_ms: options.settle_after_ms.unwrap_or(defaults.webhook_delay_ms),
            max_refunds: options.max_refunds.unwrap_or(defaults.max_refunds),
            ..defaults
        }
    }
}

impl Simulator for Sandbox {
    fn provider(&self) -> &'static str {
        crate::identity::PROVIDER_ID
    }

    fn base_url(&self) -> String {
        Sandbox::base_url(self)
    }

    fn set_faults(&self, counted: FaultCounters) {
        self.shared.faults.set_counters(counted);
    }

    fn faults(&self) -> FaultCounters {
        self.shared.faults.counters()
    }

    fn effects(&self) -> Vec<AppliedEffect> {
        self.shared
            .effects()
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
            "payment_id": format!("pay_{tag}"),
            "amount": "12.99",
            "currency": "EUR",
            "reason": "Product return",
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A 12.99 EUR refund of payment `pay_{tag}`, which the simulator answers `processing` and
/// settles `succeeded` with a webhook.
pub fn sample_request(tag: &str) -> ProviderRefundRequest {
    let currency = Currency::parse("EUR").unwrap_or_else(|_| unreachable!("EUR is ISO 4217"));
    let payment_id = PaymentId::parse(&format!("pay_{tag}"))
        .unwrap_or_else(|e| panic!("sample payment id from tag `{tag}`: {e}"));
    let mut request = ProviderRefundRequest::new(RefundId::generate(), payment_id, currency);
    request.amount = Money::parse("12.99", currency).ok();
    request.reason = Some("Product return".into());
    request
}
