//! What every provider simulator shares (feature `sandbox-kit`), each part in a file of its
//! own and used from here (`sandbox_kit::FaultCell`): the counted faults a request draws and
//! the webhook switches of the simulators that send webhooks (`faults`), how a request
//! draws its fault, hangs, and has its answer broken after its effect (`draw`), the running
//! server behind a `Sandbox` value (`running`), the caps on what a simulator retains
//! (`retention`) and the `Sandbox` handle with its `Simulator` that every simulator declares
//! with `sandbox_handle!` (`simulator_impl`); its statements, webhook deliveries and outages
//! in [`statement`], [`webhook`] and [`outage`].
//!
//! A handler draws once per request and brackets its work with the draw:
//!
//! ```text
//! let draw = shared.faults.draw(shared.config.latency_ms);
//! if draw.before_apply(&shared.hang).await.is_err() {
//!     return unavailable(); // the provider's own 503 shape
//! }
//! let response = apply();
//! draw.finish(response, &shared.hang).await
//! ```

mod draw;
mod faults;
pub mod outage;
mod retention;
mod running;
mod simulator_impl;
pub mod statement;
pub mod webhook;

pub use draw::{break_answer, outage_answer, Draw, FaultCell, Hang};
pub use faults::{CountedFaults, FaultCounters, FaultPlan, WebhookFaults};
pub use outage::{Outage, OutageMode, OutageSwitch};
pub use retention::{BoundedLog, BoundedSet, Retention, DEFAULT_MAX_REFUNDS};
pub use running::Running;

use std::sync::{Mutex, MutexGuard};

use axum::http::{header, HeaderMap};

/// Locks a sandbox's state; its data stays usable after a panic elsewhere (every update is
/// a whole value or a push, so a poisoned lock holds nothing half-written that matters).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether a request says its body is JSON (`Content-Type: application/json…`).
pub fn sends_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
