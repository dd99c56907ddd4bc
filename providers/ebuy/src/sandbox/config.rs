//! How the e-Buy simulator behaves: its fixed app id and secret, what an order holds per
//! asset, the faults in force, and the rest of [`SandboxConfig`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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

refund_provider::with_simulator_options!(SandboxConfig, settle_after_ms);
