//! `provider-ebuy`: the e-Buy refund adapter (a signed JSON envelope with a per-asset
//! breakdown), its SHA-256 signer, wire types and (feature `sandbox`) a simulator.

pub mod adapter;
pub mod config;
mod identity;
pub mod map;
pub mod options;
pub mod plugin;
pub mod proofs;
pub mod reference;
pub mod sign;
pub mod wire;

#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use adapter::EbuyProvider;
pub use config::EbuySettings;
pub use identity::{ACCOUNT_FIELDS, PROVIDER_ID};
pub use options::{AssetType, EbuyOptions};
pub use plugin::PROVIDER;
pub use reference::refund_trade_no;
