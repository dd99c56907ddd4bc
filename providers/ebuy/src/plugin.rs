//! The e-Buy [`ProviderPlugin`]: how the gateway builds the adapter from `[providers.ebuy]`,
//! and starts the simulator, without naming this crate's types.

use std::sync::Arc;

use async_trait::async_trait;
use refund_provider::{BuildContext, ConfigProblem, ProviderPlugin, RefundProvider};
use serde_json::{Map, Value};

use crate::config::EbuySettings;

/// The plugin; the gateway's registry holds `&provider_ebuy::PROVIDER`.
#[derive(Debug, Clone, Copy)]
pub struct EbuyPlugin;

/// The e-Buy plugin.
pub static PROVIDER: EbuyPlugin = EbuyPlugin;

// The simulator's fixed credentials (DESIGN §12), also without the `sandbox` feature.
const SANDBOX_APP_ID: &str = "sandbox-app";
const SANDBOX_APP_SECRET: &str = "sandbox-ebuy-secret";

#[async_trait]
impl ProviderPlugin for EbuyPlugin {
    fn check_options(&self, options: &Value) -> Result<(), refund_provider::RequestInvalid> {
        crate::options::EbuyOptions::parse(options).map(|_| ())
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
        refund_provider::plugin::build_with(section, ctx, EbuySettings::build)
    }

    fn sandbox_settings(&self) -> Map<String, Value> {
        let mut settings = Map::new();
        settings.insert("app_id".into(), SANDBOX_APP_ID.into());
        settings.insert("app_secret".into(), SANDBOX_APP_SECRET.into());
        settings
    }

    /// `provider_options.ebuy` for the gateway's OpenAPI document (what `options.rs` takes).
    fn options_schema(&self) -> Value {
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

    fn sandbox_port_offset(&self) -> u16 {
        1
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
