//! What a provider says about a refund: its status, its own id, the amount and breakdown.

use serde::{Deserialize, Serialize};

use crate::error::FailureCode;
use crate::money::Money;

/// A provider's view of a refund, mapped to the gateway's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderRefundStatus {
    /// Accepted; the final status is still to come.
    Processing,
    Succeeded,
    Failed,
    /// Voided by the provider.
    Canceled,
    /// A status query found no such refund. Shortly after an unknown outcome this is not
    /// proof that nothing happened: the request may still be in flight.
    NotFound,
}

impl ProviderRefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processing => "processing",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::NotFound => "not_found",
        }
    }
}

/// The failure reason a provider gave for a failed refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub code: FailureCode,
    pub message: String,
}

/// One asset line of a refund (e-Buy refunds cash, coupon, cashcard and points separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakdownLine {
    pub asset_type: String,
    pub amount: Money,
    pub status: ProviderRefundStatus,
}

/// A refund as a provider reported it, from a create answer, a status query or a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRefund {
    pub status: ProviderRefundStatus,
    /// The provider's own id of the refund, when it gives one.
    pub provider_refund_id: Option<String>,
    /// The reference we sent (`external_identifier`, `reference_id`, `refundTradeNo`), as
    /// echoed by the provider; lets a webhook be matched to its refund.
    pub provider_reference: Option<String>,
    /// The amount the provider says it refunded, for comparison with what was asked.
    pub amount: Option<Money>,
    pub breakdown: Vec<BreakdownLine>,
    /// Set when `status` is `Failed`.
    pub failure: Option<Failure>,
    /// The provider's status word, kept for the refund's history.
    pub raw_status: String,
    /// What in the answer contradicts the request although it reads as this refund (an
    /// AuthMS transfer between other wallets than asked): the report proves nothing, the
    /// refund does not move and is flagged `requires_attention` (DESIGN §16).
    pub contradiction: Option<String>,
}

impl ProviderRefund {
    /// A refund in `status` with nothing else known yet.
    pub fn with_status(status: ProviderRefundStatus, raw_status: impl Into<String>) -> Self {
        Self {
            status,
            provider_refund_id: None,
            provider_reference: None,
            amount: None,
            breakdown: Vec::new(),
            failure: None,
            raw_status: raw_status.into(),
            contradiction: None,
        }
    }

    /// The answer of a status query that found nothing.
    pub fn not_found() -> Self {
        Self::with_status(ProviderRefundStatus::NotFound, "not_found")
    }
}
