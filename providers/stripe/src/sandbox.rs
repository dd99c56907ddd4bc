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

mod config;
mod effect;
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
};
use tokio::net::TcpListener;

use state::Shared;

pub use config::{
    Faults, SandboxConfig, SandboxPayment, SECRET_KEY, UNSEEN_PAYMENT_AMOUNT_MINOR, WEBHOOK_SECRET,
};
pub use effect::{Effect, WebhookDelivery};

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
