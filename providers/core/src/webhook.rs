//! A verified provider webhook, reduced to what the gateway needs to apply it.

use time::OffsetDateTime;

use crate::ProviderRefund;

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
