//! Why a `pending` refund has not been sent to its provider: the `pending_reason` of the
//! refund object (DESIGN §5, §17, §19). Null for every refund that was sent, whatever its outcome:
//! a refund whose outcome is unknown is pending *without* a reason, and is never cancellable.

use std::fmt;

use super::stored::Word;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PendingReason {
    /// Queued while its provider account's circuit breaker is open, or because the call
    /// provably never left (DESIGN §17); sent when the breaker lets it go.
    ProviderUnavailable,
    /// Matched an `[[approval_rules]]` rule (DESIGN §19): held, unsent, until an operator
    /// approves it (then sent as a new refund would be), rejects it, or it expires.
    AwaitingApproval,
}

impl PendingReason {
    pub(crate) const ALL: [PendingReason; 2] = [Self::ProviderUnavailable, Self::AwaitingApproval];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::ProviderUnavailable => "provider_unavailable",
            Self::AwaitingApproval => "awaiting_approval",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl fmt::Display for PendingReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Word for PendingReason {
    fn as_str(self) -> &'static str {
        self.as_str()
    }

    fn parse(text: &str) -> Option<Self> {
        Self::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pending_reason_reads_back_as_itself_and_nothing_else_does() {
        for reason in PendingReason::ALL {
            assert_eq!(PendingReason::parse(reason.as_str()), Some(reason));
            assert_eq!(reason.to_string(), reason.as_str());
        }
        assert_eq!(PendingReason::parse("awaiting_godot"), None);
    }
}
