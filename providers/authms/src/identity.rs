//! Who this provider is to the gateway: its id, and the keys of one AuthMS account.

/// The provider id in config and in the API.
pub const PROVIDER_ID: &str = "authms";

/// The keys of one AuthMS account (DESIGN §14): what `[merchants.providers.authms]` may
/// give, replacing the default account's for every call made for that merchant (the
/// merchant's own wallet funds its transfers).
pub const ACCOUNT_FIELDS: &[&str] = &["token", "token_env", "transfer_source_user_id"];
