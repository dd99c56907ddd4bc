//! Every problem of a configuration in one pass, the gateway's own sections and the provider
//! sections together (the registry is built on the configuration as far as it could be
//! read), or the warnings and summary of one that passes. One code path for the two that ask:
//! the `check-config` command and a reload (`crate::reload`), which applies nothing that
//! fails it.

use refund_provider::ConfigProblem;

use crate::config::Config;
use crate::providers::{ProviderRegistry, SandboxMode};

/// What a check found.
#[derive(Debug)]
pub struct CheckReport {
    /// Every problem, the configuration's own first; empty when it passes.
    pub problems: Vec<ConfigProblem>,
    /// What a passing configuration should still be told (a default account shared by
    /// merchants).
    pub warnings: Vec<ConfigProblem>,
    /// Merchants configured.
    pub merchants: usize,
    /// The providers built, by id.
    pub providers: Vec<String>,
}

/// Checks the provider sections of `config` as read by [`Config::read_toml`], adding their
/// problems to the configuration's own `problems`. A provider problem at a key the
/// configuration's checks already named is left out: one key, one problem to fix.
pub async fn check(config: &Config, mut problems: Vec<ConfigProblem>) -> CheckReport {
    let public = config
        .server
        .public_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.server.listen));
    let mut report = CheckReport {
        problems: Vec::new(),
        warnings: Vec::new(),
        merchants: config.merchants.len(),
        providers: Vec::new(),
    };
    match ProviderRegistry::build(config, &public, SandboxMode::CheckOnly).await {
        Ok(registry) => {
            report.warnings = registry.warnings().to_vec();
            report.providers = registry.ids().map(ToString::to_string).collect();
        }
        Err(found) => {
            let named: Vec<String> = problems.iter().map(|p| p.key.clone()).collect();
            problems.extend(found.into_iter().filter(|p| !named.contains(&p.key)));
        }
    }
    report.problems = problems;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn keys_found(text: &str) -> Vec<String> {
        let (config, problems) = Config::read_toml(text);
        let report = check(&config, problems).await;
        report.problems.into_iter().map(|p| p.key).collect()
    }

    #[tokio::test]
    async fn a_type_error_a_semantic_error_and_a_provider_error_are_reported_in_one_pass() {
        let keys = keys_found(
            r#"
            [server]
            max_connections = "many"
            [[merchants]]
            id = "acme"
            api_key = "sk_acme"
            [[routes]]
            provider = "nowhere"
            [providers.efundpay]
            base_url = "ftp://x"
            token = "t"
            merchant_account_id = "m"
            webhook_secret = "s"
            "#,
        )
        .await;
        for expected in [
            "server.max_connections",
            "routes[0].provider",
            "providers.efundpay.base_url",
        ] {
            assert!(
                keys.iter().any(|k| k == expected),
                "{expected} missing from {keys:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_provider_problem_at_a_key_already_named_is_not_repeated() {
        // Over the grace (the configuration's rule) and over 120000 (the provider's).
        let keys = keys_found(
            r#"
            [providers.efundpay]
            base_url = "https://api.efundpay.example"
            token = "t"
            merchant_account_id = "m"
            webhook_secret = "s"
            timeout_ms = 200000
            "#,
        )
        .await;
        assert_eq!(keys, ["providers.efundpay.timeout_ms"]);
    }

    #[tokio::test]
    async fn a_clean_configuration_passes_with_its_summary() {
        let (config, problems) = Config::read_toml(crate::config::EMBEDDED_DEFAULT);
        let report = check(&config, problems).await;
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.merchants, config.merchants.len());
        assert!(!report.providers.is_empty());
    }
}
