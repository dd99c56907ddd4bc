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

pub mod magic;
mod server;
pub mod state;
pub mod statement;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use refund_provider::sandbox_kit::{lock, BoundedSet, FaultCell, Hang, Running};
use refund_provider::{
    AppliedEffect, Currency, Money, PaymentId, ProviderRefundRequest, RefundId, SharedClock,
    Simulator, SimulatorOptions,
};
use serde::{Deserialize, Serialize};

use state::Book;

/// The `appId` the sandbox knows (DESIGN §12).
pub const APP_ID: &str = "sandbox-app";
/// The app secret the sandbox signs and verifies with (DESIGN §12).
pub const APP_SECRET: &str = "sandbox-ebuy-secret";

/// Faults injected into the next requests to `/api/refund` and `/api/refund/query`
/// (control endpoints excluded): the shared counters, drawn in the order `fail_next`,
/// `timeout_next`, `apply_then_hang_next`, `drop_after_apply_next`. A `fail_next` or
/// `timeout_next` request is answered 503; a `drop_after_apply_next` answer is a 200 whose
/// body stops short of its Content-Length.
pub type Faults = refund_provider::sandbox_kit::FaultCounters;

/// What an order holds per asset, in fen (points count as fen-valued units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAssets {
    pub cash: i64,
    pub coupon: i64,
    pub cashcard: i64,
    pub points: i64,
}

impl Default for OrderAssets {
    /// An order the sandbox has not seen: cash 1000.00, coupon 5.00, cash card 100.00,
    /// points 10.00 (in fen: 100000, 500, 10000, 1000).
    fn default() -> Self {
        Self {
            cash: 100_000,
            coupon: 500,
            cashcard: 10_000,
            points: 1_000,
        }
    }
}

/// How the sandbox behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    /// Delay before every answer, in milliseconds (added to `faults.latency_ms`).
    pub latency_ms: u64,
    /// How long a hanging request (`timeout_next`, `apply_then_hang_next`) hangs.
    pub hang_ms: u64,
    /// How long a `PROC…` refund reads `PROCESSING`.
    pub settle_after_ms: u64,
    /// Faults in force from the start.
    pub faults: Faults,
    /// What an order the sandbox has not seen is created with on its first refund.
    pub default_order: OrderAssets,
    /// Orders known from the start, by `outTradeNo`.
    pub orders: BTreeMap<String, OrderAssets>,
    /// The most refunds retained: beyond it the oldest settled refunds are forgotten, with
    /// their order when it has no refund left (configured orders stay); refunds still
    /// `PROCESSING` are never evicted. The envelope `uuid`s remembered against replays are
    /// capped alike.
    pub max_refunds: usize,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            hang_ms: 30_000,
            settle_after_ms: 1_000,
            faults: Faults::default(),
            default_order: OrderAssets::default(),
            orders: BTreeMap::new(),
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

/// One asset line of an applied refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectLine {
    /// `cash`, `cashcard`, `coupon` or `points`.
    pub asset_type: String,
    pub amount_minor: i64,
    /// `succeeded`, `processing` or `failed`.
    pub status: String,
}

/// A refund the sandbox applied (including ones that report `FAIL`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effect {
    /// The `refundTradeNo`.
    pub reference: String,
    /// The `outTradeNo`.
    pub payment_id: String,
    /// Money that moved or is moving (lines not failed), in fen.
    pub amount_minor: i64,
    /// Always `CNY`.
    pub currency: String,
    /// `succeeded`, `processing`, `failed` or `partial` (some lines failed, others not).
    pub status: String,
    /// The original trade's date, `YYYYMMDD`: `tradeTime` as sent, or, when it was left
    /// out, the date in China (UTC+8) when the refund was applied, as e-Buy defaults it.
    #[serde(default)]
    pub trade_time: String,
    pub assets: Vec<EffectLine>,
    pub created_at: String,
}

#[derive(Debug)]
struct Shared {
    config: SandboxConfig,
    book: Mutex<Book>,
    faults: FaultCell<Faults>,
    /// Envelope `uuid`s seen, to refuse a replayed request (the newest `max_refunds`).
    uuids: Mutex<BoundedSet<String>>,
    /// Cut short when the sandbox is dropped.
    hang: Hang,
    /// China's "today" (a defaulted `tradeTime`, the newest `tradeTime` taken) comes from it
    /// (tests set it).
    clock: SharedClock,
}

impl Shared {
    fn book(&self) -> MutexGuard<'_, Book> {
        lock(&self.book)
    }
}

/// A running e-Buy simulator; dropping it stops the server (hanging requests included).
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
        let outages = shared.faults.outages();
        let running = running.serve_with_outages(
            "e-Buy sandbox",
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
            "payment_id": order_for(tag),
            "amount": "8.00",
            "currency": "CNY",
            "provider_options": {"ebuy": {"asset_type": "cash", "trade_date": trade_date_at(time::OffsetDateTime::now_utc())}},
        })
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

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
    let refund_id = RefundId::generate();
    let currency = Currency::parse("CNY").unwrap_or_else(|_| unreachable!("CNY is ISO 4217"));
    let payment_id = PaymentId::parse(&order_for(tag))
        .unwrap_or_else(|e| panic!("sample order id from tag `{tag}`: {e}"));
    let mut request = ProviderRefundRequest::new(refund_id, payment_id, currency);
    request.provider_reference = crate::reference::refund_trade_no(&refund_id);
    request.amount = Money::parse("8.00", currency).ok();
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
