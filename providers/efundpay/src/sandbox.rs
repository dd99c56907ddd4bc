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

use refund_provider::sandbox_kit::Running;
use refund_provider::ProviderRefundRequest;
use tokio::net::TcpListener;

use conn::{ConnHandle, KillableListener};
use state::Shared;

pub use config::{
    Faults, SandboxConfig, SandboxPayment, MERCHANT_ACCOUNT_ID, TOKEN, UNSEEN_PAYMENT_AMOUNT_MINOR,
    WEBHOOK_SECRET,
};
pub use effect::{Effect, WebhookDelivery};

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

refund_provider::sandbox_handle!(
    /// A running simulator; dropping it stops it: it stops accepting, closes idle
    /// connections, wakes hanging answers and pending webhook tasks.
    Sandbox(Shared), Faults, crate::identity::PROVIDER_ID
);

/// A 12.99 EUR refund of payment `pay_{tag}`, which the simulator answers `processing` and
/// settles `succeeded` with a webhook.
pub fn sample_request(tag: &str) -> ProviderRefundRequest {
    let mut request = refund_provider::sample_refund(&format!("pay_{tag}"), "12.99", "EUR");
    request.reason = Some("Product return".into());
    request
}
