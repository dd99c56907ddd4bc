//! A stateful simulator of e-Buy on its own wire format (feature `sandbox`): it checks the
//! envelope and its SHA-256 signature like the real service would, keeps orders with a
//! remaining amount per asset, applies whole-order and single-asset refunds (never more
//! than remains), answers a repeated `refundTradeNo` with the original result, signs its
//! answers, serves the refund query, and has magic values and injectable faults.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use provider_ebuy::sandbox::{Sandbox, SandboxConfig};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let sandbox = Sandbox::start(listener, SandboxConfig::default()).await?;
//! println!("e-Buy sandbox at {}", sandbox.base_url());
//! # Ok(()) }
//! ```

mod config;
mod effect;
pub mod magic;
mod server;
mod shared;
pub mod state;
pub mod statement;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use refund_provider::sandbox_kit::{BoundedSet, FaultCell, Hang, Running};
use refund_provider::{ProviderRefundRequest, SharedClock};

use shared::Shared;
use state::Book;

pub use config::{Faults, OrderAssets, SandboxConfig, APP_ID, APP_SECRET};
pub use effect::{Effect, EffectLine};

impl Sandbox {
    /// Serves the simulator on `listener` until dropped.
    pub async fn start(
        listener: tokio::net::TcpListener,
        config: SandboxConfig,
    ) -> std::io::Result<Sandbox> {
        Self::start_with_clock(listener, config, refund_provider::clock::system()).await
    }

    /// [`Sandbox::start`] reading the time from `clock`.
    pub async fn start_with_clock(
        listener: tokio::net::TcpListener,
        config: SandboxConfig,
        clock: SharedClock,
    ) -> std::io::Result<Sandbox> {
        let running = Running::new(listener.local_addr()?);
        let book = Book::new(
            config.default_order,
            &config.orders,
            Duration::from_millis(config.settle_after_ms),
            config.max_refunds,
        );
        let shared = Arc::new(Shared {
            faults: FaultCell::new(config.faults.clone()),
            book: Mutex::new(book),
            uuids: Mutex::new(BoundedSet::new(config.max_refunds)),
            hang: Hang::until_stopped(config.hang_ms, running.stopped()),
            config,
            clock,
        });
        let app = server::router(shared.clone());
        let running = running.serve_router("e-Buy sandbox", listener, shared.faults.outages(), app);
        Ok(Sandbox { running, shared })
    }

    /// Every refund applied so far, oldest first (same as `GET /_sandbox/effects`).
    pub fn effects(&self) -> Vec<Effect> {
        self.shared.book().effects(std::time::Instant::now())
    }

    /// What remains refundable of an order, if the sandbox has seen it.
    pub fn remaining(&self, out_trade_no: &str) -> Option<OrderAssets> {
        self.shared.book().remaining(out_trade_no)
    }

    /// How many refunds the simulator retains (see [`SandboxConfig::max_refunds`]).
    pub fn retained_refunds(&self) -> usize {
        self.shared.book().retained()
    }
}

refund_provider::sandbox_handle!(
    /// A running e-Buy simulator; dropping it stops the server (hanging requests included).
    Sandbox(Shared), Faults, crate::identity::PROVIDER_ID
);

/// The `outTradeNo` of `tag`: `ORDER` + the tag, at most e-Buy's 32 characters.
fn order_for(tag: &str) -> String {
    format!("ORDER{tag}").chars().take(32).collect()
}

/// The date in China at `now` as e-Buy's `tradeTime`, `YYYYMMDD`: a payment made "today"
/// from e-Buy's point of view, never one dated after it (16:30 UTC is already tomorrow in
/// China; the UTC date would be yesterday there, still valid but not today).
pub fn trade_date_at(now: time::OffsetDateTime) -> String {
    crate::reference::yyyymmdd(crate::reference::china_date(now))
}

/// An 8.00 CNY cash refund of order `ORDER{tag}` (at most 32 characters), which the
/// simulator answers `SUCCESS`. Its `provider_reference` is the refund id: replace it with
/// the adapter's (`refundTradeNo`) before sending.
pub fn sample_request(tag: &str) -> ProviderRefundRequest {
    let mut request = refund_provider::sample_refund(&order_for(tag), "8.00", "CNY");
    request.provider_reference = crate::reference::refund_trade_no(&request.refund_id);
    request.options = serde_json::json!({
        "asset_type": "cash",
        "trade_date": trade_date_at(time::OffsetDateTime::now_utc()),
    });
    request
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn bench_and_sample_trade_dates_are_chinas_date_at_any_hour() {
        assert_eq!(trade_date_at(datetime!(2025-03-16 15:59 UTC)), "20250316");
        assert_eq!(trade_date_at(datetime!(2025-03-16 16:30 UTC)), "20250317");
        assert_eq!(trade_date_at(datetime!(2025-03-16 23:59 UTC)), "20250317");
        assert_eq!(trade_date_at(datetime!(2025-12-31 23:59 UTC)), "20260101");
    }
}
