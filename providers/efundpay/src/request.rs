//! From a gateway [`ProviderRefundRequest`] to eFundPay's create-refund body, with every
//! check that can be made before sending: `provider_options.efundpay`, the required amount,
//! the reason default and the field limits of the document. `validate` and `refund` both go
//! through [`build`], so nothing `validate` would refuse is ever sent.

use refund_provider::{parse_options, InvalidCode, ProviderRefundRequest, RequestInvalid};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

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

/// `provider_options.efundpay`, read through [`refund_provider::parse_options`] (unknown
/// fields and wrong types are `parameter_invalid`, a missing bank field is
/// `parameter_missing`, each with its JSON path).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EfundpayOptions {
    /// The original payment's method, e.g. `promptpay`, `thai_mobile_banking`, `card`;
    /// compared without regard to ASCII case (`PromptPay` is `promptpay`).
    #[serde(default, deserialize_with = "non_empty_text")]
    pub payment_method: Option<String>,
    #[serde(default)]
    pub bank_detail: Option<BankDetailOption>,
}

/// `provider_options.efundpay.bank_detail`: three required fields of 1-255 characters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankDetailOption {
    #[serde(deserialize_with = "bank_text")]
    pub bank_code: String,
    #[serde(deserialize_with = "bank_text")]
    pub bank_account_name: String,
    #[serde(deserialize_with = "bank_text")]
    pub bank_account_no: String,
}

impl From<BankDetailOption> for BankDetail {
    fn from(option: BankDetailOption) -> Self {
        Self {
            bank_code: option.bank_code,
            bank_account_name: option.bank_account_name,
            bank_account_no: option.bank_account_no,
        }
    }
}

fn non_empty_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(text) if text.is_empty() => Err(D::Error::custom("expected a non-empty string")),
        other => Ok(other),
    }
}

fn bank_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    if text.trim().is_empty() || text.chars().count() > 255 {
        return Err(D::Error::custom("expected 1-255 characters"));
    }
    Ok(text)
}

impl EfundpayOptions {
    /// Parses the options object (`Null` when absent), then checks that a PromptPay or Thai
    /// mobile banking refund has its `bank_detail`.
    pub fn parse(value: &Value) -> Result<Self, RequestInvalid> {
        let options: Self = parse_options(crate::identity::PROVIDER_ID, value)?;
        if let Some(method) = options.payment_method.as_deref() {
            if needs_bank_detail(method) && options.bank_detail.is_none() {
                return Err(RequestInvalid::new(
                    InvalidCode::ParameterMissing,
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

/// True for the payment methods whose refunds need `bank_detail`, in any ASCII case.
pub fn needs_bank_detail(method: &str) -> bool {
    BANK_DETAIL_METHODS
        .iter()
        .any(|known| known.eq_ignore_ascii_case(method))
}

/// Builds the create-refund body, or says why the request cannot be sent.
pub fn build(
    req: &ProviderRefundRequest,
    webhooks_url: &str,
) -> Result<CreateRefundRequest, RequestInvalid> {
    let amount = req.amount.ok_or_else(|| {
        RequestInvalid::new(
            InvalidCode::ParameterMissing,
            "amount",
            "eFundPay requires an amount",
        )
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
        bank_detail: options.bank_detail.map(BankDetail::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_provider::{Currency, Money, PaymentId, RefundId};
    use serde_json::json;

    fn request(options: Value) -> ProviderRefundRequest {
        let currency = Currency::parse("THB").expect("THB");
        let payment = PaymentId::parse("7099948d-7286-47e4-aad8-b68f7eb44591").expect("id");
        let mut req = ProviderRefundRequest::new(RefundId::generate(), payment, currency);
        req.amount = Some(Money::parse("12.99", currency).expect("money"));
        req.options = options;
        req
    }

    fn refusal(options: Value) -> (String, Option<String>) {
        let e = build(&request(options), "https://gw/v1/webhooks/efundpay").expect_err("refused");
        (e.code.as_str().to_owned(), e.param)
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
    fn payment_methods_match_without_regard_to_case() {
        for method in ["PromptPay", "PROMPTPAY", "Thai_Mobile_Banking"] {
            assert_eq!(
                refusal(json!({"payment_method": method})),
                (
                    "parameter_missing".into(),
                    Some("provider_options.efundpay.bank_detail".into())
                ),
                "{method}"
            );
        }
        assert!(build(&request(json!({"payment_method": "Card"})), "u").is_ok());
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
            (
                json!({"bank_detail": {"bank_code": null, "bank_account_name": "J", "bank_account_no": "1"}}),
                "parameter_missing",
                "provider_options.efundpay.bank_detail.bank_code",
            ),
            (
                json!({"bank_detail": {"bank_code": "1", "bank_account_name": "x".repeat(256), "bank_account_no": "1"}}),
                "parameter_invalid",
                "provider_options.efundpay.bank_detail.bank_account_name",
            ),
            (
                json!({"payment_method": ""}),
                "parameter_invalid",
                "provider_options.efundpay.payment_method",
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

        // `.` and `..` never reach the adapter: no PaymentId is made of them (DESIGN §16).
        assert!(PaymentId::parse("..").is_err());
        assert!(PaymentId::parse(".").is_err());
    }
}
