//! From a gateway [`ProviderRefundRequest`] to eFundPay's create-refund body, with every
//! check that can be made before sending: `provider_options.efundpay`, the required amount,
//! the reason default and the field limits of the document. `validate` and `refund` both go
//! through [`build`], so nothing `validate` would refuse is ever sent.

use refund_provider::{ProviderRefundRequest, RequestInvalid};
use serde_json::{Map, Value};

use crate::wire::{BankDetail, CreateRefundRequest};

/// The request path of this provider's options.
pub const OPTIONS_PARAM: &str = "provider_options.efundpay";
/// The reason sent when the merchant gave none (eFundPay requires one).
pub const DEFAULT_REASON: &str = "requested_by_customer";
/// Payment methods whose refunds need `bank_detail` (QR PromptPay, Thai mobile banking).
pub const BANK_DETAIL_METHODS: [&str; 2] = ["promptpay", "thai_mobile_banking"];
/// `reason` length limit in characters.
pub const MAX_REASON_CHARS: usize = 255;
/// `external_identifier` length limit.
pub const MAX_EXTERNAL_IDENTIFIER: usize = 50;

/// `provider_options.efundpay`, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EfundpayOptions {
    /// The original payment's method, e.g. `promptpay`, `thai_mobile_banking`, `card`.
    pub payment_method: Option<String>,
    pub bank_detail: Option<BankDetail>,
}

impl EfundpayOptions {
    /// Parses the options object (`Null` when absent). Unknown fields and wrong types are
    /// `parameter_invalid`, a missing bank field is `parameter_missing`, each with its path.
    pub fn parse(value: &Value) -> Result<Self, RequestInvalid> {
        let object = match value {
            Value::Null => return Ok(Self::default()),
            Value::Object(object) => object,
            _ => return Err(RequestInvalid::invalid(OPTIONS_PARAM, "expected an object")),
        };
        let mut options = Self::default();
        for (key, value) in object {
            let param = format!("{OPTIONS_PARAM}.{key}");
            match key.as_str() {
                "payment_method" => match value {
                    Value::Null => {}
                    Value::String(method) if !method.is_empty() => {
                        options.payment_method = Some(method.clone());
                    }
                    _ => return Err(RequestInvalid::invalid(&param, "expected a string")),
                },
                "bank_detail" => match value {
                    Value::Null => {}
                    Value::Object(fields) => {
                        options.bank_detail = Some(parse_bank_detail(fields, &param)?);
                    }
                    _ => return Err(RequestInvalid::invalid(&param, "expected an object")),
                },
                _ => return Err(RequestInvalid::invalid(&param, "unknown field")),
            }
        }
        if let Some(method) = options.payment_method.as_deref() {
            if BANK_DETAIL_METHODS.contains(&method) && options.bank_detail.is_none() {
                return Err(RequestInvalid::new(
                    "parameter_missing",
                    format!("{OPTIONS_PARAM}.bank_detail"),
                    format!(
                        "`{OPTIONS_PARAM}.bank_detail` is required to refund a {method} payment"
                    ),
                ));
            }
        }
        Ok(options)
    }
}

fn parse_bank_detail(
    fields: &Map<String, Value>,
    param: &str,
) -> Result<BankDetail, RequestInvalid> {
    const FIELDS: [&str; 3] = ["bank_code", "bank_account_name", "bank_account_no"];
    if let Some(unknown) = fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(RequestInvalid::invalid(
            &format!("{param}.{unknown}"),
            "unknown field",
        ));
    }
    let field = |name: &str| -> Result<String, RequestInvalid> {
        let path = format!("{param}.{name}");
        match fields.get(name) {
            None | Some(Value::Null) => Err(RequestInvalid::missing(&path)),
            Some(Value::String(text)) if !text.trim().is_empty() && text.chars().count() <= 255 => {
                Ok(text.clone())
            }
            Some(Value::String(_)) => {
                Err(RequestInvalid::invalid(&path, "expected 1-255 characters"))
            }
            Some(_) => Err(RequestInvalid::invalid(&path, "expected a string")),
        }
    };
    Ok(BankDetail {
        bank_code: field("bank_code")?,
        bank_account_name: field("bank_account_name")?,
        bank_account_no: field("bank_account_no")?,
    })
}

/// Builds the create-refund body, or says why the request cannot be sent.
pub fn build(
    req: &ProviderRefundRequest,
    webhooks_url: &str,
) -> Result<CreateRefundRequest, RequestInvalid> {
    let amount = req.amount.ok_or_else(|| {
        RequestInvalid::new("parameter_missing", "amount", "eFundPay requires an amount")
    })?;
    if amount.currency() != req.currency {
        return Err(RequestInvalid::invalid(
            "amount",
            "the amount's currency differs from `currency`",
        ));
    }
    if matches!(req.payment_id.as_str(), "." | "..") {
        return Err(RequestInvalid::invalid(
            "payment_id",
            "`.` and `..` cannot be sent as a path segment",
        ));
    }
    let reason = match req.reason.as_deref() {
        None => DEFAULT_REASON.to_owned(),
        Some(reason) if !reason.is_empty() && reason.chars().count() <= MAX_REASON_CHARS => {
            reason.to_owned()
        }
        Some(_) => {
            return Err(RequestInvalid::invalid(
                "reason",
                "eFundPay takes 1-255 characters",
            ))
        }
    };
    let reference = &req.provider_reference;
    if reference.is_empty() || reference.len() > MAX_EXTERNAL_IDENTIFIER {
        return Err(RequestInvalid::invalid(
            "provider_reference",
            "eFundPay's external_identifier takes 1-50 characters",
        ));
    }
    let options = EfundpayOptions::parse(&req.options)?;
    Ok(CreateRefundRequest {
        amount: amount.minor_units().get(),
        currency: req.currency.code().to_owned(),
        reason,
        external_identifier: reference.clone(),
        webhooks_url: webhooks_url.to_owned(),
        bank_detail: options.bank_detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_provider::{Currency, Money, PaymentId, RefundId};
    use serde_json::json;

    fn request(options: Value) -> ProviderRefundRequest {
        let refund_id = RefundId::generate();
        let currency = Currency::parse("THB").expect("THB");
        ProviderRefundRequest {
            refund_id,
            provider_reference: refund_id.to_string(),
            payment_id: PaymentId::parse("7099948d-7286-47e4-aad8-b68f7eb44591").expect("id"),
            currency,
            amount: Some(Money::parse("12.99", currency).expect("money")),
            reason: None,
            customer_id: None,
            options,
            created_at: time::OffsetDateTime::now_utc(),
        }
    }

    fn refusal(options: Value) -> (String, Option<String>) {
        let e = build(&request(options), "https://gw/v1/webhooks/efundpay").expect_err("refused");
        (e.code.to_owned(), e.param)
    }

    const BANK: fn() -> Value = || json!({"bank_code": "014", "bank_account_name": "Jack", "bank_account_no": "5015377989"});

    #[test]
    fn a_plain_request_gets_minor_units_and_the_default_reason() {
        let req = request(Value::Null);
        let body = build(&req, "https://gw/v1/webhooks/efundpay").expect("body");
        assert_eq!(body.amount, 1299);
        assert_eq!(body.currency, "THB");
        assert_eq!(body.reason, "requested_by_customer");
        assert_eq!(body.external_identifier, req.provider_reference);
        assert_eq!(body.bank_detail, None);
    }

    #[test]
    fn promptpay_and_thai_mobile_banking_need_bank_detail() {
        for method in BANK_DETAIL_METHODS {
            assert_eq!(
                refusal(json!({"payment_method": method})),
                (
                    "parameter_missing".into(),
                    Some("provider_options.efundpay.bank_detail".into())
                )
            );
            let body = build(
                &request(json!({"payment_method": method, "bank_detail": BANK()})),
                "u",
            )
            .expect("with bank detail");
            assert_eq!(body.bank_detail.map(|b| b.bank_code), Some("014".into()));
        }
        assert!(build(&request(json!({"payment_method": "card"})), "u").is_ok());
    }

    #[test]
    fn malformed_options_name_the_offending_field() {
        let cases = [
            (
                json!("promptpay"),
                "parameter_invalid",
                "provider_options.efundpay",
            ),
            (
                json!({"colour": 1}),
                "parameter_invalid",
                "provider_options.efundpay.colour",
            ),
            (
                json!({"payment_method": 5}),
                "parameter_invalid",
                "provider_options.efundpay.payment_method",
            ),
            (
                json!({"bank_detail": "014"}),
                "parameter_invalid",
                "provider_options.efundpay.bank_detail",
            ),
            (
                json!({"bank_detail": {"bank_code": "014", "bank_account_name": "Jack"}}),
                "parameter_missing",
                "provider_options.efundpay.bank_detail.bank_account_no",
            ),
            (
                json!({"bank_detail": {"bank_code": 14, "bank_account_name": "Jack", "bank_account_no": "1"}}),
                "parameter_invalid",
                "provider_options.efundpay.bank_detail.bank_code",
            ),
            (
                json!({"bank_detail": {"bank_code": "", "bank_account_name": "Jack", "bank_account_no": "1"}}),
                "parameter_invalid",
                "provider_options.efundpay.bank_detail.bank_code",
            ),
            (
                json!({"bank_detail": {"bank_code": "1", "bank_account_name": "J", "bank_account_no": "1", "iban": "x"}}),
                "parameter_invalid",
                "provider_options.efundpay.bank_detail.iban",
            ),
        ];
        for (options, code, param) in cases {
            assert_eq!(
                refusal(options.clone()),
                (code.into(), Some(param.into())),
                "{options}"
            );
        }
    }

    #[test]
    fn amount_reason_and_reference_limits_are_checked() {
        let mut req = request(Value::Null);
        req.amount = None;
        assert_eq!(
            build(&req, "u").map_err(|e| e.param),
            Err(Some("amount".into()))
        );

        let mut req = request(Value::Null);
        req.reason = Some("x".repeat(256));
        assert_eq!(
            build(&req, "u").map_err(|e| e.param),
            Err(Some("reason".into()))
        );
        req.reason = Some("é".repeat(255));
        assert!(build(&req, "u").is_ok(), "255 characters are allowed");

        let mut req = request(Value::Null);
        req.provider_reference = "r".repeat(51);
        assert!(build(&req, "u").is_err());

        let mut req = request(Value::Null);
        req.payment_id = PaymentId::parse("..").expect("id");
        assert_eq!(
            build(&req, "u").map_err(|e| e.param),
            Err(Some("payment_id".into()))
        );
    }
}
