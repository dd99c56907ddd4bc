//! `ProviderError`: what the gateway may conclude from a failed provider call, not what went
//! wrong. Each adapter classifies its failures into these five kinds in one function.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::request::InvalidCode;

/// A machine-readable reason a refund failed, as shown to merchants in `failure_code`
/// (DESIGN §5, §7, §14). Serialized as its text; `ALL`, `as_str` and `parse` say the same
/// thing and are tested together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    /// The provider says the wallet or account cannot cover the refund.
    InsufficientBalance,
    /// The provider refused the amount (or the gateway found it unsendable).
    AmountInvalid,
    /// The provider declined the refund (eFundPay `declined`, Stripe 402).
    ProviderDeclined,
    /// The provider rejected the request for another documented reason.
    ProviderRejected,
    /// Our credentials or configuration for the provider are wrong.
    ProviderMisconfigured,
    /// The provider could not be reached at all, after the allowed retries.
    ProviderUnavailable,
    /// The provider reported the refund failed without a more precise reason.
    ProviderFailed,
    /// An operator resolved the refund as failed by hand (DESIGN §14).
    ResolvedByOperator,
    /// The merchant canceled a queued refund before it was ever sent (DESIGN §17).
    CanceledByMerchant,
    /// An operator rejected a refund awaiting approval before it was ever sent (DESIGN §19).
    RejectedByOperator,
    /// A refund awaited approval longer than `approval_expires_after_hours` and was canceled
    /// unsent (DESIGN §19).
    ApprovalExpired,
    /// A request the pre-flight checks refuse, met again when refunding ([`InvalidCode`]).
    ParameterMissing,
    ParameterInvalid,
    CurrencyUnsupported,
    CouponPartialRefund,
}

impl FailureCode {
    pub const ALL: [FailureCode; 15] = [
        Self::InsufficientBalance,
        Self::AmountInvalid,
        Self::ProviderDeclined,
        Self::ProviderRejected,
        Self::ProviderMisconfigured,
        Self::ProviderUnavailable,
        Self::ProviderFailed,
        Self::ResolvedByOperator,
        Self::CanceledByMerchant,
        Self::RejectedByOperator,
        Self::ApprovalExpired,
        Self::ParameterMissing,
        Self::ParameterInvalid,
        Self::CurrencyUnsupported,
        Self::CouponPartialRefund,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InsufficientBalance => "insufficient_balance",
            Self::AmountInvalid => "amount_invalid",
            Self::ProviderDeclined => "provider_declined",
            Self::ProviderRejected => "provider_rejected",
            Self::ProviderMisconfigured => "provider_misconfigured",
            Self::ProviderUnavailable => "provider_unavailable",
            Self::ProviderFailed => "provider_failed",
            Self::ResolvedByOperator => "resolved_by_operator",
            Self::CanceledByMerchant => "canceled_by_merchant",
            Self::RejectedByOperator => "rejected_by_operator",
            Self::ApprovalExpired => "approval_expired",
            Self::ParameterMissing => "parameter_missing",
            Self::ParameterInvalid => "parameter_invalid",
            Self::CurrencyUnsupported => "currency_unsupported",
            Self::CouponPartialRefund => "coupon_partial_refund",
        }
    }

    /// The code a text names; `None` for text this build does not know.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == text)
    }
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request-level code met when refunding becomes the refund's failure code of the same text.
impl From<InvalidCode> for FailureCode {
    fn from(code: InvalidCode) -> Self {
        match code {
            InvalidCode::ParameterMissing => Self::ParameterMissing,
            InvalidCode::ParameterInvalid => Self::ParameterInvalid,
            InvalidCode::AmountInvalid => Self::AmountInvalid,
            InvalidCode::CurrencyUnsupported => Self::CurrencyUnsupported,
            InvalidCode::CouponPartialRefund => Self::CouponPartialRefund,
        }
    }
}

/// What a failed provider call lets the gateway conclude.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider definitely did not refund (a 4xx with a known meaning, `success: false`).
    /// The refund becomes `failed` with this code.
    #[error("provider rejected the refund ({code}): {message}")]
    Rejected { code: FailureCode, message: String },
    /// The request may have been applied (timeout after sending, connection reset, 5xx,
    /// unparseable or unverifiable answer). The refund stays `pending` until a status query
    /// or a webhook settles it; it is never retried blindly.
    #[error("provider outcome unknown: {cause}")]
    Unknown { cause: String },
    /// The request provably never left (connection refused, DNS failure): safe to retry.
    #[error("request never reached the provider: {cause}")]
    NotSent { cause: String },
    /// Our credentials or configuration are wrong (the provider answered 401).
    #[error("provider configuration is wrong: {message}")]
    Misconfigured { message: String },
    /// A webhook's signature, timestamp or body is bad.
    #[error("invalid webhook: {message}")]
    InvalidWebhook { message: String },
}

impl ProviderError {
    pub fn rejected(code: FailureCode, message: impl Into<String>) -> Self {
        Self::Rejected {
            code,
            message: message.into(),
        }
    }

    pub fn unknown(cause: impl Into<String>) -> Self {
        Self::Unknown {
            cause: cause.into(),
        }
    }

    pub fn not_sent(cause: impl Into<String>) -> Self {
        Self::NotSent {
            cause: cause.into(),
        }
    }

    pub fn misconfigured(message: impl Into<String>) -> Self {
        Self::Misconfigured {
            message: message.into(),
        }
    }

    pub fn invalid_webhook(message: impl Into<String>) -> Self {
        Self::InvalidWebhook {
            message: message.into(),
        }
    }

    /// The kind as a short label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Rejected { .. } => "rejected",
            Self::Unknown { .. } => "unknown",
            Self::NotSent { .. } => "not_sent",
            Self::Misconfigured { .. } => "misconfigured",
            Self::InvalidWebhook { .. } => "invalid_webhook",
        }
    }
}

/// A request that `validate` refuses, met again when refunding (the gateway sent it anyway):
/// nothing was sent and nothing ever can be, so it is `Rejected` with the request's own code
/// and message.
impl From<crate::request::RequestInvalid> for ProviderError {
    fn from(invalid: crate::request::RequestInvalid) -> Self {
        Self::rejected(invalid.code.into(), invalid.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_codes_parse_from_and_serialize_to_their_own_text() {
        for code in FailureCode::ALL {
            assert_eq!(FailureCode::parse(code.as_str()), Some(code));
            assert_eq!(code.to_string(), code.as_str());
            assert_eq!(
                serde_json::to_value(code).ok(),
                Some(serde_json::Value::from(code.as_str()))
            );
        }
        assert_eq!(FailureCode::parse("card_expired"), None);
    }

    #[test]
    fn an_invalid_code_becomes_the_failure_code_of_the_same_text() {
        for code in [
            InvalidCode::ParameterMissing,
            InvalidCode::ParameterInvalid,
            InvalidCode::AmountInvalid,
            InvalidCode::CurrencyUnsupported,
            InvalidCode::CouponPartialRefund,
        ] {
            assert_eq!(FailureCode::from(code).as_str(), code.as_str());
        }
    }

    #[test]
    fn an_invalid_request_met_when_refunding_is_rejected_with_its_code_and_message() {
        let invalid = crate::request::RequestInvalid::missing("provider_options.demo.bank_detail");
        let message = invalid.message.clone();
        assert_eq!(
            ProviderError::from(invalid),
            ProviderError::Rejected {
                code: FailureCode::ParameterMissing,
                message,
            }
        );
    }
}
