//! The eFundPay [`ProviderPlugin`]: how the gateway builds the adapter from
//! `[providers.efundpay]`, and starts the simulator, without naming this crate's types.

use std::sync::Arc;

use async_trait::async_trait;
use refund_provider::{BuildContext, ConfigProblem, ProviderPlugin, RefundProvider};
use serde_json::{Map, Value};

use crate::config::EfundpaySettings;

/// The plugin; the gateway's registry holds `&provider_efundpay::PROVIDER`.
#[derive(Debug, Clone, Copy)]
pub struct EfundpayPlugin;

/// The eFundPay plugin.
pub static PROVIDER: EfundpayPlugin = EfundpayPlugin;

#[async_trait]
impl ProviderPlugin for EfundpayPlugin {
    fn check_options(&self, options: &Value) -> Result<(), refund_provider::RequestInvalid> {
        crate::request::EfundpayOptions::parse(options).map(|_| ())
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
        refund_provider::plugin::build_with(section, ctx, EfundpaySettings::build)
    }

    fn sandbox_settings(&self) -> Map<String, Value> {
        let mut settings = Map::new();
        settings.insert("token".into(), SANDBOX_TOKEN.into());
        settings.insert(
            "merchant_account_id".into(),
            SANDBOX_MERCHANT_ACCOUNT_ID.into(),
        );
        settings.insert("webhook_secret".into(), SANDBOX_WEBHOOK_SECRET.into());
        settings
    }

    /// `provider_options.efundpay` for the gateway's OpenAPI document (what `options.rs` takes).
    fn options_schema(&self) -> Value {
        serde_json::json!({"type": ["object", "null"], "additionalProperties": false, "properties": {
            "payment_method": {"type": ["string", "null"], "description": "promptpay and thai_mobile_banking (any case) need bank_detail"},
            "bank_detail": {"type": ["object", "null"], "additionalProperties": false,
                "required": ["bank_code", "bank_account_name", "bank_account_no"], "properties": {
                "bank_code": {"type": "string", "minLength": 1},
                "bank_account_name": {"type": "string", "minLength": 1},
                "bank_account_no": {"type": "string", "minLength": 1}}}}})
    }

    fn sandbox_port_offset(&self) -> u16 {
        2
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

// The simulator's fixed credentials (DESIGN §12), also without the `sandbox` feature: a
// gateway built without simulators can still point a config at a running one.
const SANDBOX_TOKEN: &str = "sandbox-efundpay-token";
const SANDBOX_MERCHANT_ACCOUNT_ID: &str = "sandbox-merchant";
const SANDBOX_WEBHOOK_SECRET: &str = "sandbox-efundpay-whsec";

#[cfg(all(test, feature = "sandbox"))]
mod tests {
    use super::*;

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
