//! Gateway configuration (TOML, DESIGN §11): reading, validation with every problem reported
//! by key path, and the resolved `Config` the rest of the gateway uses.
//!
//! Unknown keys are rejected. Secrets come from `<name>_env` (a variable's name) or inline
//! `<name>` and are held as `SecretString`, so they never reach `Debug` output or logs.
//! Provider sections are kept as raw TOML here and built by [`crate::providers`], so adding a
//! provider does not touch this file.

pub mod raw;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use refund_provider::{ConfigProblem, Currency, ProviderId, SecretString};
use sha2::{Digest, Sha256};

use raw::RawConfig;

/// The embedded default: SQLite in `./data`, the three sandbox simulators in-process.
pub const EMBEDDED_DEFAULT: &str = include_str!("../config/gateway.toml");

/// The `base_url` value that asks the gateway to start that provider's simulator in-process.
pub const SANDBOX_BASE_URL: &str = "sandbox";

/// A fully validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub merchants: Vec<MerchantConfig>,
    /// Finance and support staff (DESIGN §14): read across merchants, settle, resolve.
    pub operators: Vec<OperatorConfig>,
    /// Each provider's raw section (its connection and default account), built into
    /// adapters by [`crate::providers::ProviderRegistry::build`].
    pub providers: BTreeMap<String, toml::Value>,
    pub routes: Vec<Route>,
    pub sync: SyncConfig,
    pub idempotency: IdempotencyConfig,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Base of the URLs given to providers for their webhooks; `None` derives it from the
    /// address actually bound.
    pub public_base_url: Option<String>,
    /// Upper bound on one API request, provider call included.
    pub request_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
}

/// A merchant allowed to call the API.
#[derive(Clone)]
pub struct MerchantConfig {
    pub id: String,
    /// SHA-256 of the merchant's API key.
    pub api_key_sha256: [u8; 32],
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<SecretString>,
    /// Providers this merchant may use; `None` means all configured ones.
    pub providers: Option<Vec<ProviderId>>,
    /// The merchant's own provider accounts (`[merchants.providers.<id>]`, DESIGN §14) as
    /// raw tables, by provider; the registry checks and builds them.
    pub accounts: BTreeMap<String, toml::Table>,
}

/// An operator: may read every merchant's data, settle statements and resolve refunds.
#[derive(Clone)]
pub struct OperatorConfig {
    pub id: String,
    /// SHA-256 of the operator's API key.
    pub api_key_sha256: [u8; 32],
}

impl std::fmt::Debug for OperatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorConfig")
            .field("id", &self.id)
            .field("api_key_sha256", &"[redacted]")
            .finish()
    }
}

impl std::fmt::Debug for MerchantConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantConfig")
            .field("id", &self.id)
            .field("api_key_sha256", &"[redacted]")
            .field("webhook_url", &self.webhook_url)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("providers", &self.providers)
            .field("accounts", &self.accounts.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl MerchantConfig {
    pub fn may_use(&self, provider: &ProviderId) -> bool {
        self.providers
            .as_ref()
            .is_none_or(|list| list.contains(provider))
    }
}

/// One `[[routes]]` rule; all given conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub provider: ProviderId,
    pub currency: Option<Vec<Currency>>,
    pub payment_id_prefix: Option<String>,
    pub merchant: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct SyncConfig {
    pub poll_interval: Duration,
    pub first_retry: Duration,
    pub max_retry: Duration,
    pub give_up_after: Duration,
    /// A provider's "not found" is not conclusive until the refund is this old.
    pub not_found_grace: Duration,
}

#[derive(Debug, Clone)]
pub struct IdempotencyConfig {
    pub retention: Duration,
}

/// Every problem found in a configuration.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} configuration problem(s):\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<ConfigProblem>);

impl Config {
    /// Reads and validates a config file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigProblem::new(
                path.display().to_string(),
                format!("cannot read: {e}"),
            )])
        })?;
        Self::from_toml(&text)
    }

    /// Parses and validates TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigErrors> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            ConfigErrors(vec![ConfigProblem::new(
                raw::toml_error_key(text, &e),
                e.message().to_owned(),
            )])
        })?;
        raw.validate().map_err(ConfigErrors)
    }

    pub fn merchant(&self, id: &str) -> Option<&MerchantConfig> {
        self.merchants.iter().find(|m| m.id == id)
    }

    /// True when any provider section asks for the in-process sandbox.
    pub fn uses_sandbox(&self) -> bool {
        self.providers.values().any(|section| {
            section.get("base_url").and_then(|v| v.as_str()) == Some(SANDBOX_BASE_URL)
        })
    }
}

/// SHA-256 of an API key, as configured in `api_key_sha256`.
pub fn hash_api_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_default_is_valid() {
        let config = Config::from_toml(EMBEDDED_DEFAULT).expect("embedded default");
        assert!(config.uses_sandbox());
        assert_eq!(config.merchants[0].id, "demo");
        assert_eq!(
            config.merchants[0].api_key_sha256,
            hash_api_key("sk_sandbox_demo")
        );
    }

    #[test]
    fn operators_and_merchant_accounts_are_read() {
        std::env::set_var("REFUND_GATEWAY_TEST_OPERATOR_KEY", "sk_op_from_env");
        let text = r#"
            [[merchants]]
            id = "acme"
            api_key = "sk_acme"
            [merchants.providers.efundpay]
            token_env = "ACME_EFUNDPAY_TOKEN"
            merchant_account_id = "acme-eu"

            [[merchants]]
            id = "globex"
            api_key = "sk_globex"
            providers = ["efundpay"]

            [[operators]]
            id = "finance"
            api_key_env = "REFUND_GATEWAY_TEST_OPERATOR_KEY"

            [providers.efundpay]
            base_url = "https://api.efundpay.example"
        "#;
        let config = Config::from_toml(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.operators[0].id, "finance");
        assert_eq!(
            config.operators[0].api_key_sha256,
            hash_api_key("sk_op_from_env")
        );
        assert!(config.merchants[0].accounts.contains_key("efundpay"));
        assert_eq!(config.merchants[0].providers, None);
        assert!(config.merchants[1].accounts.is_empty());
        assert_eq!(
            config.merchants[1].providers.as_ref().map(Vec::len),
            Some(1)
        );
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("sk_op_from_env") && !shown.contains("sk_acme"),
            "{shown}"
        );
    }

    #[test]
    fn two_callers_with_one_key_or_an_operator_without_a_key_are_refused() {
        let text = r#"
            [[merchants]]
            id = "acme"
            api_key = "sk_same"
            [[operators]]
            id = "finance"
            api_key = "sk_same"
            [[operators]]
            id = "support"
        "#;
        let err = Config::from_toml(text).expect_err("invalid");
        let keys: Vec<_> = err.0.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"operators[0]"), "{keys:?}");
        assert!(keys.contains(&"operators[1].api_key_sha256"), "{keys:?}");
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_path() {
        let err = Config::from_toml("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 1\n")
            .expect_err("unknown key");
        let text = err.to_string();
        assert!(text.contains("server"), "{text}");
        assert!(text.contains("lisen"), "{text}");
    }

    #[test]
    fn every_semantic_problem_is_reported_with_its_key_path() {
        let text = r#"
            [server]
            listen = "not an address"
            [database]
            url = "mysql://x"
            [[merchants]]
            id = "acme"
            api_key_sha256 = "xyz"
            [[routes]]
            provider = "nowhere"
            currency = ["eur"]
            [sync]
            poll_interval_ms = 0
        "#;
        let err = Config::from_toml(text).expect_err("invalid");
        let keys: Vec<_> = err.0.iter().map(|p| p.key.as_str()).collect();
        for expected in [
            "server.listen",
            "database.url",
            "merchants[0].api_key_sha256",
            "routes[0].provider",
            "routes[0].currency[0]",
            "sync.poll_interval_ms",
        ] {
            assert!(keys.contains(&expected), "{expected} missing from {keys:?}");
        }
    }
}
