//! `provider_options.authms` of a refund request: which AuthMS operation carries the refund.

use refund_provider::RequestInvalid;
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

/// The parsed `provider_options.authms` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthMsOptions {
    pub method: Method,
}

impl AuthMsOptions {
    const PARAM: &'static str = "provider_options.authms";

    /// Reads `provider_options.authms` (`Null` when absent). Only `method` is known; any
    /// other field, or a method AuthMS does not have, is `parameter_invalid` at its path.
    pub fn parse(options: &Value) -> Result<Self, RequestInvalid> {
        let fields = match options {
            Value::Null => return Ok(Self::default()),
            Value::Object(fields) => fields,
            _ => return Err(RequestInvalid::invalid(Self::PARAM, "expected an object")),
        };
        let mut parsed = Self::default();
        for (key, value) in fields {
            let param = format!("{}.{key}", Self::PARAM);
            match (key.as_str(), value) {
                ("method", Value::Null) => {}
                ("method", Value::String(method)) => {
                    parsed.method = match method.as_str() {
                        "refund" | "reversal" => Method::WalletRefund,
                        "transfer" => Method::Transfer,
                        _ => {
                            return Err(RequestInvalid::invalid(
                                &param,
                                "expected `refund`, `reversal` or `transfer`",
                            ))
                        }
                    }
                }
                ("method", _) => return Err(RequestInvalid::invalid(&param, "expected a string")),
                _ => return Err(RequestInvalid::invalid(&param, "unknown field")),
            }
        }
        Ok(parsed)
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
        ];
        for (options, param) in cases {
            let err = AuthMsOptions::parse(&options).expect_err("invalid");
            assert_eq!(err.code, "parameter_invalid");
            assert_eq!(err.param.as_deref(), Some(param), "{options}");
        }
    }
}
