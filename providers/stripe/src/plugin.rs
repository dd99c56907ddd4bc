//! The Stripe [`ProviderPlugin`]: how the gateway builds the adapter from
//! `[providers.stripe]`, and starts the simulator, without naming this crate's types.

use std::sync::Arc;

use async_trait::async_trait;
use refund_provider::{BuildContext, ConfigProblem, ProviderPlugin, RefundProvider};
use serde_json::{Map, Value};

use crate::config::StripeSettings;

/// The plugin; the gateway's registry holds `&provider_stripe::PROVIDER`.
#[derive(Debug, Clone, Copy)]
pub struct StripePlugin;

/// The Stripe plugin.
pub static PROVIDER: StripePlugin = StripePlugin;

/// The simulator's credentials, which its config section names.
pub use crate::config::{SANDBOX_SECRET_KEY, SANDBOX_WEBHOOK_SECRET};

#[async_trait]
impl ProviderPlugin for StripePlugin {
    fn check_options(&self, options: &Value) -> Result<(), refund_provider::RequestInvalid> {
        crate::options::StripeOptions::parse(options).map(|_| ())
    }

    fn id(&self) -> &'static str {
        crate::identity::PROVIDER_ID
    }

    fn account_fields(&self) -> &'static [&'static str] {
        crate::identity::ACCOUNT_FIELDS
    }

    fn build(
        &self,
        section: Value,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn RefundProvider>, Vec<ConfigProblem>> {
        refund_provider::plugin::build_with(section, ctx, StripeSettings::build)
    }

    fn sandbox_settings(&self) -> Map<String, Value> {
        let mut settings = Map::new();
        settings.insert("secret_key".into(), SANDBOX_SECRET_KEY.into());
        settings.insert("webhook_secret".into(), SANDBOX_WEBHOOK_SECRET.into());
        settings
    }

    /// `provider_options.stripe` for the gateway's OpenAPI document (what `options.rs` takes).
    fn options_schema(&self) -> Value {
        serde_json::json!({"type": ["object", "null"], "additionalProperties": false, "properties": {
            "reason": {"type": ["string", "null"], "enum": ["duplicate", "fraudulent", "requested_by_customer", null],
                "description": "Sent as Stripe's reason; the merchant's free-text reason is never sent to Stripe"}}})
    }

    fn sandbox_port_offset(&self) -> u16 {
        3
    }

    #[cfg(feature = "sandbox")]
    async fn start_simulator(
        &self,
        listener: tokio::net::TcpListener,
        options: refund_provider::SimulatorOptions,
    ) -> std::io::Result<Box<dyn refund_provider::Simulator>> {
        let config = crate::sandbox::SandboxConfig::with_options(&options);
        let sandbox = crate::sandbox::Sandbox::start(listener, config).await?;
        Ok(Box::new(sandbox))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
