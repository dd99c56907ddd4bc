//! `provider-authms`: the AuthMS internal-wallet refund adapter (wallet refunds and
//! merchant-funded transfers), its wire types, and (feature `sandbox`) a simulator of AuthMS.

pub mod adapter;
pub mod config;
mod endpoint;
mod identity;
pub mod map;
pub mod options;
pub mod plugin;
pub mod proofs;
pub mod status_query;
pub mod transfer;
pub mod wire;

#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use adapter::AuthMsProvider;
pub use identity::{ACCOUNT_FIELDS, PROVIDER_ID};

pub use config::AuthMsSettings;
pub use options::{AuthMsOptions, Method};
pub use plugin::PROVIDER;
