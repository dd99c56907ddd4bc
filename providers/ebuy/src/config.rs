//! The `[providers.ebuy]` config section and how it becomes an [`EbuyProvider`].

use refund_provider::{BuildContext, ConfigProblem, Problems, SecretString};
use serde::Deserialize;

use crate::adapter::EbuyProvider;

/// `lang` when the section does not give one.
pub const DEFAULT_LANG: &str = "zh_CN";

/// `[providers.ebuy]`: where e-Buy is, and the app credentials that sign every envelope.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EbuySettings {
    /// e-Buy API base URL, e.g. `https://ebuy.example.com` (the adapter appends
    /// `/api/refund` and `/api/refund/query`).
    pub base_url: Option<String>,
    /// The `appId` e-Buy issued (1-50 characters), e.g. `10001`.
    pub app_id: Option<String>,
    /// The app secret that signs envelopes, inline (sandbox only). Give this or
    /// `app_secret_env`.
    pub app_secret: Option<SecretString>,
    /// Name of the environment variable holding the app secret.
    pub app_secret_env: Option<String>,
    /// `lang` of every envelope (default `zh_CN`).
    pub lang: Option<String>,
    /// Whole-request timeout in milliseconds (default 10000, at most 120000).
    pub timeout_ms: Option<u64>,
}

impl EbuySettings {
    /// Builds the adapter, reporting every problem of the section with its key path.
    pub fn build(self, ctx: &BuildContext) -> Result<EbuyProvider, Vec<ConfigProblem>> {
        let mut problems = Problems::default();
        let base_url = problems.take(
            ctx.required("base_url", self.base_url.as_deref())
                .and_then(|url| ctx.base_url(url)),
        );
        let app_id = problems.take(short_text(ctx, "app_id", self.app_id.as_deref(), None));
        let app_secret = problems.take(ctx.secret_setting(
            "app_secret",
            self.app_secret.as_ref(),
            self.app_secret_env.as_deref(),
        ));
        let lang = problems.take(short_text(
            ctx,
            "lang",
            self.lang.as_deref(),
            Some(DEFAULT_LANG),
        ));
        let timeout = problems.take(ctx.timeout(self.timeout_ms));
        let provider = match (base_url, app_id, app_secret, lang, timeout) {
            (Some(base_url), Some(app_id), Some(secret), Some(lang), Some(timeout)) => problems
                .take(
                    EbuyProvider::new(&base_url, &app_id, secret, &lang, timeout)
                        .map_err(|e| ctx.section_problem(e)),
                ),
            _ => None,
        };
        problems.into_result(provider)
    }
}

/// A required (or defaulted) 1-50 character printable string, as e-Buy's envelope fields
/// allow.
fn short_text(
    ctx: &BuildContext,
    name: &str,
    value: Option<&str>,
    default: Option<&str>,
) -> Result<String, ConfigProblem> {
    let v = ctx.required(name, value.or(default))?;
    if !v.is_empty()
        && v.chars().count() <= 50
        && v.chars().all(|c| !c.is_control())
        && v.trim() == v
    {
        Ok(v.to_owned())
    } else {
        Err(ConfigProblem::new(
            ctx.key(name),
            "must be 1-50 characters, without surrounding spaces",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> BuildContext {
        BuildContext::new("providers.ebuy", "http://127.0.0.1:8080")
    }

    fn parse(value: serde_json::Value) -> Result<EbuySettings, serde_json::Error> {
        serde_json::from_value(value)
    }

    #[test]
    fn a_complete_section_builds_with_lang_defaulting_to_zh_cn() {
        let provider = parse(serde_json::json!({
            "base_url": "https://ebuy.example.com/",
            "app_id": "10001",
            "app_secret": "s",
        }))
        .expect("settings")
        .build(&ctx())
        .expect("provider");
        assert_eq!(provider.base_url(), "https://ebuy.example.com");
        assert_eq!(provider.lang(), "zh_CN");
        assert_eq!(provider.app_id(), "10001");
    }

    #[test]
    fn every_problem_is_reported_with_its_key_path() {
        let problems = parse(serde_json::json!({
            "base_url": "ftp://ebuy",
            "app_secret_env": "EBUY_TEST_SURELY_UNSET_VARIABLE",
            "lang": "",
            "timeout_ms": 500000
        }))
        .expect("settings")
        .build(&ctx())
        .expect_err("problems");
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "providers.ebuy.base_url",
                "providers.ebuy.app_id",
                "providers.ebuy.app_secret_env",
                "providers.ebuy.lang",
                "providers.ebuy.timeout_ms",
            ]
        );
    }

    #[test]
    fn giving_the_secret_twice_or_not_at_all_is_a_problem() {
        for value in [
            serde_json::json!({"base_url": "https://e", "app_id": "1", "app_secret": "s", "app_secret_env": "X"}),
            serde_json::json!({"base_url": "https://e", "app_id": "1"}),
        ] {
            let problems = parse(value)
                .expect("settings")
                .build(&ctx())
                .expect_err("problems");
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].key, "providers.ebuy.app_secret");
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(parse(serde_json::json!({"base_url": "https://e", "appid": "1"})).is_err());
    }

    #[test]
    fn the_secret_never_appears_in_debug_output() {
        let settings = parse(serde_json::json!({
            "base_url": "https://ebuy.example.com", "app_id": "1", "app_secret": "very-secret-value"
        }))
        .expect("settings");
        assert!(!format!("{settings:?}").contains("very-secret"));
        let provider = settings.build(&ctx()).expect("provider");
        assert!(!format!("{provider:?}").contains("very-secret"));
    }
}
