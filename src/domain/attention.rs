//! Why a refund was flagged `requires_attention`: the `reason` of its `requires_attention`
//! history events (DESIGN §5, §16), one text form each.

use std::fmt;

/// What made the gateway ask finance to look at a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttentionReason {
    /// A pending refund's status query still found nothing after the grace period, and the
    /// provider's "not found" does not prove the refund was never made: it stays pending,
    /// is never sent again, and waits for a late record or an operator.
    ProviderHasNoRecord,
    /// A success or processing report that does not prove the amount asked: none, zero,
    /// another amount or currency, or asset lines that do not add up. Nothing moved.
    AmountMismatch,
    /// An amount learnt from the provider (a refund sent without one) exceeds what was
    /// refundable: booked as reported (the money moved), for finance to recover.
    ExceedsRefundable,
    /// A report that reads as this refund but contradicts the request (an AuthMS transfer
    /// between other wallets than asked). Nothing moved.
    AnswerContradictsRequest,
    /// A final refund reported otherwise (a void or failure after success, or the reverse).
    ContradictsFinalStatus,
    /// Still open `sync.give_up_after_hours` after it was made.
    SyncGaveUp,
}

impl AttentionReason {
    #[cfg(test)]
    pub(crate) const ALL: [AttentionReason; 6] = [
        Self::ProviderHasNoRecord,
        Self::AmountMismatch,
        Self::ExceedsRefundable,
        Self::AnswerContradictsRequest,
        Self::ContradictsFinalStatus,
        Self::SyncGaveUp,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::ProviderHasNoRecord => "provider_has_no_record",
            Self::AmountMismatch => "amount_mismatch",
            Self::ExceedsRefundable => "exceeds_refundable",
            Self::AnswerContradictsRequest => "answer_contradicts_request",
            Self::ContradictsFinalStatus => "contradicts_final_status",
            Self::SyncGaveUp => "sync_gave_up",
        }
    }
}

impl fmt::Display for AttentionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_snake_case_word() {
        let words: std::collections::BTreeSet<&str> =
            AttentionReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(words.len(), AttentionReason::ALL.len());
        assert!(words
            .iter()
            .all(|w| w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
    }
}
