//! The AuthMS [`ProviderPlugin`]: how the gateway builds the adapter from
//! `[providers.authms]`, and starts the simulator, without naming this crate's types.

use std::sync::Arc;

use async_trait::async_trait;
use refund_provider::{BuildContext, ConfigProblem, ProviderPlugin, RefundProvider};
use serde_json::{Map, Value};

use crate::config::AuthMsSettings;

/// The plugin; the gateway's registry holds `&provider_authms::PROVIDER`.
#[derive(Debug, Clone, Copy)]
pub struct AuthMsPlugin;

/// The AuthMS plugin.
pub static PROVIDER: AuthMsPlugin = AuthMsPlugin;

// The simulator's fixed credentials (DESIGN §12), also without the `sandbox` feature.
const SANDBOX_TOKEN: &str = "sandbox-authms-token";
const SANDBOX_TRANSFER_SOURCE: &str = "usr_merchant";

#[async_trait]
impl ProviderPlugin for AuthMsPlugin {
    fn check_options(&self, options: &Value) -> Result<(), refund_provider::RequestInvalid> {
        crate::options::AuthMsOptions::parse(options).map(|_| ())
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
        refund_provider::plugin::build_with(section, ctx, AuthMsSettings::build)
    }

    fn sandbox_settings(&self) -> Map<String, Value> {
        let mut settings = Map::new();
        settings.insert("token".into(), SANDBOX_TOKEN.into());
        settings.insert(
            "transfer_source_user_id".into(),
            SANDBOX_TRANSFER_SOURCE.into(),
        );
        settings
    }

    /// `provider_options.authms` for the gateway's OpenAPI document (what `options.rs` takes).
    fn options_schema(&self) -> Value {
        serde_json::json!({"type": ["object", "null"], "additionalProperties": false, "properties": {
            "method": {"type": ["string", "null"], "enum": ["refund", "reversal", "transfer", null],
                "description": "refund/reversal (default): against the original transaction; transfer: a merchant-funded transfer to customer_id"}}})
    }

    fn sandbox_port_offset(&self) -> u16 {
        0
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
