//! refund-gateway: one refund API in front of several payment providers (see DESIGN.md).

pub mod api;
pub mod batch;
pub mod cli;
pub mod config;
pub mod config_check;
pub mod domain;
pub mod engine;
#[doc(hidden)]
pub mod faults;
pub mod ledger;
pub(crate) mod limits;
pub mod live;
pub mod metrics;
pub mod providers;
pub mod reconcile;
pub mod reload;
pub mod routing;
pub mod server;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
