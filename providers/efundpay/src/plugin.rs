//! The eFundPay [`ProviderPlugin`](refund_provider::ProviderPlugin): how the gateway builds the
//! adapter from `[providers.efundpay]`, and starts the simulator, without naming this crate's
//! types.

use serde_json::Value;

use crate::config::EfundpaySettings;
use crate::identity::{ACCOUNT_FIELDS, PROVIDER_ID};
#[cfg(feature = "sandbox")]
use crate::sandbox::{Sandbox, SandboxConfig};

refund_provider::provider_plugin! {
    EfundpayPlugin, EfundpaySettings, crate::request::EfundpayOptions, port: 2,
    sandbox: [("token", SANDBOX_TOKEN), ("merchant_account_id", SANDBOX_MERCHANT_ACCOUNT_ID),
        ("webhook_secret", SANDBOX_WEBHOOK_SECRET)],
}

// The simulator's fixed credentials (DESIGN §12), also without the `sandbox` feature: a
// gateway built without simulators can still point a config at a running one.
const SANDBOX_TOKEN: &str = "sandbox-efundpay-token";
const SANDBOX_MERCHANT_ACCOUNT_ID: &str = "sandbox-merchant";
const SANDBOX_WEBHOOK_SECRET: &str = "sandbox-efundpay-whsec";

/// `provider_options.efundpay` for the gateway's OpenAPI document (what `options.rs` takes).
fn options_schema() -> Value {
    serde_json::json!({"type": ["object", "null"], "additionalProperties": false, "properties": {
        "payment_method": {"type": ["string", "null"], "description": "promptpay and thai_mobile_banking (any case) need bank_detail"},
        "bank_detail": {"type": ["object", "null"], "additionalProperties": false,
            "required": ["bank_code", "bank_account_name", "bank_account_no"], "properties": {
            "bank_code": {"type": "string", "minLength": 1},
            "bank_account_name": {"type": "string", "minLength": 1},
            "bank_account_no": {"type": "string", "minLength": 1}}}}})
}

#[cfg(all(test, feature = "sandbox"))]
mod tests {
    use super::*;
    use refund_provider::ProviderPlugin;

    #[test]
    fn the_sandbox_settings_are_the_simulators_credentials() {
        let settings = PROVIDER.sandbox_settings();
        assert_eq!(settings["token"], crate::sandbox::TOKEN);
        assert_eq!(
            settings["merchant_account_id"],
            crate::sandbox::MERCHANT_ACCOUNT_ID
        );
        assert_eq!(settings["webhook_secret"], crate::sandbox::WEBHOOK_SECRET);
    }
}

#[cfg(test)]
mod build_tests {
    use super::*;

    #[test]
    fn the_sandbox_section_builds_an_adapter_and_a_bad_one_names_its_keys() {
        refund_provider::testkit::assert_plugin_sections(
            &PROVIDER,
            "http://127.0.0.1:9102",
            serde_json::json!({"base_url": "http://x", "tokn": "t"}),
        );
    }
}
