//! The e-Buy [`ProviderPlugin`](refund_provider::ProviderPlugin): how the gateway builds the
//! adapter from `[providers.ebuy]`, and starts the simulator, without naming this crate's types.

use serde_json::Value;

use crate::config::EbuySettings;
use crate::identity::{ACCOUNT_FIELDS, PROVIDER_ID};
#[cfg(feature = "sandbox")]
use crate::sandbox::{Sandbox, SandboxConfig};

refund_provider::provider_plugin! {
    EbuyPlugin, EbuySettings, crate::options::EbuyOptions, port: 1,
    sandbox: [("app_id", SANDBOX_APP_ID), ("app_secret", SANDBOX_APP_SECRET)],
}

// The simulator's fixed credentials (DESIGN §12), also without the `sandbox` feature.
const SANDBOX_APP_ID: &str = "sandbox-app";
const SANDBOX_APP_SECRET: &str = "sandbox-ebuy-secret";

/// `provider_options.ebuy` for the gateway's OpenAPI document (what `options.rs` takes).
fn options_schema() -> Value {
    serde_json::json!({"type": ["object", "null"], "additionalProperties": false, "properties": {
        "asset_type": {"type": ["string", "null"], "enum": ["cash", "coupon", "cashcard", "points", null],
            "description": "The asset refunded (default cash); a coupon is refunded whole only"},
        "trade_date": {"type": ["string", "null"], "pattern": "^[0-9]{8}$", "description": "The payment's date, YYYYMMDD"},
        "goods": {"type": ["object", "null"], "additionalProperties": false, "required": ["goods_id", "quantity"], "properties": {
            "goods_id": {"type": "string", "minLength": 1, "maxLength": 32},
            "goods_name": {"type": ["string", "null"], "maxLength": 50},
            "goods_code": {"type": ["string", "null"], "maxLength": 32},
            "quantity": {"type": "integer", "minimum": 1}}}}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_provider::ProviderPlugin;

    #[test]
    fn the_sandbox_section_builds_an_adapter_and_a_bad_one_names_its_keys() {
        refund_provider::testkit::assert_plugin_sections(
            &PROVIDER,
            "http://127.0.0.1:9101",
            serde_json::json!({"base_url": "http://x", "app_ids": "t"}),
        );
    }

    #[cfg(feature = "sandbox")]
    #[test]
    fn the_sandbox_settings_are_the_simulators_credentials() {
        let settings = PROVIDER.sandbox_settings();
        assert_eq!(settings["app_id"], crate::sandbox::APP_ID);
        assert_eq!(settings["app_secret"], crate::sandbox::APP_SECRET);
    }
}
