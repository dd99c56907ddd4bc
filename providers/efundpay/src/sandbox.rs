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

mod config;
mod conn;
mod effect;
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
};
use tokio::net::TcpListener;

use conn::{ConnHandle, KillableListener};
use state::Shared;

pub use config::{
    Faults, SandboxConfig, SandboxPayment, MERCHANT_ACCOUNT_ID, TOKEN, UNSEEN_PAYMENT_AMOUNT_MINOR,
    WEBHOOK_SECRET,
};
pub use effect::{Effect, WebhookDelivery};

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
