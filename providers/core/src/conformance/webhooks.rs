//! The webhook table: nothing unverified is accepted, and a genuine webhook is.

use http::HeaderMap;
use time::OffsetDateTime;

use super::harness::{sample_for, TIMEOUT};
use super::target::{ConformanceTarget, Failures};
use crate::error::ProviderError;

pub(super) fn check(target: &dyn ConformanceTarget) -> Failures {
    let mut failures = Failures::new();
    let provider = target.build("http://127.0.0.1:9", TIMEOUT);
    let sample = sample_for(target, provider.as_ref());
    let now = OffsetDateTime::now_utc();
    match provider.parse_webhook(&HeaderMap::new(), b"{}", now) {
        Err(ProviderError::InvalidWebhook { .. }) => {}
        other => failures.push(format!(
            "an unsigned webhook should be InvalidWebhook, got {other:?}"
        )),
    }
    let Some(genuine) = target.signed_webhook(&sample, now) else {
        if provider.capabilities().webhooks {
            failures.push("the provider claims webhooks but the target signs none".into());
        }
        return failures;
    };
    match provider.parse_webhook(&genuine.headers, &genuine.body, now) {
        Ok(webhook) => {
            if webhook.refund.provider_reference.as_deref()
                != Some(sample.provider_reference.as_str())
            {
                failures.push(format!(
                    "a genuine webhook should name our reference {}, got {:?}",
                    sample.provider_reference, webhook.refund.provider_reference
                ));
            }
            if webhook.event_id.is_empty() {
                failures.push("a genuine webhook has no event id".into());
            }
        }
        Err(e) => failures.push(format!("a genuine webhook was refused: {e}")),
    }
    let mut tampered = genuine.body.clone();
    match tampered.iter().rposition(u8::is_ascii_digit) {
        Some(at) => tampered[at] = if tampered[at] == b'9' { b'8' } else { b'9' },
        None => tampered.push(b' '),
    }
    match provider.parse_webhook(&genuine.headers, &tampered, now) {
        Err(ProviderError::InvalidWebhook { .. }) => {}
        other => failures.push(format!(
            "a webhook whose body changed after signing should be InvalidWebhook, got {other:?}"
        )),
    }
    let later = now + time::Duration::minutes(10);
    match provider.parse_webhook(&genuine.headers, &genuine.body, later) {
        Err(ProviderError::InvalidWebhook { .. }) => {}
        other => failures.push(format!(
            "a genuine webhook replayed ten minutes later should be InvalidWebhook, got {other:?}"
        )),
    }
    failures
}
