//! The `[providers.stripe]` config section and how it becomes a [`StripeProvider`].

use refund_provider::{BuildContext, ConfigProblem, Problems, SecretString};
use serde::Deserialize;

use crate::adapter::{StripeAccount, StripeProvider};

/// Stripe's API, when `base_url` is not given.
pub const DEFAULT_BASE_URL: &str = "https://api.stripe.com";
/// The simulator's secret key (DESIGN §7), also without the `sandbox` feature: the
/// sandbox's config section names it.
pub const SANDBOX_SECRET_KEY: &str = "sk_test_sandbox_stripe";
/// The simulator's webhook signing secret (DESIGN §7).
pub const SANDBOX_WEBHOOK_SECRET: &str = "whsec_sandbox_stripe";

/// `[providers.stripe]`: where Stripe is, and the account to speak to it with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StripeSettings {
    /// Stripe API base URL, without `/v1` (default `https://api.stripe.com`).
    pub base_url: Option<String>,
    /// Secret API key (`sk_live_…`, `sk_test_…` or a restricted `rk_…` key with refund
    /// rights), inline (sandbox only). Give this or `secret_key_env`.
    pub secret_key: Option<SecretString>,
    /// Name of the environment variable holding the secret API key.
    pub secret_key_env: Option<String>,
    /// Signing secret of the webhook endpoint (`whsec_…`), inline (sandbox only). Give this
    /// or `webhook_secret_env`.
    pub webhook_secret: Option<SecretString>,
    /// Name of the environment variable holding the webhook signing secret.
    pub webhook_secret_env: Option<String>,
    /// Stripe API version sent as `Stripe-Version` (e.g. `2024-06-20`); the account's default
    /// version when absent.
    pub api_version: Option<String>,
    /// Whole-request timeout in milliseconds (default 10000, at most 120000).
    pub timeout_ms: Option<u64>,
}

impl StripeSettings {
    /// Builds the adapter, reporting every problem of the section with its key path. A
    /// merchant's own account (`ctx.merchant`) also names that merchant in each refund's
    /// `metadata[merchant_id]`.
    pub fn build(self, ctx: &BuildContext) -> Result<StripeProvider, Vec<ConfigProblem>> {
        let mut problems = Problems::default();
        let base_url =
            problems.take(ctx.base_url(self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL)));
        let secret_key = problems.take(ctx.secret_setting(
            "secret_key",
            self.secret_key.as_ref(),
            self.secret_key_env.as_deref(),
        ));
        let webhook_secret = problems.take(ctx.secret_setting(
            "webhook_secret",
            self.webhook_secret.as_ref(),
            self.webhook_secret_env.as_deref(),
        ));
        let api_version = match self.api_version {
            None => Some(None),
            Some(version) if valid_api_version(&version) => Some(Some(version)),
            Some(version) => {
                problems.push(
                    ctx.key("api_version"),
                    format!(
                        "`{}` is not a Stripe API version such as 2024-06-20",
                        version.chars().take(40).collect::<String>()
                    ),
                );
                None
            }
        };
        let timeout = problems.take(ctx.timeout(self.timeout_ms));
        let provider = match (base_url, secret_key, webhook_secret, api_version, timeout) {
            (
                Some(base_url),
                Some(secret_key),
                Some(webhook_secret),
                Some(api_version),
                Some(timeout),
            ) => {
                let account = StripeAccount {
                    secret_key,
                    webhook_secret,
                    merchant_id: ctx.merchant.clone(),
                };
                problems.take(
                    StripeProvider::new(&base_url, account, api_version.as_deref(), timeout)
                        .map_err(|e| ctx.section_problem(e)),
                )
            }
            _ => None,
        };
        problems.into_result(provider)
    }
}

/// `YYYY-MM-DD`, optionally followed by `.` and a release name (`2025-03-31.basil`).
fn valid_api_version(version: &str) -> bool {
    let (date, name) = match version.split_once('.') {
        Some((date, name)) => (date, Some(name)),
        None => (version, None),
    };
    let bytes = date.as_bytes();
    let date_ok = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    let name_ok = name.is_none_or(|n| {
        !n.is_empty() && n.len() <= 32 && n.bytes().all(|b| b.is_ascii_lowercase())
    });
    date_ok && name_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_provider::RefundProvider;

    fn ctx() -> BuildContext {
        BuildContext::new("providers.stripe", "http://127.0.0.1:8080")
    }

    fn parse(value: serde_json::Value) -> Result<StripeSettings, serde_json::Error> {
        serde_json::from_value(value)
    }

    #[test]
    fn a_section_without_base_url_talks_to_stripe_itself() {
        let settings = parse(serde_json::json!({
            "secret_key": "sk_test_x", "webhook_secret": "whsec_x"
        }))
        .expect("settings");
        let provider = settings.build(&ctx()).expect("provider");
        assert_eq!(provider.base_url(), "https://api.stripe.com");
        assert_eq!(provider.id().as_str(), "stripe");
    }

    #[test]
    fn every_problem_is_reported_with_its_key_path() {
        let settings = parse(serde_json::json!({
            "base_url": "ftp://stripe",
            "secret_key": "sk", "secret_key_env": "STRIPE_KEY",
            "webhook_secret_env": "STRIPE_TEST_SURELY_UNSET_VARIABLE",
            "api_version": "latest",
            "timeout_ms": 0
        }))
        .expect("settings");
        let problems = settings.build(&ctx()).expect_err("problems");
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "providers.stripe.base_url",
                "providers.stripe.secret_key",
                "providers.stripe.webhook_secret_env",
                "providers.stripe.api_version",
                "providers.stripe.timeout_ms",
            ]
        );
    }

    #[test]
    fn api_versions_are_dates_with_an_optional_release_name() {
        for good in ["2024-06-20", "2025-03-31.basil", "2019-02-19"] {
            assert!(valid_api_version(good), "{good}");
        }
        for bad in [
            "",
            "latest",
            "2024-6-20",
            "2024-06-20.",
            "2024-06-20.Basil",
            "2024/06/20",
        ] {
            assert!(!valid_api_version(bad), "{bad}");
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(parse(serde_json::json!({"secret": "sk"})).is_err());
    }

    #[test]
    fn secrets_do_not_appear_in_debug_output() {
        let settings = parse(serde_json::json!({
            "secret_key": "sk_test_very_secret", "webhook_secret": "whsec_very_secret"
        }))
        .expect("settings");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("very_secret"), "{shown}");
        let provider = settings.build(&ctx()).expect("provider");
        let shown = format!("{provider:?}");
        assert!(!shown.contains("very_secret"), "{shown}");
    }

    #[test]
    fn a_merchants_own_account_names_the_merchant() {
        let settings = parse(serde_json::json!({
            "secret_key": "sk_test_x", "webhook_secret": "whsec_x"
        }))
        .expect("settings");
        let provider = settings
            .build(&ctx().for_merchant("acme"))
            .expect("provider");
        assert_eq!(provider.merchant_id(), Some("acme"));
    }
}
