//! The `[providers.authms]` config section and how it becomes an [`AuthMsProvider`].

use refund_provider::{BuildContext, ConfigProblem, Currency, Problems};
use secrecy::SecretString;
use serde::Deserialize;

use crate::adapter::AuthMsProvider;

/// `[providers.authms]`: where the AuthMS wallet service is and how to call it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthMsSettings {
    /// Base URL of the AuthMS service, e.g. `https://iam.example.com`; paths such as
    /// `/wallets/{user_id}/refund` are appended to it.
    pub base_url: String,
    /// The bearer token, inline (sandbox and tests only).
    #[serde(default)]
    pub token: Option<SecretString>,
    /// Name of the environment variable holding the bearer token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// The wallet user that funds `transfer` refunds (merchant-funded refunds with no
    /// original transaction). Without it the `transfer` method is refused before sending.
    #[serde(default)]
    pub transfer_source_user_id: Option<String>,
    /// Whole-request timeout in milliseconds; default 10000.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// ISO 4217 codes of the wallets' currencies; default `["CNY"]`.
    #[serde(default)]
    pub currencies: Option<Vec<String>>,
}

impl AuthMsSettings {
    /// Checks every key and builds the adapter, or reports every problem with its key path.
    pub fn build(self, ctx: &BuildContext) -> Result<AuthMsProvider, Vec<ConfigProblem>> {
        let mut problems = Problems::default();
        let base_url = problems.take(ctx.base_url(&self.base_url));
        let token = problems.take(ctx.secret_setting(
            "token",
            self.token.as_ref(),
            self.token_env.as_deref(),
        ));
        let timeout = problems.take(ctx.timeout(self.timeout_ms));
        let currencies = problems.take(parse_currencies(ctx, self.currencies.as_deref()));
        let transfer_source = match self.transfer_source_user_id {
            Some(user) if user.trim().is_empty() || user.len() > 128 => {
                problems.push(
                    ctx.key("transfer_source_user_id"),
                    "must be 1-128 characters when given",
                );
                None
            }
            other => other,
        };
        let (Some(base_url), Some(token), Some(timeout), Some(currencies)) =
            (base_url, token, timeout, currencies)
        else {
            return Err(problems.0);
        };
        match AuthMsProvider::new(&base_url, token, timeout) {
            Ok(provider) => {
                let provider = provider.with_currencies(currencies);
                let provider = match transfer_source {
                    Some(user) => provider.with_transfer_source_user_id(user),
                    None => provider,
                };
                problems.into_result(Some(provider))
            }
            Err(e) => {
                problems.push(ctx.key("base_url"), e.to_string());
                Err(problems.0)
            }
        }
    }
}

/// `currencies`: a non-empty list of active ISO 4217 codes, default `["CNY"]`.
fn parse_currencies(
    ctx: &BuildContext,
    codes: Option<&[String]>,
) -> Result<Vec<Currency>, ConfigProblem> {
    let Some(codes) = codes else {
        return Currency::parse("CNY")
            .map(|cny| vec![cny])
            .map_err(|e| ConfigProblem::new(ctx.key("currencies"), e.to_string()));
    };
    if codes.is_empty() {
        return Err(ConfigProblem::new(
            ctx.key("currencies"),
            "must list at least one currency",
        ));
    }
    let mut parsed = Vec::with_capacity(codes.len());
    for (i, code) in codes.iter().enumerate() {
        let currency = Currency::parse(code).map_err(|e| {
            ConfigProblem::new(format!("{}[{i}]", ctx.key("currencies")), e.to_string())
        })?;
        if !parsed.contains(&currency) {
            parsed.push(currency);
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> BuildContext {
        BuildContext::new("providers.authms", "http://127.0.0.1:8080")
    }

    fn settings(toml_like: serde_json::Value) -> AuthMsSettings {
        serde_json::from_value(toml_like).expect("settings deserialize")
    }

    #[test]
    fn a_complete_section_builds_with_cny_by_default() {
        let provider = settings(serde_json::json!({
            "base_url": "https://iam.example.com/",
            "token": "t0k",
            "transfer_source_user_id": "usr_merchant",
        }))
        .build(&ctx())
        .expect("builds");
        use refund_provider::RefundProvider as _;
        let caps = provider.capabilities();
        assert_eq!(
            caps.currencies,
            Some(vec![Currency::parse("CNY").expect("cny")])
        );
        assert_eq!(provider.transfer_source_user_id(), Some("usr_merchant"));
    }

    #[test]
    fn every_problem_is_reported_with_its_key_path() {
        let problems = settings(serde_json::json!({
            "base_url": "ftp://nowhere",
            "timeout_ms": 0,
            "currencies": ["CNY", "cny"],
            "transfer_source_user_id": " ",
        }))
        .build(&ctx())
        .expect_err("invalid");
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "providers.authms.base_url",
                "providers.authms.token",
                "providers.authms.timeout_ms",
                "providers.authms.currencies[1]",
                "providers.authms.transfer_source_user_id",
            ]
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let parsed: Result<AuthMsSettings, _> = serde_json::from_value(serde_json::json!({
            "base_url": "https://iam.example.com",
            "tokn": "x",
        }));
        assert!(parsed.is_err());
    }

    #[test]
    fn the_token_never_appears_in_debug_output() {
        let s = settings(serde_json::json!({
            "base_url": "https://iam.example.com",
            "token": "super-secret-token",
        }));
        assert!(!format!("{s:?}").contains("super-secret-token"));
        let provider = s.build(&ctx()).expect("builds");
        assert!(!format!("{provider:?}").contains("super-secret-token"));
    }
}
