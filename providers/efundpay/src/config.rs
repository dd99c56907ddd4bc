//! The `[providers.efundpay]` config section and how it becomes an [`EfundpayProvider`].

use refund_provider::{BuildContext, ConfigProblem, ExposeSecret, Problems, SecretString};
use serde::Deserialize;

use crate::adapter::EfundpayProvider;

/// `[providers.efundpay]`: where eFundPay is, and the credentials to speak to it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EfundpaySettings {
    /// eFundPay API base URL, e.g. `https://api.efundpay.com` (without `/v4`).
    pub base_url: Option<String>,
    /// Bearer token, inline (sandbox only). Give this or `token_env`.
    pub token: Option<SecretString>,
    /// Name of the environment variable holding the bearer token.
    pub token_env: Option<String>,
    /// Sent as `x-merchant-account-id` on every request, e.g. `default`.
    pub merchant_account_id: Option<String>,
    /// Secret of the `eFundPay-Signature` webhook HMAC, inline (sandbox only). Give this or
    /// `webhook_secret_env`.
    pub webhook_secret: Option<SecretString>,
    /// Name of the environment variable holding the webhook secret.
    pub webhook_secret_env: Option<String>,
    /// More webhook secrets, inline (sandbox only), accepted beside `webhook_secret` while
    /// a secret is rotated: a webhook verifies against any of them.
    pub webhook_secrets: Option<Vec<SecretString>>,
    /// Names of environment variables holding more webhook secrets (rotation), accepted
    /// beside `webhook_secret_env`.
    pub webhook_secrets_env: Option<Vec<String>>,
    /// Whole-request timeout in milliseconds (default 10000, at most 120000).
    pub timeout_ms: Option<u64>,
}

impl EfundpaySettings {
    /// Builds the adapter, reporting every problem of the section with its key path.
    /// The webhook URL given to eFundPay is `{ctx.public_base_url}/v1/webhooks/efundpay`.
    pub fn build(self, ctx: &BuildContext) -> Result<EfundpayProvider, Vec<ConfigProblem>> {
        let mut problems = Problems::default();
        let base_url = problems.take(
            ctx.required("base_url", self.base_url.as_deref())
                .and_then(|url| ctx.base_url(url)),
        );
        let token = problems.take(ctx.secret_setting(
            "token",
            self.token.as_ref(),
            self.token_env.as_deref(),
        ));
        let merchant_account_id = problems.take(
            ctx.required("merchant_account_id", self.merchant_account_id.as_deref())
                .and_then(|id| {
                    if valid_header_value(id) {
                        Ok(id.to_owned())
                    } else {
                        Err(ConfigProblem::new(
                            ctx.key("merchant_account_id"),
                            "must be 1-255 printable ASCII characters",
                        ))
                    }
                }),
        );
        let webhook_secrets = problems.take(self.webhook_secrets(ctx));
        let timeout = problems.take(ctx.timeout(self.timeout_ms));
        let webhooks_url = ctx.webhook_url(crate::identity::PROVIDER_ID);
        let provider = match (
            base_url,
            token,
            merchant_account_id,
            webhook_secrets,
            timeout,
        ) {
            (Some(base_url), Some(token), Some(account), Some((first, more)), Some(timeout)) => {
                problems.take(
                    EfundpayProvider::new(
                        &base_url,
                        token,
                        &account,
                        first,
                        &webhooks_url,
                        timeout,
                    )
                    .map(|provider| provider.with_more_webhook_secrets(more))
                    .map_err(|e| ctx.section_problem(e)),
                )
            }
            _ => None,
        };
        problems.into_result(provider)
    }

    /// Every webhook secret of the section, in order: `webhook_secret`/`webhook_secret_env`
    /// (either, not both), then `webhook_secrets`, then `webhook_secrets_env`. At least one
    /// in all; an empty entry or an unset variable is a problem at its index.
    fn webhook_secrets(
        &self,
        ctx: &BuildContext,
    ) -> Result<(SecretString, Vec<SecretString>), ConfigProblem> {
        let lists_given = self.webhook_secrets.as_ref().is_some_and(|l| !l.is_empty())
            || self
                .webhook_secrets_env
                .as_ref()
                .is_some_and(|l| !l.is_empty());
        let mut secrets = Vec::new();
        if self.webhook_secret.is_some() || self.webhook_secret_env.is_some() || !lists_given {
            secrets.push(ctx.secret_setting(
                "webhook_secret",
                self.webhook_secret.as_ref(),
                self.webhook_secret_env.as_deref(),
            )?);
        }
        for (i, secret) in self.webhook_secrets.iter().flatten().enumerate() {
            let name = format!("webhook_secrets[{i}]");
            secrets.push(ctx.secret(&name, Some(secret.expose_secret()), None)?);
        }
        for (i, var) in self.webhook_secrets_env.iter().flatten().enumerate() {
            let value = std::env::var(var).ok().filter(|v| !v.is_empty());
            let secret = value.map(SecretString::from).ok_or_else(|| {
                ConfigProblem::new(
                    ctx.key(&format!("webhook_secrets_env[{i}]")),
                    format!("environment variable `{var}` is not set or empty"),
                )
            })?;
            secrets.push(secret);
        }
        let mut secrets = secrets.into_iter();
        match secrets.next() {
            Some(first) => Ok((first, secrets.collect())),
            None => Err(ConfigProblem::new(ctx.key("webhook_secret"), "missing")),
        }
    }
}

fn valid_header_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 255
        && value
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) || b == b' ')
        && value.trim() == value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> BuildContext {
        BuildContext::new("providers.efundpay", "http://127.0.0.1:8080/")
    }

    fn parse(toml_like: serde_json::Value) -> Result<EfundpaySettings, serde_json::Error> {
        serde_json::from_value(toml_like)
    }

    fn keys(problems: &[ConfigProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.key.as_str()).collect()
    }

    #[test]
    fn a_complete_section_with_inline_secrets_builds() {
        let settings = parse(serde_json::json!({
            "base_url": "https://api.efundpay.example/",
            "token": "tok",
            "merchant_account_id": "default",
            "webhook_secret": "whsec",
            "timeout_ms": 5000
        }))
        .expect("settings");
        let provider = settings.build(&ctx()).expect("provider");
        assert_eq!(
            provider.webhooks_url(),
            "http://127.0.0.1:8080/v1/webhooks/efundpay"
        );
        assert_eq!(provider.base_url(), "https://api.efundpay.example");
    }

    #[test]
    fn every_problem_is_reported_with_its_key_path() {
        let settings = parse(serde_json::json!({
            "token": "tok",
            "token_env": "EFUNDPAY_TOKEN",
            "webhook_secret_env": "EFUNDPAY_TEST_SURELY_UNSET_VARIABLE",
            "timeout_ms": 0
        }))
        .expect("settings");
        let problems = settings.build(&ctx()).expect_err("problems");
        assert_eq!(
            keys(&problems),
            vec![
                "providers.efundpay.base_url",
                "providers.efundpay.token",
                "providers.efundpay.merchant_account_id",
                "providers.efundpay.webhook_secret_env",
                "providers.efundpay.timeout_ms",
            ]
        );
    }

    #[test]
    fn rotation_lists_add_webhook_secrets_beside_the_single_one() {
        std::env::set_var("EFUNDPAY_TEST_ROTATED_WHSEC", "from-env");
        let settings = parse(serde_json::json!({
            "base_url": "https://api.efundpay.example",
            "token": "tok",
            "merchant_account_id": "default",
            "webhook_secret": "first",
            "webhook_secrets": ["second", "third"],
            "webhook_secrets_env": ["EFUNDPAY_TEST_ROTATED_WHSEC"]
        }))
        .expect("settings");
        let provider = settings.build(&ctx()).expect("provider");
        assert_eq!(provider.webhook_secret_count(), 4);

        let only_lists = parse(serde_json::json!({
            "base_url": "https://api.efundpay.example",
            "token": "tok",
            "merchant_account_id": "default",
            "webhook_secrets": ["second"]
        }))
        .expect("settings");
        assert_eq!(
            only_lists
                .build(&ctx())
                .map(|p| p.webhook_secret_count())
                .ok(),
            Some(1)
        );
    }

    #[test]
    fn rotation_list_problems_name_their_index() {
        let settings = parse(serde_json::json!({
            "base_url": "https://api.efundpay.example",
            "token": "tok",
            "merchant_account_id": "default",
            "webhook_secrets": ["ok", ""],
        }))
        .expect("settings");
        let problems = settings.build(&ctx()).expect_err("problems");
        assert_eq!(
            keys(&problems),
            vec!["providers.efundpay.webhook_secrets[1]"]
        );

        let settings = parse(serde_json::json!({
            "base_url": "https://api.efundpay.example",
            "token": "tok",
            "merchant_account_id": "default",
            "webhook_secret": "ok",
            "webhook_secrets_env": ["EFUNDPAY_TEST_SURELY_UNSET_VARIABLE"],
        }))
        .expect("settings");
        let problems = settings.build(&ctx()).expect_err("problems");
        assert_eq!(
            keys(&problems),
            vec!["providers.efundpay.webhook_secrets_env[0]"]
        );

        let settings = parse(serde_json::json!({
            "base_url": "https://api.efundpay.example",
            "token": "tok",
            "merchant_account_id": "default",
            "webhook_secrets": [],
        }))
        .expect("settings");
        let problems = settings.build(&ctx()).expect_err("problems");
        assert_eq!(keys(&problems), vec!["providers.efundpay.webhook_secret"]);
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(parse(serde_json::json!({"base_url": "https://x", "tokn": "t"})).is_err());
    }

    #[test]
    fn secrets_do_not_appear_in_debug_output() {
        let settings = parse(serde_json::json!({
            "base_url": "https://api.efundpay.example",
            "token": "very-secret-token",
            "merchant_account_id": "default",
            "webhook_secret": "very-secret-whsec",
            "webhook_secrets": ["very-secret-rotated"]
        }))
        .expect("settings");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        let provider = settings.build(&ctx()).expect("provider");
        let shown = format!("{provider:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
    }
}
