//! What a line of a refund's history records: the `kind` of `GET /v1/refunds/{id}/events`,
//! stored as its text in `refund_events.kind`.

use super::stored::vocabulary;

vocabulary! {
    /// The kind of a history line. Its `source` ([`super::EventSource`]) says who wrote it,
    /// its `detail` the particulars.
    pub enum EventKind {
        /// The refund was recorded `pending` (DESIGN §8 step 1).
        Created => "created",
        /// The refund moved from `previous_status` to `status`.
        StatusChanged => "status_changed",
        /// A provider's report that moved nothing (the status cannot move where it says).
        ProviderAnswer => "provider_answer",
        /// The create call's outcome is unknown; the sync worker settles it (DESIGN §8 step 4).
        ProviderUnknown => "provider_unknown",
        /// The provider has no record of the refund (yet, or again, DESIGN §16).
        ProviderNotFound => "provider_not_found",
        /// The refund's provider account is not configured any more: its status query waits.
        ProviderNotConfigured => "provider_not_configured",
        /// A status query failed; the next one is scheduled.
        StatusQueryFailed => "status_query_failed",
        /// A refund its provider proved it has no record of was sent once more (DESIGN §16).
        Resent => "resent",
        /// That re-send was refused and the status query after it failed too.
        ResendRefusedUnconfirmed => "resend_refused_unconfirmed",
        /// A late report about a final refund that does not contradict it.
        Ignored => "ignored",
        /// The refund was flagged for an operator; `detail.reason` says why.
        RequiresAttention => "requires_attention",
        /// The refund joined the queue of refunds never sent (DESIGN §17).
        Queued => "queued",
        /// The refund left that queue and was sent.
        SentFromQueue => "sent_from_queue",
        /// An approval rule holds the refund, unsent (DESIGN §19).
        AwaitingApproval => "awaiting_approval",
        /// An operator approved the refund; it is sent.
        Approved => "approved",
        /// An attempt to deliver a merchant event about the refund (DESIGN §9).
        WebhookDelivery => "webhook_delivery",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stored::assert_vocabulary;

    #[test]
    fn every_event_kind_reads_back_as_the_text_the_history_has_always_shown() {
        assert_vocabulary(
            EventKind::ALL,
            &[
                "created",
                "status_changed",
                "provider_answer",
                "provider_unknown",
                "provider_not_found",
                "provider_not_configured",
                "status_query_failed",
                "resent",
                "resend_refused_unconfirmed",
                "ignored",
                "requires_attention",
                "queued",
                "sent_from_queue",
                "awaiting_approval",
                "approved",
                "webhook_delivery",
            ],
        );
    }
}
