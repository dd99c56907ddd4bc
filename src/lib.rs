//! refund-gateway: one refund API in front of several payment providers (see DESIGN.md).

pub mod api;
pub mod banner;
pub mod bench;
pub mod check_config;
pub mod config;
pub mod demo;
pub mod domain;
pub mod engine;
pub mod ledger;
pub mod metrics;
pub mod providers;
pub mod reconcile;
pub mod routing;
pub mod sandbox;
pub mod server;
pub mod startup;
pub mod state;
pub mod store;
