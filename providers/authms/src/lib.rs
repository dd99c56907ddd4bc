//! `provider-authms`: the AuthMS internal-wallet refund adapter (wallet refunds and
//! merchant-funded transfers), its wire types, and (feature `sandbox`) a simulator of AuthMS.

pub mod adapter;
pub mod config;
pub mod mapping;
pub mod options;
pub mod status;
pub mod transfer;
pub mod wire;

#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use adapter::{AuthMsProvider, PROVIDER_ID};
pub use config::AuthMsSettings;
pub use options::{AuthMsOptions, Method};
