//! The AuthMS [`ProviderPlugin`](refund_provider::ProviderPlugin): how the gateway builds the
//! adapter from `[providers.authms]`, and starts the simulator, without naming this crate's types.

use serde_json::Value;

use crate::config::AuthMsSettings;
use crate::identity::{ACCOUNT_FIELDS, PROVIDER_ID};
#[cfg(feature = "sandbox")]
use crate::sandbox::{Sandbox, SandboxConfig};

refund_provider::provider_plugin! {
    AuthMsPlugin, AuthMsSettings, crate::options::AuthMsOptions, port: 0,
    sandbox: [("token", SANDBOX_TOKEN), ("transfer_source_user_id", SANDBOX_TRANSFER_SOURCE)],
}

// The simulator's fixed credentials (DESIGN §12), also without the `sandbox` feature.
const SANDBOX_TOKEN: &str = "sandbox-authms-token";
const SANDBOX_TRANSFER_SOURCE: &str = "usr_merchant";

/// `provider_options.authms` for the gateway's OpenAPI document (what `options.rs` takes).
fn options_schema() -> Value {
    serde_json::json!({"type": ["object", "null"], "additionalProperties": false, "properties": {
        "method": {"type": ["string", "null"], "enum": ["refund", "reversal", "transfer", null],
            "description": "refund/reversal (default): against the original transaction; transfer: a merchant-funded transfer to customer_id"}}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_provider::ProviderPlugin;

    #[test]
    fn the_sandbox_section_builds_an_adapter_and_a_bad_one_names_its_keys() {
        refund_provider::testkit::assert_plugin_sections(
            &PROVIDER,
            "http://127.0.0.1:9100",
            serde_json::json!({"base_url": "http://x", "tokn": "t"}),
        );
    }

    #[cfg(feature = "sandbox")]
    #[test]
    fn the_sandbox_settings_are_the_simulators_credentials() {
        let settings = PROVIDER.sandbox_settings();
        assert_eq!(settings["token"], crate::sandbox::TOKEN);
        assert_eq!(
            settings["transfer_source_user_id"],
            crate::sandbox::MERCHANT_USER_ID
        );
    }
}
