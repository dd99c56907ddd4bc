//! What the gateway asks of a provider: one refund, already validated and recorded.

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;

use crate::ids::{PaymentId, RefundId};
use crate::money::{Currency, Money};

/// A refund as handed to an adapter. The gateway builds it once, stores it, and hands the
/// same values to every attempt, so a repeated call after a crash carries the same
/// `refund_id` and `provider_reference` and the provider can recognise it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderRefundRequest {
    /// The gateway's refund id.
    pub refund_id: RefundId,
    /// The deterministic reference derived from `refund_id` by
    /// [`crate::provider::RefundProvider::provider_reference`] and stored before the first call.
    pub provider_reference: String,
    /// The provider's id of the original payment.
    pub payment_id: PaymentId,
    pub currency: Currency,
    /// `None` asks for a full refund, where the provider supports it.
    pub amount: Option<Money>,
    pub reason: Option<String>,
    /// The wallet user (AuthMS) or the provider's customer.
    pub customer_id: Option<String>,
    /// `provider_options.<provider>` of the merchant's request (`Null` when absent). Only
    /// the adapter knows its shape.
    pub options: Value,
    /// When the gateway recorded the refund.
    pub created_at: OffsetDateTime,
    /// The merchant the refund is made for (the gateway always sets it; a provider that
    /// labels refunds with it, such as Stripe's `metadata[merchant_id]`, sends it).
    pub merchant_id: Option<String>,
    /// The merchant's `metadata` (string pairs, at most 20, checked by the API); a provider
    /// that carries metadata sends it, the others ignore it.
    pub metadata: BTreeMap<String, String>,
    /// The provider's refund id, once a create answer, a status query or a webhook told it
    /// (`None` on the first attempt): a status query may look the refund up by it.
    pub provider_refund_id: Option<String>,
}

impl ProviderRefundRequest {
    /// A full refund (no amount) of `payment_id` in `currency` for refund `refund_id`, with the
    /// refund id as its reference (adapters that derive another set it with
    /// [`crate::provider::RefundProvider::provider_reference`]), created now, and nothing
    /// else: set the other fields on the value. Building requests through this (or the test
    /// kit's `RequestBuilder`) keeps callers compiling when a field is added.
    pub fn new(refund_id: RefundId, payment_id: PaymentId, currency: Currency) -> Self {
        Self {
            refund_id,
            provider_reference: refund_id.to_string(),
            payment_id,
            currency,
            amount: None,
            reason: None,
            customer_id: None,
            options: Value::Null,
            created_at: OffsetDateTime::now_utc(),
            merchant_id: None,
            metadata: BTreeMap::new(),
            provider_refund_id: None,
        }
    }
}

/// The API's 400 codes a provider's pre-flight checks may answer with (DESIGN §5). The
/// gateway maps each to its own error code in one exhaustive `match`, so a code added here
/// without a mapping there does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvalidCode {
    /// A field the provider needs is absent (`parameter_missing`).
    ParameterMissing,
    /// A field is present but unusable (`parameter_invalid`).
    ParameterInvalid,
    /// The amount cannot be sent as given (`amount_invalid`).
    AmountInvalid,
    /// The provider does not refund in this currency (`currency_unsupported`).
    CurrencyUnsupported,
    /// A coupon can only be refunded whole (`coupon_partial_refund`).
    CouponPartialRefund,
}

impl InvalidCode {
    /// The code's text, as the API and a refund's `failure_code` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ParameterMissing => "parameter_missing",
            Self::ParameterInvalid => "parameter_invalid",
            Self::AmountInvalid => "amount_invalid",
            Self::CurrencyUnsupported => "currency_unsupported",
            Self::CouponPartialRefund => "coupon_partial_refund",
        }
    }
}

impl std::fmt::Display for InvalidCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request cannot be sent to a provider, found before calling it. The gateway answers
/// 400 with this code and records nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RequestInvalid {
    pub code: InvalidCode,
    pub message: String,
    /// The offending request field, e.g. `provider_options.efundpay.bank_detail`.
    pub param: Option<String>,
}

impl RequestInvalid {
    pub fn new(code: InvalidCode, param: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            param: Some(param.into()),
        }
    }

    pub fn missing(param: &str) -> Self {
        Self::new(
            InvalidCode::ParameterMissing,
            param,
            format!("`{param}` is required for this provider"),
        )
    }

    pub fn invalid(param: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            InvalidCode::ParameterInvalid,
            param,
            format!("`{param}` is invalid: {why}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_codes_spell_the_api_codes_of_design_section_5() {
        let all = [
            (InvalidCode::ParameterMissing, "parameter_missing"),
            (InvalidCode::ParameterInvalid, "parameter_invalid"),
            (InvalidCode::AmountInvalid, "amount_invalid"),
            (InvalidCode::CurrencyUnsupported, "currency_unsupported"),
            (InvalidCode::CouponPartialRefund, "coupon_partial_refund"),
        ];
        for (code, text) in all {
            assert_eq!(code.as_str(), text);
            assert_eq!(code.to_string(), text);
        }
    }
}
