//! Who this provider is to the gateway: its id, and the keys of one eFundPay account.

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
