//! The `type` of a merchant webhook event (DESIGN §9, §19), stored as its text in
//! `outbox.event_type` and sent as the body's `"type"`.

use super::refund::RefundStatus;
use super::stored::vocabulary;

vocabulary! {
    /// What a merchant event announces.
    pub enum MerchantEventType {
        /// A refund was recorded.
        Created => "refund.created",
        /// A refund moved to `succeeded`.
        Succeeded => "refund.succeeded",
        /// A refund moved to `failed`.
        Failed => "refund.failed",
        /// A refund moved to `canceled`.
        Canceled => "refund.canceled",
        /// A refund moved to `pending` or `processing`.
        Updated => "refund.updated",
        /// An approval rule holds a new refund, unsent (DESIGN §19).
        AwaitingApproval => "refund.awaiting_approval",
    }
}

impl MerchantEventType {
    /// The event announcing a refund's move into `status`.
    pub(crate) fn for_move_to(status: RefundStatus) -> Self {
        match status {
            RefundStatus::Succeeded => Self::Succeeded,
            RefundStatus::Failed => Self::Failed,
            RefundStatus::Canceled => Self::Canceled,
            RefundStatus::Pending | RefundStatus::Processing => Self::Updated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stored::assert_vocabulary;

    #[test]
    fn every_event_type_reads_back_as_the_text_design_promises_merchants() {
        assert_vocabulary(
            MerchantEventType::ALL,
            &[
                "refund.created",
                "refund.succeeded",
                "refund.failed",
                "refund.canceled",
                "refund.updated",
                "refund.awaiting_approval",
            ],
        );
    }

    #[test]
    fn a_move_is_announced_by_the_event_of_its_status() {
        for (status, expected) in [
            (RefundStatus::Succeeded, "refund.succeeded"),
            (RefundStatus::Failed, "refund.failed"),
            (RefundStatus::Canceled, "refund.canceled"),
            (RefundStatus::Pending, "refund.updated"),
            (RefundStatus::Processing, "refund.updated"),
        ] {
            assert_eq!(MerchantEventType::for_move_to(status).as_str(), expected);
        }
    }
}
