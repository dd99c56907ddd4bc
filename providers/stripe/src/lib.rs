//! `provider-stripe`: the Stripe refund adapter (form-encoded `POST /v1/refunds` with an
//! `Idempotency-Key`, `Stripe-Signature` webhooks), its wire types, Stripe's own currency
//! and metadata rules, and (feature `sandbox`) a simulator of Stripe's refunds API.

pub mod adapter;
pub mod config;
pub mod currency;
pub mod map;
pub mod metadata;
pub mod options;
pub mod plugin;
pub mod proofs;
pub mod webhook;
pub mod wire;

#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use adapter::StripeProvider;
pub use config::StripeSettings;
pub use plugin::PROVIDER;
pub use webhook::SIGNATURE_HEADER;

/// The provider id in config, the API and the webhook path (`/v1/webhooks/stripe`).
pub const PROVIDER_ID: &str = "stripe";

/// The keys of one Stripe account (DESIGN §14): what `[merchants.providers.stripe]` may
/// give, replacing the default account's for every call made for that merchant.
pub const ACCOUNT_FIELDS: &[&str] = &[
    "secret_key",
    "secret_key_env",
    "webhook_secret",
    "webhook_secret_env",
];
