//! Where a line of a refund's history came from: the `source` of `GET /v1/refunds/{id}/events`.

use super::stored::vocabulary;

vocabulary! {
    /// Where a line of a refund's history came from.
    pub enum EventSource {
        /// The merchant's create request.
        Api => "api",
        /// The provider's answer to our create call.
        Provider => "provider",
        /// A provider webhook.
        Webhook => "webhook",
        /// A status query of the sync loop.
        Sync => "sync",
        /// An operator resolving the refund by hand.
        Operator => "operator",
        /// The merchant-event outbox (a delivery attempt).
        Outbox => "outbox",
        /// The merchant acting on its own refund (a cancel, DESIGN §17).
        Merchant => "merchant",
        /// The queue of refunds never sent (DESIGN §17): queued, sent from it, expired.
        Queue => "queue",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stored::assert_vocabulary;

    #[test]
    fn every_source_parses_back_from_its_text() {
        assert_vocabulary(
            EventSource::ALL,
            &[
                "api", "provider", "webhook", "sync", "operator", "outbox", "merchant", "queue",
            ],
        );
        assert_eq!(EventSource::parse("Webhook"), None);
    }
}
