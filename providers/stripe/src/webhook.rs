//! Verification and parsing of Stripe webhooks: header `Stripe-Signature: t=<unix seconds>,
//! v1=<hex HMAC-SHA256(endpoint secret, "<t>.<raw body>")>[,v1=…][,v0=…]`; any `v1` may match
//! (secret rolls), `v0` (a test-mode scheme) is ignored, and `|now − t| > 300 s` is refused.
//! The body is read only after the signature matched.
//!
//! `refund.created`, `refund.updated`, `refund.failed` and `charge.refund.updated` carry the
//! refund in `data.object`; every other event type is acknowledged and ignored
//! ([`ProviderWebhook::ignored`]).

use http::HeaderMap;
use refund_provider::webhook::verify_signature;
use refund_provider::{ProviderError, ProviderWebhook};
use time::OffsetDateTime;

use crate::map::{excerpt, to_provider_refund};
use crate::wire::{Event, Refund, EVENT_OBJECT, REFUND_EVENTS};

/// The signature header, as Stripe spells it (header names are case-insensitive).
pub const SIGNATURE_HEADER: &str = "Stripe-Signature";

/// Verifies `body` against the endpoint's `secret` and parses it.
pub fn verify(
    headers: &HeaderMap,
    body: &[u8],
    now: OffsetDateTime,
    secret: &[u8],
) -> Result<ProviderWebhook, ProviderError> {
    verify_signature(headers, SIGNATURE_HEADER, body, now, &[secret])?;
    parse_body(body)
}

/// Parses a verified body.
fn parse_body(body: &[u8]) -> Result<ProviderWebhook, ProviderError> {
    let event: Event = serde_json::from_slice(body)
        .map_err(|e| ProviderError::invalid_webhook(format!("body is not a Stripe event: {e}")))?;
    if event.object != EVENT_OBJECT {
        return Err(ProviderError::invalid_webhook(format!(
            "object is `{}`, expected `event`",
            excerpt(&event.object)
        )));
    }
    if event.id.is_empty() || event.event_type.is_empty() {
        return Err(ProviderError::invalid_webhook("event id or type is empty"));
    }
    let occurred_at = OffsetDateTime::from_unix_timestamp(event.created).map_err(|_| {
        ProviderError::invalid_webhook(format!("created {} is not a time", event.created))
    })?;
    if !REFUND_EVENTS.contains(&event.event_type.as_str()) {
        return Ok(ProviderWebhook::ignored(
            event.id,
            event.event_type,
            Some(occurred_at),
        ));
    }
    let refund: Refund = serde_json::from_value(event.data.object)
        .map_err(|e| ProviderError::invalid_webhook(format!("data.object is not a refund: {e}")))?;
    let refund = to_provider_refund(&refund)
        .map_err(|why| ProviderError::invalid_webhook(format!("data.object: {why}")))?;
    Ok(ProviderWebhook {
        event_id: event.id,
        event_type: event.event_type,
        occurred_at: Some(occurred_at),
        refund,
    })
}
