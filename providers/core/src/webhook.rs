//! A verified provider webhook, reduced to what the gateway needs to apply it.

use time::OffsetDateTime;

use crate::{ProviderRefund, ProviderRefundStatus};

/// The `raw_status` of an acknowledged-only webhook (see [`ProviderWebhook::ignored`]).
const IGNORED: &str = "ignored";

/// A webhook whose signature and timestamp an adapter has verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderWebhook {
    /// The provider's event id; the same id delivered twice is applied once.
    pub event_id: String,
    /// The provider's event type, e.g. `refund.updated`.
    pub event_type: String,
    /// When the provider says the event happened.
    pub occurred_at: Option<OffsetDateTime>,
    /// The refund as the event describes it; `provider_reference` finds the gateway refund.
    pub refund: ProviderRefund,
}

impl ProviderWebhook {
    /// A genuine event the gateway need not act on (an event type about something other than
    /// a refund's status, e.g. Stripe's `charge.refunded`). Its refund names no reference, so
    /// the gateway acknowledges it (200) and applies it to nothing, recording nothing (an
    /// event that changes nothing needs no receipt to be applied once): refusing it would
    /// make the provider retry it for days.
    pub fn ignored(
        event_id: impl Into<String>,
        event_type: impl Into<String>,
        occurred_at: Option<OffsetDateTime>,
    ) -> Self {
        Self {
            event_id: event_id.into(),
            event_type: event_type.into(),
            occurred_at,
            refund: ProviderRefund::with_status(ProviderRefundStatus::NotFound, IGNORED),
        }
    }

    /// True for a webhook made by [`ProviderWebhook::ignored`].
    pub fn is_ignored(&self) -> bool {
        self.refund.provider_reference.is_none()
            && self.refund.status == ProviderRefundStatus::NotFound
            && self.refund.raw_status == IGNORED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ignored_event_names_no_refund_and_says_so() {
        let webhook = ProviderWebhook::ignored("evt_1", "charge.refunded", None);
        assert!(webhook.is_ignored());
        assert_eq!(webhook.refund.provider_reference, None);
        assert_eq!(webhook.event_type, "charge.refunded");
        let mut about_a_refund = webhook.clone();
        about_a_refund.refund.provider_reference = Some("rf_1".into());
        assert!(!about_a_refund.is_ignored());
    }
}
