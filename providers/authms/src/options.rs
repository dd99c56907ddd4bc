//! `provider_options.authms` of a refund request: which AuthMS operation carries the refund.
//! Read through serde by [`refund_provider::parse_options`], so a refusal names its field.

use refund_provider::{parse_options, RequestInvalid};
use serde::Deserialize;
use serde_json::Value;

/// How a refund is carried out at AuthMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `POST /wallets/{user_id}/refund` against the original transaction (`refund`,
    /// `reversal` or no method at all).
    WalletRefund,
    /// `POST /wallets/transfer` from the merchant's wallet: a merchant-funded refund with no
    /// original transaction.
    Transfer,
}

/// The words `provider_options.authms.method` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum MethodWord {
    Refund,
    Reversal,
    Transfer,
}

/// The wire shape of `provider_options.authms`: only `method` is known.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOptions {
    #[serde(default)]
    method: Option<MethodWord>,
}

/// The parsed `provider_options.authms` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthMsOptions {
    pub method: Method,
}

impl AuthMsOptions {
    /// Reads `provider_options.authms` (`Null` when absent). Only `method` is known; any
    /// other field, or a method AuthMS does not have, is `parameter_invalid` at its path.
    pub fn parse(options: &Value) -> Result<Self, RequestInvalid> {
        let raw: RawOptions = parse_options(crate::identity::PROVIDER_ID, options)?;
        let method = match raw.method {
            None | Some(MethodWord::Refund | MethodWord::Reversal) => Method::WalletRefund,
            Some(MethodWord::Transfer) => Method::Transfer,
        };
        Ok(Self { method })
    }
}

impl Default for AuthMsOptions {
    fn default() -> Self {
        Self {
            method: Method::WalletRefund,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_refund_and_reversal_all_mean_the_wallet_refund() {
        for options in [
            Value::Null,
            json!({}),
            json!({"method": null}),
            json!({"method": "refund"}),
            json!({"method": "reversal"}),
        ] {
            assert_eq!(
                AuthMsOptions::parse(&options).map(|o| o.method),
                Ok(Method::WalletRefund),
                "{options}"
            );
        }
        assert_eq!(
            AuthMsOptions::parse(&json!({"method": "transfer"})).map(|o| o.method),
            Ok(Method::Transfer)
        );
    }

    #[test]
    fn unknown_methods_and_fields_are_invalid_at_their_path() {
        let cases = [
            (
                json!({"method": "chargeback"}),
                "provider_options.authms.method",
            ),
            (json!({"method": 3}), "provider_options.authms.method"),
            (json!({"methd": "refund"}), "provider_options.authms.methd"),
            (json!("transfer"), "provider_options.authms"),
            (
                json!({"method": "Transfer"}),
                "provider_options.authms.method",
            ),
        ];
        for (options, param) in cases {
            let err = AuthMsOptions::parse(&options).expect_err("invalid");
            assert_eq!(err.code.as_str(), "parameter_invalid");
            assert_eq!(err.param.as_deref(), Some(param), "{options}");
        }
    }
}
