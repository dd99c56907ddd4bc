//! `provider-stripe`: the Stripe refund adapter (form-encoded `POST /v1/refunds` with an
//! `Idempotency-Key`, `Stripe-Signature` webhooks), its wire types, Stripe's own currency
//! and metadata rules, and (feature `sandbox`) a simulator of Stripe's refunds API.

pub mod adapter;
pub mod config;
pub mod currency;
mod identity;
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
pub use identity::{ACCOUNT_FIELDS, PROVIDER_ID};
pub use plugin::PROVIDER;
pub use webhook::SIGNATURE_HEADER;
