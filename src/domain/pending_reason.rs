//! Why a `pending` refund has not been sent to its provider: the `pending_reason` of the
//! refund object (DESIGN §5, §17, §19). Null for every refund that was sent, whatever its outcome:
//! a refund whose outcome is unknown is pending *without* a reason, and is never cancellable.

use super::stored::vocabulary;

vocabulary! {
    /// Why a `pending` refund has not been sent to its provider.
    pub enum PendingReason {
        /// Queued while its provider account's circuit breaker is open, or because the call
        /// provably never left (DESIGN §17); sent when the breaker lets it go.
        ProviderUnavailable => "provider_unavailable",
        /// Matched an `[[approval_rules]]` rule (DESIGN §19): held, unsent, until an operator
        /// approves it (then sent as a new refund would be), rejects it, or it expires.
        AwaitingApproval => "awaiting_approval",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stored::assert_vocabulary;

    #[test]
    fn every_pending_reason_reads_back_as_itself_and_nothing_else_does() {
        assert_vocabulary(
            PendingReason::ALL,
            &["provider_unavailable", "awaiting_approval"],
        );
        assert_eq!(PendingReason::parse("awaiting_godot"), None);
    }
}
