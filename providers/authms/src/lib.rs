//! `provider-authms`: the AuthMS internal-wallet refund adapter (wallet refunds and
//! merchant-funded transfers), its wire types, and (feature `sandbox`) a simulator of AuthMS.

pub mod adapter;
pub mod config;
mod endpoint;
pub mod map;
pub mod options;
pub mod plugin;
pub mod proofs;
pub mod status_query;
pub mod transfer;
pub mod wire;

#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use adapter::{AuthMsProvider, PROVIDER_ID};

/// The keys of one AuthMS account (DESIGN §14): what `[merchants.providers.authms]` may
/// give, replacing the default account's for every call made for that merchant (the
/// merchant's own wallet funds its transfers).
pub const ACCOUNT_FIELDS: &[&str] = &["token", "token_env", "transfer_source_user_id"];
pub use config::AuthMsSettings;
pub use options::{AuthMsOptions, Method};
pub use plugin::PROVIDER;
