//! `ProviderError`: what the gateway may conclude from a failed provider call, not what went
//! wrong. Each adapter classifies its failures into these five kinds in one function.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A machine-readable reason a refund failed, as shown to merchants in `failure_code`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FailureCode(String);

impl FailureCode {
    /// The provider says the wallet or account cannot cover the refund.
    pub const INSUFFICIENT_BALANCE: &'static str = "insufficient_balance";
    /// The provider refused the amount.
    pub const AMOUNT_INVALID: &'static str = "amount_invalid";
    /// The provider declined the refund (eFundPay `declined`).
    pub const PROVIDER_DECLINED: &'static str = "provider_declined";
    /// The provider rejected the request for another documented reason.
    pub const PROVIDER_REJECTED: &'static str = "provider_rejected";
    /// Our credentials or configuration for the provider are wrong.
    pub const PROVIDER_MISCONFIGURED: &'static str = "provider_misconfigured";
    /// The provider could not be reached at all, after the allowed retries.
    pub const PROVIDER_UNAVAILABLE: &'static str = "provider_unavailable";
    /// The provider reported the refund failed without a more precise reason.
    pub const PROVIDER_FAILED: &'static str = "provider_failed";

    pub fn new(code: impl Into<String>) -> Self {
        Self(code.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FailureCode({})", self.0)
    }
}

impl From<&str> for FailureCode {
    fn from(value: &str) -> Self {
        Self::new(value)
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
    pub fn rejected(code: &str, message: impl Into<String>) -> Self {
        Self::Rejected {
            code: FailureCode::new(code),
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
impl From<crate::RequestInvalid> for ProviderError {
    fn from(invalid: crate::RequestInvalid) -> Self {
        Self::rejected(invalid.code, invalid.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_request_met_when_refunding_is_rejected_with_its_code_and_message() {
        let invalid = crate::RequestInvalid::missing("provider_options.demo.bank_detail");
        let message = invalid.message.clone();
        assert_eq!(
            ProviderError::from(invalid),
            ProviderError::Rejected {
                code: FailureCode::new("parameter_missing"),
                message,
            }
        );
    }
}
