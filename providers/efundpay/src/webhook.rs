//! Verification and parsing of eFundPay refund webhooks (DESIGN §7; the document names
//! `webhooks_url` but no signature, so this is our rule):
//! header `eFundPay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`,
//! several `v1` allowed (secret rotation), refused when none matches (constant time) or when
//! `|now - t| > 300 s`. The body is checked only after the signature: nothing unverified is
//! parsed, and nothing a sender writes can make this panic. Bounded cost (DESIGN §15): at
//! most 8 `v1` values, one MAC per configured secret (`refund_provider::signature`).
//!
//! The event `type` must be `refund.updated`, the only one DESIGN §7 defines; a signed event
//! of any other type is an `InvalidWebhook` (400), not acknowledged-and-ignored: the trait
//! has no "ignored" outcome, and an event eFundPay does not document is worth a refusal in
//! the logs and metrics rather than a silent 200 (see the README).
//! A `null` top-level `created_at` leaves `occurred_at` unknown; a non-null one must be
//! RFC 3339.

use http::HeaderMap;
use refund_provider::webhook::verify_signature;
use refund_provider::{ProviderError, ProviderWebhook};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::map::{excerpt, to_provider_refund};
use crate::wire::{WebhookEvent, REFUND_UPDATED};

/// The signature header, as eFundPay spells it (header names are case-insensitive).
pub const SIGNATURE_HEADER: &str = "eFundPay-Signature";

/// Verifies `body` against any of `secrets` and parses it into a [`ProviderWebhook`].
pub fn verify(
    headers: &HeaderMap,
    body: &[u8],
    now: OffsetDateTime,
    secrets: &[&[u8]],
) -> Result<ProviderWebhook, ProviderError> {
    verify_signature(headers, SIGNATURE_HEADER, body, now, secrets)?;
    parse_body(body)
}

/// Parses a verified body.
fn parse_body(body: &[u8]) -> Result<ProviderWebhook, ProviderError> {
    let event: WebhookEvent = serde_json::from_slice(body)
        .map_err(|e| ProviderError::invalid_webhook(format!("body is not a refund event: {e}")))?;
    if event.id.is_empty() {
        return Err(ProviderError::invalid_webhook("event id is empty"));
    }
    if event.event_type != REFUND_UPDATED {
        return Err(ProviderError::invalid_webhook(format!(
            "event type `{}` is not `{REFUND_UPDATED}`",
            excerpt(&event.event_type)
        )));
    }
    let occurred_at = match event.created_at.as_deref() {
        None => None,
        Some(created_at) => Some(OffsetDateTime::parse(created_at, &Rfc3339).map_err(|_| {
            ProviderError::invalid_webhook(format!(
                "created_at `{}` is not an ISO 8601 time",
                excerpt(created_at)
            ))
        })?),
    };
    let refund = to_provider_refund(&event.data)
        .map_err(|why| ProviderError::invalid_webhook(format!("event data: {why}")))?;
    Ok(ProviderWebhook {
        event_id: event.id,
        event_type: event.event_type,
        occurred_at,
        refund,
    })
}
