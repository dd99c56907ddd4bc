//! `provider-ebuy`: the e-Buy refund adapter (a signed JSON envelope with a per-asset
//! breakdown), its SHA-256 signer, wire types and (feature `sandbox`) a simulator.

pub mod adapter;
pub mod config;
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
pub use options::{AssetType, EbuyOptions};
pub use plugin::PROVIDER;
pub use reference::refund_trade_no;

/// The provider id in config and in the API.
pub const PROVIDER_ID: &str = "ebuy";

/// The keys of one e-Buy account (DESIGN §14): what `[merchants.providers.ebuy]` may give,
/// replacing the default account's for every call made for that merchant.
pub const ACCOUNT_FIELDS: &[&str] = &["app_id", "app_secret", "app_secret_env"];
