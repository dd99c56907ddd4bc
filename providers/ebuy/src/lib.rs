//! `provider-ebuy`: the e-Buy refund adapter (a signed JSON envelope with a per-asset
//! breakdown), its SHA-256 signer, wire types and (feature `sandbox`) a simulator.

pub mod adapter;
pub mod config;
pub mod map;
pub mod options;
pub mod reference;
pub mod sign;
pub mod wire;

#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use adapter::EbuyProvider;
pub use config::EbuySettings;
pub use options::{AssetType, EbuyOptions};
pub use reference::refund_trade_no;

/// The provider id in config and in the API.
pub const PROVIDER_ID: &str = "ebuy";
