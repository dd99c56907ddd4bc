//! Gateway configuration (TOML, DESIGN §11): reading, validation with every problem reported
//! by key path, and the resolved `Config` the rest of the gateway uses.
//!
//! One file per section (`server.rs`, `merchants.rs`, …), each with the section as written
//! (`///` on every key: what it is, its unit, its default) and the `validate` that turns it
//! into its part of [`Config`]; [`load`] types every section on its own, so that one run
//! reports every problem. Unknown keys are rejected. Secrets come from `<name>_env` (a
//! variable's name) or inline `<name>`, read with the provider core's `BuildContext` helpers,
//! and are held as `SecretString`, so they never reach `Debug` output or logs. Provider
//! sections are kept as raw TOML here and built by [`crate::providers`], so adding a provider
//! does not touch this module.

mod approvals;
mod batches;
mod breaker;
mod callers;
mod database;
mod idempotency;
mod load;
mod merchants;
mod operators;
mod provider_sections;
mod retention;
mod routes;
mod rules;
mod server;
pub mod statements;
mod sync;
mod syntax;
mod telemetry;

use std::collections::BTreeMap;
use std::path::Path;

use refund_provider::ConfigProblem;

use crate::domain::approval::ApprovalRule;

pub use batches::BatchesConfig;
pub use breaker::BreakerConfig;
pub use callers::{hash_api_key, ApiKey};
pub use database::{redacted_url, DatabaseConfig};
pub use idempotency::IdempotencyConfig;
pub use merchants::MerchantConfig;
pub use operators::OperatorConfig;
pub use retention::RetentionConfig;
pub use routes::Route;
pub use server::{LogFormat, ServerConfig};
pub use sync::SyncConfig;
pub use telemetry::{OtlpProtocol, TelemetryConfig};

/// The embedded default: SQLite in `./data`, the three sandbox simulators in-process.
pub const EMBEDDED_DEFAULT: &str = include_str!("../config/gateway.toml");

/// The `base_url` value that asks the gateway to start that provider's simulator in-process.
pub(crate) const SANDBOX_BASE_URL: &str = "sandbox";

/// A fully validated configuration. Its `Debug` shows no secret: provider sections by their
/// key names only (their values hold inline tokens and secrets), the database URL without its
/// password.
#[derive(Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub merchants: Vec<MerchantConfig>,
    /// Finance and support staff (DESIGN §14): read across merchants, settle, resolve.
    pub(crate) operators: Vec<OperatorConfig>,
    /// Each provider's raw section (its connection and default account), built into
    /// adapters by [`crate::providers::ProviderRegistry::build`].
    pub(crate) providers: BTreeMap<String, toml::Value>,
    /// Each provider's circuit breaker settings (`[providers.<name>.breaker]`, DESIGN §17),
    /// taken out of its section; every configured provider has one.
    pub(crate) breakers: BTreeMap<String, BreakerConfig>,
    pub(crate) routes: Vec<Route>,
    pub(crate) sync: SyncConfig,
    pub(crate) idempotency: IdempotencyConfig,
    pub(crate) retention: RetentionConfig,
    /// Statement formats by provider (`[statements.<provider>]`); a provider without one
    /// sends the gateway's own six-column CSV.
    pub(crate) statements: BTreeMap<String, std::sync::Arc<statements::StatementFormat>>,
    /// OpenTelemetry trace export (`[telemetry]`, DESIGN §18).
    pub telemetry: TelemetryConfig,
    /// Which refunds wait for an operator's approval (`[[approval_rules]]`, DESIGN §19).
    pub(crate) approval_rules: Vec<ApprovalRule>,
    /// How long a refund may await approval before it is canceled
    /// (`approval_expires_after_hours`, default 168 h).
    pub(crate) approval_expires_after: std::time::Duration,
    /// Bulk refunds (`[batches]`, DESIGN §19).
    pub(crate) batches: BatchesConfig,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("server", &self.server)
            .field("database", &self.database)
            .field("merchants", &self.merchants)
            .field("operators", &self.operators)
            .field("providers", &section_keys(&self.providers))
            .field("breakers", &self.breakers)
            .field("routes", &self.routes)
            .field("sync", &self.sync)
            .field("idempotency", &self.idempotency)
            .field("retention", &self.retention)
            .field("statements", &self.statements)
            .field("telemetry", &self.telemetry)
            .field("approval_rules", &self.approval_rules)
            .field("approval_expires_after", &self.approval_expires_after)
            .field("batches", &self.batches)
            .finish()
    }
}

/// Provider sections as `{name: [key, …]}`: what is configured, never a value (inline
/// secrets live there).
pub(crate) fn section_keys(sections: &BTreeMap<String, toml::Value>) -> BTreeMap<&str, Vec<&str>> {
    sections
        .iter()
        .map(|(name, section)| {
            let keys = section
                .as_table()
                .map(|table| table.keys().map(String::as_str).collect())
                .unwrap_or_default();
            (name.as_str(), keys)
        })
        .collect()
}

/// Every problem found in a configuration.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} configuration problem(s):\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<ConfigProblem>);

impl Config {
    /// Parses and validates TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigErrors> {
        let (config, problems) = load::read(text);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(problems))
        }
    }

    /// Reads TOML text as far as it goes, for `check-config`: the configuration (defaults
    /// where a value was refused, never to be served) and every problem found.
    pub fn read_toml(text: &str) -> (Self, Vec<ConfigProblem>) {
        load::read(text)
    }

    /// The text of a config file, or why it cannot be read.
    pub fn read_text(path: &Path) -> Result<String, ConfigErrors> {
        std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigProblem::new(
                path.display().to_string(),
                format!("cannot read: {e}"),
            )])
        })
    }

    /// The statement format of `provider`: its `[statements.<provider>]`, else the gateway's
    /// own six-column CSV.
    pub fn statement_format(&self, provider: &str) -> std::sync::Arc<statements::StatementFormat> {
        self.statements.get(provider).cloned().unwrap_or_default()
    }

    pub(crate) fn merchant(&self, id: &str) -> Option<&MerchantConfig> {
        self.merchants.iter().find(|m| m.id == id)
    }

    /// True when any provider section asks for the in-process sandbox.
    pub(crate) fn uses_sandbox(&self) -> bool {
        self.providers.values().any(|section| {
            section.get("base_url").and_then(|v| v.as_str()) == Some(SANDBOX_BASE_URL)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_provider::ExposeSecret;
    use std::time::Duration;

    #[test]
    fn the_embedded_default_is_valid() {
        let config = Config::from_toml(EMBEDDED_DEFAULT).expect("embedded default");
        assert!(config.uses_sandbox());
        assert_eq!(config.merchants[0].id, "demo");
        assert_eq!(
            config.merchants[0].api_keys[0].sha256,
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
            config.operators[0].api_keys[0].sha256,
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
    fn debug_output_never_shows_an_inline_secret_or_a_database_password() {
        let text = r#"
            [database]
            url = "postgres://gateway:db-pass-123@db.internal:5432/refunds?sslmode=require"
            [[merchants]]
            id = "acme"
            api_key = "sk_inline_acme_key"
            webhook_url = "https://acme.example/events"
            webhook_secret = "whsec_inline_merchant"
            [merchants.providers.efundpay]
            token = "tok_inline_merchant_account"
            merchant_account_id = "acme-eu"
            webhook_secret = "whsec_inline_merchant_account"
            [[operators]]
            id = "finance"
            api_key = "sk_inline_operator"
            [providers.efundpay]
            base_url = "https://api.efundpay.example"
            token = "tok_inline_default_account"
            merchant_account_id = "default"
            webhook_secret = "whsec_inline_default_account"
            [providers.ebuy]
            base_url = "https://ebuy.example"
            app_id = "1"
            app_secret = "ebuy_inline_app_secret"
        "#;
        let secrets = [
            "db-pass-123",
            "sk_inline_acme_key",
            "whsec_inline_merchant",
            "tok_inline_merchant_account",
            "whsec_inline_merchant_account",
            "sk_inline_operator",
            "tok_inline_default_account",
            "whsec_inline_default_account",
            "ebuy_inline_app_secret",
        ];
        let mut problems = refund_provider::Problems::default();
        let raw = load::RawSections::parse(text, &mut problems);
        assert!(problems.0.is_empty(), "{:?}", problems.0);
        let raw_shown = format!("{raw:?} {raw:#?}");
        let config = Config::from_toml(text).unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{config:?} {config:#?}");
        for output in [&raw_shown, &shown] {
            for secret in secrets {
                assert!(!output.contains(secret), "{secret} in {output}");
            }
            // Still useful: the database host and what each provider section sets.
            assert!(output.contains("db.internal"), "{output}");
            assert!(output.contains("webhook_secret"), "{output}");
        }
        assert!(
            shown.contains("postgres://gateway:***@db.internal"),
            "{shown}"
        );
    }

    #[test]
    fn a_password_in_the_query_string_is_redacted_too() {
        let shown = redacted_url("postgres://gateway@db/refunds?password=hunter2&sslmode=require");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("sslmode=require"), "{shown}");
        assert_eq!(redacted_url("not a url with pw"), "[unparsed url]");
        assert_eq!(
            redacted_url("sqlite://data/refund-gateway.db"),
            "sqlite://data/refund-gateway.db"
        );
    }

    #[test]
    fn a_provider_timeout_over_half_the_not_found_grace_is_refused_with_the_reason() {
        let section = |timeout: &str, grace: u64| {
            format!(
                "[sync]\nnot_found_grace_ms = {grace}\n[providers.efundpay]\nbase_url = \"https://x.example\"\n{timeout}\n"
            )
        };
        // 10000 * 2 > 15000: refused, for the explicit value and for the default alike.
        for timeout in ["timeout_ms = 10000", ""] {
            let err = Config::from_toml(&section(timeout, 15_000)).expect_err("refused");
            let problem = err
                .0
                .iter()
                .find(|p| p.key == "providers.efundpay.timeout_ms")
                .unwrap_or_else(|| panic!("{err}"));
            assert!(
                problem.message.contains("half of sync.not_found_grace_ms"),
                "{}",
                problem.message
            );
        }
        assert!(Config::from_toml(&section("timeout_ms = 7500", 15_000)).is_ok());
        assert!(Config::from_toml(&section("timeout_ms = 7501", 15_000)).is_err());
        // The defaults (10 s against 60 s) are fine.
        assert!(Config::from_toml(&section("", 60_000)).is_ok());
    }

    #[test]
    fn server_limits_and_retention_have_their_defaults_and_bounds() {
        let config = Config::from_toml("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.server.header_read_timeout, Duration::from_secs(10));
        assert_eq!(config.server.max_connections, 1024);
        assert_eq!(config.server.rate_limit_per_second, 200);
        assert_eq!(config.server.webhook_rate_limit_per_second, 100);
        assert_eq!(config.retention.period, Duration::from_secs(90 * 86_400));
        let off = Config::from_toml(
            "[server]\nrate_limit_per_second = 0\nwebhook_rate_limit_per_second = 0\n[retention]\ndays = 7\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(off.server.rate_limit_per_second, 0);
        assert_eq!(off.server.webhook_rate_limit_per_second, 0);
        assert_eq!(off.retention.period, Duration::from_secs(7 * 86_400));
        let err = Config::from_toml(
            "[server]\nmax_connections = 0\nheader_read_timeout_ms = 5\nwebhook_rate_limit_per_second = 2000000\n[retention]\ndays = 0\n",
        )
        .expect_err("invalid");
        let keys: Vec<_> = err.0.iter().map(|p| p.key.as_str()).collect();
        for key in [
            "server.max_connections",
            "server.header_read_timeout_ms",
            "server.webhook_rate_limit_per_second",
            "retention.days",
        ] {
            assert!(keys.contains(&key), "{key} missing from {keys:?}");
        }
    }

    #[test]
    fn merchant_webhook_secrets_rotate_and_are_bounded() {
        let one = |extra: &str| {
            format!(
                "[[merchants]]\nid = \"acme\"\napi_key = \"k\"\nwebhook_url = \"https://acme.example/e\"\n{extra}\n"
            )
        };
        let config = Config::from_toml(&one(
            "webhook_secret = \"new\"\nwebhook_secrets = [\"old\", \"older\"]",
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let secrets: Vec<&str> = config.merchants[0]
            .webhook_secrets
            .iter()
            .map(|s| s.expose_secret())
            .collect();
        assert_eq!(secrets, ["new", "old", "older"]);
        let nine = (0..9)
            .map(|i| format!("\"s{i}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let err =
            Config::from_toml(&one(&format!("webhook_secrets = [{nine}]"))).expect_err("too many");
        assert_eq!(err.0[0].key, "merchants[0].webhook_secrets");
        let err = Config::from_toml(&one("webhook_secrets = [\"\"]")).expect_err("empty");
        assert_eq!(err.0[0].key, "merchants[0].webhook_secrets[0]");
    }

    #[test]
    fn api_keys_telemetry_and_log_format_are_read_and_every_mistake_named() {
        std::env::set_var(
            "REFUND_GATEWAY_TEST_KEY_SHA",
            "1111111111111111111111111111111111111111111111111111111111111111",
        );
        let good = format!(
            r#"
            [server]
            log_format = "json"
            [telemetry]
            otlp_endpoint = "http://collector:4318/"
            protocol = "http/json"
            [[merchants]]
            id = "acme"
            api_keys = [
              {{sha256 = "{}", expires_at = "2027-01-31T00:00:00Z"}},
              {{sha256_env = "REFUND_GATEWAY_TEST_KEY_SHA", expires_at = 2027-02-01T00:00:00Z}},
            ]
            [[operators]]
            id = "finance"
            api_key = "sk_op"
            api_keys = [{{sha256 = "{}"}}]
            "#,
            "2".repeat(64),
            "3".repeat(64)
        );
        let config = Config::from_toml(&good).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.server.log_format, LogFormat::Json);
        assert_eq!(
            config.telemetry.otlp_endpoint.as_deref(),
            Some("http://collector:4318")
        );
        assert_eq!(config.telemetry.protocol, OtlpProtocol::HttpJson);
        assert_eq!(config.merchants[0].api_keys.len(), 2);
        assert!(config.merchants[0].api_keys[1].expires_at.is_some());
        assert_eq!(config.operators[0].api_keys.len(), 2);
        assert!(!format!("{config:?}").contains(&"2".repeat(64)));

        let nine: Vec<String> = (0..9)
            .map(|i| format!("{{sha256 = \"{}\"}}", format!("{i}").repeat(64)))
            .collect();
        let bad = format!(
            r#"
            [server]
            log_format = "xml"
            [telemetry]
            otlp_endpoint = "ftp://x"
            protocol = "grpc"
            max_queue = 1
            [[merchants]]
            id = "acme"
            api_keys = [{{sha256 = "xyz"}}, {{sha256 = "{}", expires_at = "tomorrow"}}, {{sha256_env = "REFUND_GATEWAY_TEST_NO_SUCH_VAR"}}, {{}}, {{sha256 = "{}", color = "red"}}]
            [[merchants]]
            id = "globex"
            api_keys = [{}]
            "#,
            "4".repeat(64),
            "5".repeat(64),
            nine.join(", ")
        );
        let err = Config::from_toml(&bad).expect_err("invalid");
        let keys: Vec<_> = err.0.iter().map(|p| p.key.as_str()).collect();
        for expected in [
            "server.log_format",
            "telemetry.otlp_endpoint",
            "telemetry.protocol",
            "telemetry.max_queue",
            "merchants[0].api_keys[4].color",
            "merchants[1].api_keys",
        ] {
            assert!(keys.contains(&expected), "{expected} missing from {keys:?}");
        }
        let bad_entries = bad.replace(", {sha256 = \"5555", ", {sha256 = \"6666");
        let without_typo = bad_entries.replace(", color = \"red\"", "");
        let err = Config::from_toml(&without_typo).expect_err("invalid");
        let keys: Vec<_> = err.0.iter().map(|p| p.key.as_str()).collect();
        for expected in [
            "merchants[0].api_keys[0].sha256",
            "merchants[0].api_keys[1].expires_at",
            "merchants[0].api_keys[2].sha256_env",
            "merchants[0].api_keys[3]",
        ] {
            assert!(keys.contains(&expected), "{expected} missing from {keys:?}");
        }
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
    fn a_wrongly_typed_value_is_reported_with_every_other_problem() {
        let text = r#"
            surprise = 1
            [server]
            max_connections = "many"
            [database]
            url = "mysql://x"
            [[merchants]]
            id = "acme"
            api_key = 5
            [[merchants]]
            id = "globex"
            webhook_secrets = ["s", 7]
            [[routes]]
            provider = "nowhere"
            merchant = ["acme"]
        "#;
        let err = Config::from_toml(text).expect_err("invalid");
        let keys: Vec<_> = err.0.iter().map(|p| p.key.as_str()).collect();
        for expected in [
            "surprise",
            "server.max_connections",
            "database.url",
            "merchants[0].api_key",
            "merchants[1].webhook_secrets[1]",
            "routes[0].provider",
        ] {
            assert!(keys.contains(&expected), "{expected} missing from {keys:?}");
        }
        // `acme` is configured, though its entry was refused: no problem follows from that.
        assert!(!keys.contains(&"routes[0].merchant[0]"), "{keys:?}");
        let typed = err.0.iter().find(|p| p.key == "server.max_connections");
        assert!(
            typed.is_some_and(|p| p.message.starts_with("invalid type")),
            "{err}"
        );
        let unknown = err.0.iter().find(|p| p.key == "surprise");
        assert!(
            unknown.is_some_and(|p| p.message.starts_with("unknown field `surprise`")),
            "{err}"
        );
    }

    #[test]
    fn a_syntax_error_is_the_one_problem_and_names_its_key() {
        let err = Config::from_toml("[server]\nlisten = \n").expect_err("syntax");
        assert_eq!(err.0.len(), 1, "{err}");
        assert_eq!(err.0[0].key, "server.listen");
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
