//! The provider descriptor ("plugin"): what the gateway needs to know about a provider crate
//! besides its adapter, so that its registry, `sandbox`, `bench`, the demo and the e2e
//! helpers iterate over one list of `&dyn ProviderPlugin` instead of naming providers.
//!
//! Each provider crate exports `pub static PROVIDER: <Name>Plugin`; the gateway's registry is
//! one line per provider (`&provider_stripe::PROVIDER`), declared with
//! [`provider_plugin!`](crate::provider_plugin), the same in every provider crate.

use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::provider::RefundProvider;
use crate::settings::{BuildContext, ConfigProblem};

/// One provider crate, as the gateway sees it.
#[async_trait]
pub trait ProviderPlugin: Send + Sync + 'static {
    /// The provider id: config section `[providers.<id>]`, API `provider`, webhook path.
    fn id(&self) -> &'static str;

    /// The keys one merchant's own account of this provider may give in
    /// `[merchants.providers.<id>]` (DESIGN §14), `_env` variants included.
    fn account_fields(&self) -> &'static [&'static str];

    /// Builds the adapter from its `[providers.<id>]` section, reporting every problem with
    /// its key path (see [`build_with`]).
    fn build(
        &self,
        section: Value,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn RefundProvider>, Vec<ConfigProblem>>;

    /// The section's keys that make the adapter talk to this provider's simulator: its fixed
    /// credentials (DESIGN §12) and whatever else the section requires, `base_url` excepted.
    fn sandbox_settings(&self) -> Map<String, Value>;

    /// `refund-gateway sandbox --listen-base PORT` serves this provider's simulator on
    /// PORT + this offset (authms 0, ebuy 1, efundpay 2, stripe 3).
    fn sandbox_port_offset(&self) -> u16;

    /// The JSON Schema of `provider_options.<id>` in a merchant's refund request, for the
    /// gateway's OpenAPI document (the adapter's own parsing stays the rule). The default
    /// says only "an object, or null".
    fn options_schema(&self) -> Value {
        serde_json::json!({"type": ["object", "null"]})
    }

    /// Checks `provider_options.<id>` of a merchant's refund request whatever provider the
    /// refund goes to (a request may carry options for several), with the adapter's own
    /// parsing, so a mistake is refused even when another provider is routed. The default
    /// accepts any object or null.
    fn check_options(&self, options: &Value) -> Result<(), crate::request::RequestInvalid> {
        let _ = options;
        Ok(())
    }

    /// The whole `[providers.<id>]` section pointing at a simulator at `base_url`.
    fn sandbox_section(&self, base_url: &str) -> Value {
        let mut section = self.sandbox_settings();
        section.insert("base_url".into(), Value::String(base_url.to_owned()));
        Value::Object(section)
    }

    /// [`ProviderPlugin::sandbox_section`] as TOML text, for configs written as text.
    fn sandbox_section_toml(&self, base_url: &str) -> String {
        let mut text = format!("[providers.{}]\n", self.id());
        if let Value::Object(section) = self.sandbox_section(base_url) {
            let mut keys: Vec<&String> = section.keys().collect();
            keys.sort();
            for key in keys {
                if let Some(value) = section.get(key) {
                    text.push_str(&format!("{key} = {}\n", toml_value(value)));
                }
            }
        }
        text
    }

    /// Starts this provider's simulator on `listener` (feature `sandbox` of the provider
    /// crate). The default says the crate was built without it.
    #[cfg(feature = "sandbox-kit")]
    async fn start_simulator(
        &self,
        listener: tokio::net::TcpListener,
        options: crate::simulator::SimulatorOptions,
    ) -> std::io::Result<Box<dyn crate::simulator::Simulator>> {
        let _ = (listener, options);
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!(
                "provider {} was built without its sandbox feature",
                self.id()
            ),
        ))
    }
}

impl std::fmt::Debug for dyn ProviderPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProviderPlugin({})", self.id())
    }
}

/// A scalar setting as TOML: JSON's string escapes are TOML basic-string escapes; numbers
/// and booleans are written alike. Anything else (tables, arrays) is written as JSON text in
/// a string, which the section's own parser will then refuse with its key path.
fn toml_value(value: &Value) -> String {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => value.to_string(),
        other => Value::String(other.to_string()).to_string(),
    }
}

/// Deserializes a section into `S` (the provider's `deny_unknown_fields` settings struct)
/// and builds the adapter with `build`. A section that does not deserialize (unknown key,
/// wrong type) is one problem at the section's path, with serde's message.
pub fn build_with<S, P>(
    section: Value,
    ctx: &BuildContext,
    build: impl FnOnce(S, &BuildContext) -> Result<P, Vec<ConfigProblem>>,
) -> Result<Arc<dyn RefundProvider>, Vec<ConfigProblem>>
where
    S: DeserializeOwned,
    P: RefundProvider,
{
    let settings: S = serde_json::from_value(section)
        .map_err(|e| vec![ConfigProblem::new(ctx.section.clone(), e.to_string())])?;
    Ok(Arc::new(build(settings, ctx)?))
}

/// The sandbox settings `pairs` (key, value) as the map [`ProviderPlugin::sandbox_settings`]
/// returns.
pub fn settings_map(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), Value::String((*value).to_owned())))
        .collect()
}

/// Declares a provider crate's plugin, the same in every provider: the unit struct
/// `$plugin`, `pub static PROVIDER` (what the gateway's registry names), and its
/// [`ProviderPlugin`] impl, built from the crate's own parts: the `$settings` struct whose
/// `build` makes the adapter ([`build_with`]), the `$options` type whose `parse` checks
/// `provider_options`, the simulator's `port` offset and its `sandbox` settings (key,
/// value), and, in scope at the call, `PROVIDER_ID`, `ACCOUNT_FIELDS` and
/// `fn options_schema() -> Value`. With the crate's `sandbox` feature, `start_simulator`
/// starts the `Sandbox` in scope with `SandboxConfig::with_options`.
#[macro_export]
macro_rules! provider_plugin {
    (
        $plugin:ident, $settings:ty, $options:ty, port: $offset:expr,
        sandbox: [$(($key:literal, $value:expr)),* $(,)?] $(,)?
    ) => {
        /// The provider's [`ProviderPlugin`](refund_provider::ProviderPlugin).
        #[derive(Debug, Clone, Copy)]
        pub struct $plugin;

        /// The plugin; the gateway's registry holds `&<this crate>::PROVIDER`.
        pub static PROVIDER: $plugin = $plugin;

        #[$crate::async_trait]
        impl $crate::ProviderPlugin for $plugin {
            fn id(&self) -> &'static str {
                PROVIDER_ID
            }

            fn account_fields(&self) -> &'static [&'static str] {
                ACCOUNT_FIELDS
            }

            fn check_options(
                &self,
                options: &serde_json::Value,
            ) -> Result<(), $crate::RequestInvalid> {
                <$options>::parse(options).map(|_| ())
            }

            fn build(
                &self,
                section: serde_json::Value,
                ctx: &$crate::BuildContext,
            ) -> Result<std::sync::Arc<dyn $crate::RefundProvider>, Vec<$crate::ConfigProblem>>
            {
                $crate::plugin::build_with(section, ctx, <$settings>::build)
            }

            fn sandbox_settings(&self) -> serde_json::Map<String, serde_json::Value> {
                $crate::plugin::settings_map(&[$(($key, $value)),*])
            }

            fn options_schema(&self) -> serde_json::Value {
                options_schema()
            }

            fn sandbox_port_offset(&self) -> u16 {
                $offset
            }

            #[cfg(feature = "sandbox")]
            async fn start_simulator(
                &self,
                listener: tokio::net::TcpListener,
                options: $crate::SimulatorOptions,
            ) -> std::io::Result<Box<dyn $crate::Simulator>> {
                let config = SandboxConfig::with_options(&options);
                Ok(Box::new(
                    Sandbox::start(listener, config).await?,
                ))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Demo;

    #[async_trait]
    impl ProviderPlugin for Demo {
        fn id(&self) -> &'static str {
            "demo"
        }

        fn account_fields(&self) -> &'static [&'static str] {
            &["token", "token_env"]
        }

        fn build(
            &self,
            _section: Value,
            ctx: &BuildContext,
        ) -> Result<Arc<dyn RefundProvider>, Vec<ConfigProblem>> {
            Err(vec![ctx.section_problem("demo builds nothing")])
        }

        fn sandbox_settings(&self) -> Map<String, Value> {
            let mut map = Map::new();
            map.insert(
                "token".into(),
                Value::String("sandbox \"demo\"\\token".into()),
            );
            map.insert("timeout_ms".into(), Value::from(500));
            map
        }

        fn sandbox_port_offset(&self) -> u16 {
            9
        }
    }

    #[test]
    fn a_plugin_without_an_options_schema_describes_any_object_or_null() {
        assert_eq!(
            Demo.options_schema(),
            serde_json::json!({"type": ["object", "null"]})
        );
    }

    #[test]
    fn the_sandbox_section_is_the_credentials_plus_the_base_url() {
        let section = Demo.sandbox_section("http://127.0.0.1:9100");
        assert_eq!(section["base_url"], "http://127.0.0.1:9100");
        assert_eq!(section["timeout_ms"], 500);
    }

    #[test]
    fn the_sandbox_section_as_toml_escapes_strings_and_sorts_keys() {
        let text = Demo.sandbox_section_toml("http://127.0.0.1:9100");
        assert_eq!(
            text,
            "[providers.demo]\nbase_url = \"http://127.0.0.1:9100\"\n\
             timeout_ms = 500\ntoken = \"sandbox \\\"demo\\\"\\\\token\"\n"
        );
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Settings {
        token: String,
    }

    /// A provider type for `build_with`'s type parameter; never built.
    struct Nothing;

    #[async_trait]
    impl RefundProvider for Nothing {
        fn id(&self) -> crate::ids::ProviderId {
            crate::ids::ProviderId::from_static("nothing")
        }

        fn capabilities(&self) -> crate::provider::Capabilities {
            crate::provider::Capabilities {
                currencies: None,
                partial: true,
                full_without_amount: false,
                status_query: false,
                webhooks: false,
            }
        }

        fn proofs(&self) -> crate::proof::Proofs {
            crate::proof::Proofs {
                not_found_proves_absence: false,
                resend_is_deduplicated: false,
                answers_carry_amount: false,
            }
        }

        async fn refund(
            &self,
            _req: &crate::request::ProviderRefundRequest,
        ) -> Result<crate::outcome::ProviderRefund, crate::error::ProviderError> {
            Err(crate::error::ProviderError::not_sent("nothing"))
        }

        async fn refund_status(
            &self,
            _req: &crate::request::ProviderRefundRequest,
        ) -> Result<crate::outcome::ProviderRefund, crate::error::ProviderError> {
            Ok(crate::outcome::ProviderRefund::not_found())
        }

        fn parse_webhook(
            &self,
            _headers: &http::HeaderMap,
            _body: &[u8],
            _now: time::OffsetDateTime,
        ) -> Result<crate::webhook::ProviderWebhook, crate::error::ProviderError> {
            Err(crate::error::ProviderError::invalid_webhook("nothing"))
        }
    }

    #[test]
    fn a_section_that_does_not_deserialize_is_one_problem_at_the_section_path() {
        let ctx = BuildContext::new("providers.demo", "http://127.0.0.1:8080");
        let built = build_with(
            serde_json::json!({"token": "t", "tokn": "x"}),
            &ctx,
            |_: Settings, ctx| -> Result<Nothing, Vec<ConfigProblem>> {
                Err(vec![ctx.section_problem("unreachable")])
            },
        );
        let problems = built.err().unwrap_or_default();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "providers.demo");
        assert!(
            problems[0].message.contains("tokn"),
            "{}",
            problems[0].message
        );
    }
}
