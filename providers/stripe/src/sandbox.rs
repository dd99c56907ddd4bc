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

use refund_provider::sandbox_kit::Running;
use refund_provider::ProviderRefundRequest;
use tokio::net::TcpListener;

use state::Shared;

pub use config::{
    Faults, SandboxConfig, SandboxPayment, SECRET_KEY, UNSEEN_PAYMENT_AMOUNT_MINOR, WEBHOOK_SECRET,
};
pub use effect::{Effect, WebhookDelivery};

impl Sandbox {
    /// Serves the simulator on `listener` until the returned value is dropped.
    pub async fn start(listener: TcpListener, config: SandboxConfig) -> io::Result<Sandbox> {
        let running = Running::new(listener.local_addr()?);
        let shared = Arc::new(Shared::new(config, running.stopped())?);
        let app = server::router(Arc::clone(&shared));
        let running =
            running.serve_router("stripe sandbox", listener, shared.faults.outages(), app);
        Ok(Sandbox { running, shared })
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

refund_provider::sandbox_handle!(
    /// A running simulator; dropping it stops it.
    Sandbox(Shared), Faults, crate::identity::PROVIDER_ID;
    {
        fn set_webhook_url(&self, url: Option<String>) {
            Sandbox::set_webhook_url(self, url);
        }

        /// The shared body, with the merchant's metadata a refund carries to Stripe.
        fn sample_merchant_body(&self, tag: &str) -> serde_json::Value {
            let mut body =
                refund_provider::merchant_body(crate::identity::PROVIDER_ID, &sample_request(tag));
            body["metadata"] = serde_json::json!({"order": format!("order-{tag}")});
            body
        }
    }
);

/// A 12.99 EUR refund of PaymentIntent `pi_{tag}`, which the simulator answers `pending` and
/// settles `succeeded`.
pub fn sample_request(tag: &str) -> ProviderRefundRequest {
    let mut request = refund_provider::sample_refund(&format!("pi_{tag}"), "12.99", "EUR");
    request.reason = Some("Product return".into());
    request.options = serde_json::json!({"reason": "requested_by_customer"});
    request
}
