//! A verified provider webhook, reduced to what the gateway needs to apply it, and the
//! signature check every provider signing with the shared `t=,v1=` scheme runs first.

use http::HeaderMap;
use time::OffsetDateTime;

use crate::error::ProviderError;
use crate::outcome::{ProviderRefund, ProviderRefundStatus};
use crate::signature::{verify_header, SignatureError, DEFAULT_TOLERANCE_SECS};

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

/// Checks the signature header `name` (`eFundPay-Signature`, `Stripe-Signature`) of a
/// webhook `body` against any of `secrets` ([`verify_header`], tolerance
/// [`DEFAULT_TOLERANCE_SECS`] around `now`). Every refusal is an `InvalidWebhook` naming the
/// header; only a body that passes may be parsed.
pub fn verify_signature(
    headers: &HeaderMap,
    name: &str,
    body: &[u8],
    now: OffsetDateTime,
    secrets: &[&[u8]],
) -> Result<(), ProviderError> {
    let header = match headers.get(name) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| ProviderError::invalid_webhook(format!("{name} is not ASCII")))?,
        ),
    };
    verify_header(
        header,
        secrets,
        body,
        now.unix_timestamp(),
        DEFAULT_TOLERANCE_SECS,
    )
    .map_err(|e| match e {
        SignatureError::Missing => {
            ProviderError::invalid_webhook(format!("{name} header is missing"))
        }
        other => ProviderError::invalid_webhook(format!("{name}: {other}")),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use crate::signature::sign_header;

    const NAME: &str = "Demo-Signature";

    fn check(header: Option<HeaderValue>) -> Result<(), ProviderError> {
        let mut headers = HeaderMap::new();
        if let Some(value) = header {
            headers.insert(NAME, value);
        }
        verify_signature(&headers, NAME, b"{}", OffsetDateTime::UNIX_EPOCH, &[b"s"])
    }

    fn signed_with(secret: &[u8]) -> Option<HeaderValue> {
        HeaderValue::from_str(&sign_header(secret, 0, b"{}")).ok()
    }

    #[test]
    fn a_signature_refusal_names_the_header() {
        let refusals = [
            (None, "Demo-Signature header is missing"),
            (
                HeaderValue::from_bytes(&[0xff]).ok(),
                "Demo-Signature is not ASCII",
            ),
            (
                signed_with(b"other"),
                "Demo-Signature: no signature matches",
            ),
        ];
        for (header, expected) in refusals {
            assert_eq!(
                check(header),
                Err(ProviderError::invalid_webhook(expected)),
                "{expected}"
            );
        }
        assert_eq!(check(signed_with(b"s")), Ok(()));
    }

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
