//! Provider configuration helpers: secrets given inline or by environment variable name,
//! problems reported with their key path, and what every provider section shares.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// A configuration problem at a key path, e.g. `providers.authms.token_env`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
}

impl ConfigProblem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// What a provider needs from the gateway's configuration besides its own section.
#[derive(Debug, Clone)]
pub struct BuildContext {
    /// Key path of the provider's section, e.g. `providers.efundpay`.
    pub section: String,
    /// The gateway's public base URL (for webhook URLs given to providers).
    pub public_base_url: String,
    /// The merchant whose own account (`[merchants.providers.<id>]`, DESIGN §14) this
    /// section builds; `None` for the provider's default account.
    pub merchant: Option<String>,
}

impl BuildContext {
    /// The context of a provider's default account, `[providers.<id>]`.
    pub fn new(section: impl Into<String>, public_base_url: impl Into<String>) -> Self {
        Self {
            section: section.into(),
            public_base_url: public_base_url.into(),
            merchant: None,
        }
    }

    /// The same context for a merchant's own account of the provider.
    pub fn for_merchant(mut self, merchant_id: impl Into<String>) -> Self {
        self.merchant = Some(merchant_id.into());
        self
    }

    /// Where the provider posts its webhooks for this account:
    /// `{public_base_url}/v1/webhooks/{provider}`, or `…/{provider}/{merchant_id}` for a
    /// merchant's own account (verified there with that account's secret).
    pub fn webhook_url(&self, provider: &str) -> String {
        let base = self.public_base_url.trim_end_matches('/');
        match &self.merchant {
            None => format!("{base}/v1/webhooks/{provider}"),
            Some(merchant) => format!("{base}/v1/webhooks/{provider}/{merchant}"),
        }
    }

    pub fn key(&self, name: &str) -> String {
        format!("{}.{name}", self.section)
    }

    /// Resolves a secret given as `<name>` inline or `<name>_env` (the variable's name).
    /// Exactly one must be given, and the variable must be set and non-empty.
    pub fn secret(
        &self,
        name: &str,
        inline: Option<&str>,
        env_var: Option<&str>,
    ) -> Result<SecretString, ConfigProblem> {
        match (inline, env_var) {
            (Some(_), Some(_)) => Err(ConfigProblem::new(
                self.key(name),
                format!("give either `{name}` or `{name}_env`, not both"),
            )),
            (Some(""), None) => Err(ConfigProblem::new(self.key(name), "must not be empty")),
            (Some(value), None) => Ok(SecretString::from(value.to_owned())),
            (None, Some(var)) => self.env_secret(&format!("{name}_env"), var),
            (None, None) => Err(ConfigProblem::new(
                self.key(name),
                format!("missing: give `{name}_env` (a variable name) or `{name}`"),
            )),
        }
    }

    /// The value of the environment variable `var`, named at key `name` (e.g.
    /// `webhook_secrets_env[1]`): it must be set and non-empty.
    pub fn env_secret(&self, name: &str, var: &str) -> Result<SecretString, ConfigProblem> {
        match std::env::var(var) {
            Ok(value) if !value.is_empty() => Ok(SecretString::from(value)),
            _ => Err(ConfigProblem::new(
                self.key(name),
                format!("environment variable `{var}` is not set or empty"),
            )),
        }
    }

    /// A section's secret as its settings struct holds it: `<name>` (inline, deserialized as
    /// a `SecretString`) and `<name>_env`; see [`BuildContext::secret`].
    pub fn secret_setting(
        &self,
        name: &str,
        inline: Option<&SecretString>,
        env_var: Option<&str>,
    ) -> Result<SecretString, ConfigProblem> {
        self.secret(name, inline.map(|s| s.expose_secret()), env_var)
    }

    /// A key the section must give: `<section>.<name>: missing` when it does not.
    pub fn required<'a>(
        &self,
        name: &str,
        value: Option<&'a str>,
    ) -> Result<&'a str, ConfigProblem> {
        value.ok_or_else(|| ConfigProblem::new(self.key(name), "missing"))
    }

    /// A problem with the section as a whole (e.g. the adapter refused to build).
    pub fn section_problem(&self, message: impl std::fmt::Display) -> ConfigProblem {
        ConfigProblem::new(self.section.clone(), message.to_string())
    }

    /// Checks a provider `base_url`: http or https, no trailing slash needed.
    pub fn base_url(&self, value: &str) -> Result<String, ConfigProblem> {
        self.http_url("base_url", value)
    }

    /// Checks the URL at key `name`: http or https with a host. Returns it without trailing
    /// slashes.
    pub fn http_url(&self, name: &str, value: &str) -> Result<String, ConfigProblem> {
        let trimmed = value.trim_end_matches('/');
        let valid = reqwest::Url::parse(trimmed)
            .map(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .unwrap_or(false);
        if valid {
            Ok(trimmed.to_owned())
        } else {
            Err(ConfigProblem::new(
                self.key(name),
                format!("`{value}` is not an http(s) URL"),
            ))
        }
    }

    /// `timeout_ms`, default 10000, between 1 and 120000.
    pub fn timeout(&self, timeout_ms: Option<u64>) -> Result<Duration, ConfigProblem> {
        match timeout_ms {
            None => Ok(crate::http::DEFAULT_TIMEOUT),
            Some(ms @ 1..=120_000) => Ok(Duration::from_millis(ms)),
            Some(_) => Err(ConfigProblem::new(
                self.key("timeout_ms"),
                "must be between 1 and 120000",
            )),
        }
    }
}

/// Collects problems so every one is reported, not just the first.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<ConfigProblem>);

impl Problems {
    /// Keeps the value, or records the problem and yields `None`.
    pub fn take<T>(&mut self, result: Result<T, ConfigProblem>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(problem) => {
                self.0.push(problem);
                None
            }
        }
    }

    /// Records a problem at `key`.
    pub fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigProblem::new(key, message));
    }

    pub fn into_result<T>(self, value: Option<T>) -> Result<T, Vec<ConfigProblem>> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> BuildContext {
        BuildContext::new("providers.demo", "http://127.0.0.1:8080")
    }

    #[test]
    fn a_merchant_account_gets_a_webhook_url_of_its_own() {
        assert_eq!(
            ctx().webhook_url("efundpay"),
            "http://127.0.0.1:8080/v1/webhooks/efundpay"
        );
        assert_eq!(
            ctx().for_merchant("acme").webhook_url("efundpay"),
            "http://127.0.0.1:8080/v1/webhooks/efundpay/acme"
        );
    }

    #[test]
    fn a_secret_setting_reads_the_inline_secret_and_refuses_both_or_neither() {
        let inline = SecretString::from("s3cret".to_owned());
        let secret = ctx()
            .secret_setting("token", Some(&inline), None)
            .expect("inline secret");
        assert_eq!(secret.expose_secret(), "s3cret");
        let both = ctx().secret_setting("token", Some(&inline), Some("VAR"));
        let neither = ctx().secret_setting("token", None, None);
        for problem in [both, neither] {
            assert_eq!(problem.expect_err("problem").key, "providers.demo.token");
        }
    }

    #[test]
    fn an_unset_or_empty_variable_is_reported_at_the_key_naming_it() {
        let name = "REFUND_PROVIDER_TEST_SETTINGS_UNSET_VARIABLE";
        let problem = ctx().env_secret("secrets_env[1]", name).expect_err("unset");
        assert_eq!(problem.key, "providers.demo.secrets_env[1]");
        assert!(problem.message.contains(name), "{}", problem.message);
        let problem = ctx().secret("token", None, Some(name)).expect_err("unset");
        assert_eq!(problem.key, "providers.demo.token_env");
    }

    #[test]
    fn an_http_url_is_checked_at_its_key_and_trimmed() {
        assert_eq!(
            ctx().http_url("webhook_url", "https://acme.example/events/"),
            Ok("https://acme.example/events".to_owned())
        );
        for bad in ["ftp://acme.example", "not a url", "https://"] {
            let problem = ctx().http_url("webhook_url", bad).expect_err(bad);
            assert_eq!(problem.key, "providers.demo.webhook_url");
            assert_eq!(problem.message, format!("`{bad}` is not an http(s) URL"));
        }
        assert_eq!(
            ctx().base_url("ftp://x").map_err(|p| p.key),
            Err("providers.demo.base_url".to_owned())
        );
    }

    #[test]
    fn a_missing_required_key_is_reported_at_its_path() {
        assert_eq!(ctx().required("base_url", Some("x")), Ok("x"));
        assert_eq!(
            ctx().required("base_url", None),
            Err(ConfigProblem::new("providers.demo.base_url", "missing"))
        );
    }

    #[test]
    fn problems_keep_every_push_and_refuse_the_value() {
        let mut problems = Problems::default();
        problems.push(ctx().key("a"), "bad");
        problems.0.push(ctx().section_problem("refused"));
        let keys: Vec<String> = problems.0.iter().map(|p| p.key.clone()).collect();
        assert_eq!(keys, ["providers.demo.a", "providers.demo"]);
        assert!(problems.into_result(Some(1)).is_err());
    }
}
