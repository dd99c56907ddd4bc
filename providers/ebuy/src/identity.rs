//! Who this provider is to the gateway: its id, and the keys of one e-Buy account.

/// The provider id in config and in the API.
pub const PROVIDER_ID: &str = "ebuy";

/// The keys of one e-Buy account (DESIGN §14): what `[merchants.providers.ebuy]` may give,
/// replacing the default account's for every call made for that merchant.
pub const ACCOUNT_FIELDS: &[&str] = &["app_id", "app_secret", "app_secret_env"];
