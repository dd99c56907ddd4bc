//! The Stripe simulator (feature `sandbox`): an axum server speaking Stripe's refunds API
//! (`POST /v1/refunds` form-encoded, `GET /v1/refunds/{id}`, `GET /v1/refunds`), stateful
//! (payments with their amount and refunded total, refunds with their status) and strict
//! (secret key, form encoding, parameters and their limits, Stripe's currency rules,
//! `Idempotency-Key` replay of the saved answer — a saved 500 included — and refusal of a key
//! reused with other parameters). A refund is answered `pending`, then settles and a signed
//! event (`Stripe-Signature`) goes to the configured webhook endpoint.
//!
//! Faults come from [`SandboxConfig::faults`], [`Sandbox::set_faults`] or
//! `POST /_sandbox/faults`; `GET /_sandbox/effects` lists every refund it retains;
//! `POST /_sandbox/webhook_endpoint` `{"url": …}` sets where events go. The magic values are
//! in [`magic`] and the crate README.

mod form;
pub mod magic;
mod server;
mod state;
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

use state::Shared;

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
    /// [`magic::AMOUNT_SUCCEEDS_THEN_FAILS`]) before it moves on.
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

impl SandboxConfig {
    /// The defaults with the shared simulator options applied.
    pub fn with_options(options: &SimulatorOptions) -> Self {
        let defaults = Self::default();
        Self {
            latency_ms: options.latency_ms.unwrap_or(defaults.latency_ms),
            hang_ms: options.hang_ms.unwrap_or(defaults.hang_ms),
            settle_after_ms: options.settle_after_ms.unwrap_or(defaults.settle_after_ms),
            max_refunds: options.max_refunds.unwrap_or(defaults.max_refunds),
            webhook_url: options.webhook_url.clone(),
            ..defaults
        }
    }
}

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

/// A running simulator; dropping it stops it.
#[derive(Debug)]
pub struct Sandbox {
    running: Running,
    shared: Arc<Shared>,
}

impl Sandbox {
    /// Serves the simulator on `listener` until the returned value is dropped.
    pub async fn start(listener: TcpListener, config: SandboxConfig) -> io::Result<Sandbox> {
        let running = Running::new(listener.local_addr()?);
        let shared = Arc::new(Shared::new(config, running.stopped())?);
        let app = server::router(Arc::clone(&shared));
        let outages = shared.faults.outages();
        let running = running.serve_with_outages(
            "stripe sandbox",
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

    /// The faults in force, counters as consumed so far.
    pub fn faults(&self) -> Faults {
        self.shared.faults.get()
    }

    /// Where events go from now on (same as `POST /_sandbox/webhook_endpoint`).
    pub fn set_webhook_url(&self, url: Option<String>) {
        self.shared.set_webhook_url(url);
    }

    /// Every refund retained, oldest first, with its current status.
    pub fn effects(&self) -> Vec<Effect> {
        self.shared.effects()
    }

    /// Every event delivery attempt retained (the newest `max_refunds`).
    pub fn deliveries(&self) -> Vec<WebhookDelivery> {
        self.shared.deliveries()
    }

    /// How many refunds the simulator retains (see [`SandboxConfig::max_refunds`]).
    pub fn retained_refunds(&self) -> usize {
        self.shared.retained()
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
            "payment_id": format!("pi_{tag}"),
            "amount": "12.99",
            "currency": "EUR",
            "reason": "Product return",
            "metadata": {"order": format!("order-{tag}")},
            "provider_options": {"stripe": {"reason": "requested_by_customer"}},
        })
    }

    fn set_webhook_url(&self, url: Option<String>) {
        Sandbox::set_webhook_url(self, url);
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A 12.99 EUR refund of PaymentIntent `pi_{tag}`, which the simulator answers `pending` and
/// settles `succeeded`.
pub fn sample_request(tag: &str) -> ProviderRefundRequest {
    let currency = Currency::parse("EUR").unwrap_or_else(|_| unreachable!("EUR is ISO 4217"));
    let payment_id = PaymentId::parse(&format!("pi_{tag}"))
        .unwrap_or_else(|e| panic!("sample payment id from tag `{tag}`: {e}"));
    let mut request = ProviderRefundRequest::new(RefundId::generate(), payment_id, currency);
    request.amount = Money::parse("12.99", currency).ok();
    request.reason = Some("Product return".into());
    request.options = serde_json::json!({"reason": "requested_by_customer"});
    request
}
