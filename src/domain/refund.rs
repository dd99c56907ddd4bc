//! Refund statuses and the only transitions allowed between them.
//!
//! `succeeded`, `failed` and `canceled` are final: nothing moves a final refund again. A late
//! or out-of-order report that would is recorded in the history and ignored by the engine.

use std::fmt;

use refund_provider::ProviderRefundStatus;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Recorded; the provider's outcome is not yet known.
    Pending,
    /// The provider accepted it; the final status is still to come.
    Processing,
    Succeeded,
    Failed,
    /// Voided by the provider.
    Canceled,
}

impl RefundStatus {
    pub(crate) const ALL: [RefundStatus; 5] = [
        Self::Pending,
        Self::Processing,
        Self::Succeeded,
        Self::Failed,
        Self::Canceled,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Canceled)
    }

    /// Whether a refund in `self` may move to `next`. Final statuses never move; a refund
    /// never goes back to `pending`; `processing` may be reported again (no change).
    pub fn can_move_to(self, next: Self) -> bool {
        match (self, next) {
            (from, _) if from.is_final() => false,
            (_, Self::Pending) => false,
            (Self::Processing, Self::Processing) => false,
            _ => true,
        }
    }

    /// The gateway status a provider's report maps to; `None` for "not found".
    pub fn from_provider(status: ProviderRefundStatus) -> Option<Self> {
        match status {
            ProviderRefundStatus::Processing => Some(Self::Processing),
            ProviderRefundStatus::Succeeded => Some(Self::Succeeded),
            ProviderRefundStatus::Failed => Some(Self::Failed),
            ProviderRefundStatus::Canceled => Some(Self::Canceled),
            ProviderRefundStatus::NotFound => None,
        }
    }
}

impl fmt::Display for RefundStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::RefundStatus::*;
    use super::*;

    #[test]
    fn final_statuses_never_move() {
        for from in [Succeeded, Failed, Canceled] {
            for to in RefundStatus::ALL {
                assert!(!from.can_move_to(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn open_statuses_move_forward_only() {
        assert!(Pending.can_move_to(Processing));
        assert!(Pending.can_move_to(Succeeded));
        assert!(Pending.can_move_to(Failed));
        assert!(Processing.can_move_to(Succeeded));
        assert!(Processing.can_move_to(Canceled));
        assert!(!Processing.can_move_to(Pending));
        assert!(!Processing.can_move_to(Processing));
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for s in RefundStatus::ALL {
            assert_eq!(RefundStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(RefundStatus::parse("done"), None);
    }
}
