//! `provider-efundpay`: the eFundPay refund adapter (minor units, bearer token, signed
//! webhooks), its wire types, webhook verifier and (feature `sandbox`) a simulator.

pub mod adapter;
pub mod config;
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
pub use plugin::PROVIDER;
pub use webhook::SIGNATURE_HEADER;

/// The provider id in config, the API and the webhook path (`/v1/webhooks/efundpay`).
pub const PROVIDER_ID: &str = "efundpay";

/// The keys of one eFundPay account (DESIGN §14): what `[merchants.providers.efundpay]`
/// may give, replacing the default account's for every call made for that merchant.
pub const ACCOUNT_FIELDS: &[&str] = &[
    "token",
    "token_env",
    "merchant_account_id",
    "webhook_secret",
    "webhook_secret_env",
    "webhook_secrets",
    "webhook_secrets_env",
];
