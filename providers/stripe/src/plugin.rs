//! The Stripe [`ProviderPlugin`](refund_provider::ProviderPlugin): how the gateway builds the
//! adapter from `[providers.stripe]`, and starts the simulator, without naming this crate's types.

use serde_json::Value;

use crate::config::StripeSettings;
/// The simulator's credentials, which its config section names.
pub use crate::config::{SANDBOX_SECRET_KEY, SANDBOX_WEBHOOK_SECRET};
use crate::identity::{ACCOUNT_FIELDS, PROVIDER_ID};
#[cfg(feature = "sandbox")]
use crate::sandbox::{Sandbox, SandboxConfig};

refund_provider::provider_plugin! {
    StripePlugin, StripeSettings, crate::options::StripeOptions, port: 3,
    sandbox: [("secret_key", SANDBOX_SECRET_KEY), ("webhook_secret", SANDBOX_WEBHOOK_SECRET)],
}

/// `provider_options.stripe` for the gateway's OpenAPI document (what `options.rs` takes).
fn options_schema() -> Value {
    serde_json::json!({"type": ["object", "null"], "additionalProperties": false, "properties": {
        "reason": {"type": ["string", "null"], "enum": ["duplicate", "fraudulent", "requested_by_customer", null],
            "description": "Sent as Stripe's reason; the merchant's free-text reason is never sent to Stripe"}}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_provider::ProviderPlugin;

    #[test]
    fn the_sandbox_section_builds_an_adapter_and_a_bad_one_names_its_section() {
        refund_provider::testkit::assert_plugin_sections(
            &PROVIDER,
            "http://127.0.0.1:9103",
            serde_json::json!({"secret": "sk"}),
        );
    }

    #[test]
    fn the_sandbox_section_as_toml_is_what_design_names() {
        let text = PROVIDER.sandbox_section_toml("http://127.0.0.1:9103");
        assert_eq!(
            text,
            "[providers.stripe]\nbase_url = \"http://127.0.0.1:9103\"\n\
             secret_key = \"sk_test_sandbox_stripe\"\nwebhook_secret = \"whsec_sandbox_stripe\"\n"
        );
        assert_eq!(PROVIDER.sandbox_port_offset(), 3);
    }

    #[test]
    fn the_options_schema_names_exactly_the_reasons_stripe_takes() {
        let schema = PROVIDER.options_schema();
        assert_eq!(
            schema["properties"]["reason"]["enum"],
            serde_json::json!(["duplicate", "fraudulent", "requested_by_customer", null])
        );
        assert_eq!(schema["additionalProperties"], false);
        for reason in ["duplicate", "fraudulent", "requested_by_customer"] {
            let parsed =
                crate::options::StripeOptions::parse(&serde_json::json!({"reason": reason}));
            assert_eq!(
                parsed.map(|o| o.reason.map(|r| r.as_str())),
                Ok(Some(reason))
            );
        }
    }
}
