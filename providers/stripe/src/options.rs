//! `provider_options.stripe`: what a merchant may add to a Stripe refund. Only `reason`,
//! limited to the values Stripe accepts when creating a refund; the merchant's free-text
//! `reason` is never sent to Stripe (it would be refused).

use refund_provider::RequestInvalid;
use serde::Deserialize;
use serde_json::Value;

/// The request path of these options.
pub const OPTIONS_PARAM: &str = "provider_options.stripe";

/// The `reason` values Stripe accepts on `POST /v1/refunds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Duplicate,
    Fraudulent,
    RequestedByCustomer,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Duplicate => "duplicate",
            Self::Fraudulent => "fraudulent",
            Self::RequestedByCustomer => "requested_by_customer",
        }
    }
}

/// `provider_options.stripe`, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StripeOptions {
    /// Sent as `reason`; omitted when absent.
    #[serde(default)]
    pub reason: Option<Reason>,
}

impl StripeOptions {
    /// Parses the options object (`Null` when absent); a wrong field is `parameter_invalid`
    /// with its path.
    pub fn parse(value: &Value) -> Result<Self, RequestInvalid> {
        let object = match value {
            Value::Null => return Ok(Self::default()),
            Value::Object(object) => object,
            _ => return Err(RequestInvalid::invalid(OPTIONS_PARAM, "expected an object")),
        };
        if let Some(unknown) = object.keys().find(|key| key.as_str() != "reason") {
            return Err(RequestInvalid::invalid(
                &format!("{OPTIONS_PARAM}.{unknown}"),
                "unknown field",
            ));
        }
        serde_json::from_value(value.clone()).map_err(|_| {
            RequestInvalid::invalid(
                &format!("{OPTIONS_PARAM}.reason"),
                "expected duplicate, fraudulent or requested_by_customer",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_reason_stripe_accepts_is_read() {
        for (text, reason) in [
            ("duplicate", Reason::Duplicate),
            ("fraudulent", Reason::Fraudulent),
            ("requested_by_customer", Reason::RequestedByCustomer),
        ] {
            let options = StripeOptions::parse(&json!({"reason": text})).expect(text);
            assert_eq!(options.reason, Some(reason));
            assert_eq!(reason.as_str(), text);
        }
        assert_eq!(
            StripeOptions::parse(&Value::Null),
            Ok(StripeOptions::default())
        );
        assert_eq!(
            StripeOptions::parse(&json!({"reason": null})),
            Ok(StripeOptions::default())
        );
    }

    #[test]
    fn anything_else_is_refused_with_its_path() {
        let table = [
            (
                json!({"reason": "expired_uncaptured_charge"}),
                "provider_options.stripe.reason",
            ),
            (
                json!({"reason": "Product return"}),
                "provider_options.stripe.reason",
            ),
            (json!({"reason": 1}), "provider_options.stripe.reason"),
            (
                json!({"reasn": "duplicate"}),
                "provider_options.stripe.reasn",
            ),
            (json!(["duplicate"]), "provider_options.stripe"),
            (json!("duplicate"), "provider_options.stripe"),
        ];
        for (value, param) in table {
            let refused = StripeOptions::parse(&value).expect_err("refused");
            assert_eq!(refused.code.as_str(), "parameter_invalid");
            assert_eq!(refused.param.as_deref(), Some(param), "{value}");
        }
    }
}
