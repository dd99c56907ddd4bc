//! Where a line of a refund's history came from: the `source` of `GET /v1/refunds/{id}/events`.

use std::fmt;

use super::stored::Word;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventSource {
    /// The merchant's create request.
    Api,
    /// The provider's answer to our create call.
    Provider,
    /// A provider webhook.
    Webhook,
    /// A status query of the sync loop.
    Sync,
    /// An operator resolving the refund by hand.
    Operator,
    /// The merchant-event outbox (a delivery attempt).
    Outbox,
    /// The merchant acting on its own refund (a cancel, DESIGN §17).
    Merchant,
    /// The queue of refunds never sent (DESIGN §17): queued, sent from it, expired.
    Queue,
}

impl EventSource {
    pub(crate) const ALL: [EventSource; 8] = [
        Self::Api,
        Self::Provider,
        Self::Webhook,
        Self::Sync,
        Self::Operator,
        Self::Outbox,
        Self::Merchant,
        Self::Queue,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Provider => "provider",
            Self::Webhook => "webhook",
            Self::Sync => "sync",
            Self::Operator => "operator",
            Self::Outbox => "outbox",
            Self::Merchant => "merchant",
            Self::Queue => "queue",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Word for EventSource {
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
    fn every_source_parses_back_from_its_text() {
        for source in EventSource::ALL {
            assert_eq!(EventSource::parse(source.as_str()), Some(source));
        }
        assert_eq!(EventSource::parse("Webhook"), None);
    }
}
