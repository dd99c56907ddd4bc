//! Who this provider is to the gateway: its id, and the keys of one Stripe account.

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
