//! `provider-efundpay`: the eFundPay refund adapter (minor units, bearer token, signed
//! webhooks), its wire types, webhook verifier and (feature `sandbox`) a simulator.

pub mod adapter;
pub mod config;
mod identity;
pub mod map;
pub mod plugin;
pub mod proofs;
pub mod request;
pub mod webhook;
pub mod wire;

#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use adapter::EfundpayProvider;
pub use config::EfundpaySettings;
pub use identity::{ACCOUNT_FIELDS, PROVIDER_ID};
pub use plugin::PROVIDER;
pub use webhook::SIGNATURE_HEADER;
