//! Stripe webhooks: the documented signature scheme against an independent vector, the
//! refusals, the refund events and the event types acknowledged and ignored.

#[path = "support/helpers.rs"]
mod helpers;

use helpers::{fixture, fixture_text, provider, FIXTURE_REFUND_ID, WEBHOOK_SECRET};
use http::HeaderMap;
use provider_stripe::SIGNATURE_HEADER;
use refund_provider::signature::sign_header;
use refund_provider::{ProviderError, ProviderRefundStatus, RefundProvider};
use serde_json::Value;
use time::OffsetDateTime;

/// The vector's timestamp.
const SIGNED_AT: i64 = 1_721_948_600;

fn vector_header() -> String {
    fixture_text("webhook-vector.txt")
        .lines()
        .find_map(|line| line.strip_prefix("Stripe-Signature: "))
        .expect("vector header")
        .to_owned()
}

fn headers(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(SIGNATURE_HEADER, value.parse().expect("header value"));
    headers
}

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).expect("time")
}

fn signed(body: &[u8], secret: &str, now: i64) -> HeaderMap {
    headers(&sign_header(secret.as_bytes(), now, body))
}

#[test]
fn the_independent_vector_verifies_and_its_v0_entry_is_ignored() {
    let body = fixture_text("event-refund-failed.json");
    let webhook = provider("http://127.0.0.1:9", None, None)
        .parse_webhook(
            &headers(&vector_header()),
            body.as_bytes(),
            at(SIGNED_AT + 299),
        )
        .expect("genuine");
    assert_eq!(webhook.event_id, "evt_1Pgc76B7WZ01zgkWwyRHS12y");
    assert_eq!(webhook.event_type, "refund.failed");
    assert_eq!(webhook.occurred_at, Some(at(SIGNED_AT)));
    assert_eq!(webhook.refund.status, ProviderRefundStatus::Failed);
    assert_eq!(
        webhook.refund.provider_reference.as_deref(),
        Some(FIXTURE_REFUND_ID)
    );
    assert_eq!(
        webhook.refund.provider_refund_id.as_deref(),
        Some("re_1Nispe2eZvKYlo2Cd31jOCgZ")
    );
    let failure = webhook.refund.failure.expect("failure");
    assert!(failure.message.contains("expired_or_canceled_card"));
}

#[test]
fn a_forged_stale_or_unsigned_webhook_is_refused() {
    let body = fixture_text("event-refund-failed.json");
    let adapter = provider("http://127.0.0.1:9", None, None);
    let only_v0 = vector_header()
        .split(',')
        .filter(|part| !part.starts_with("v1="))
        .collect::<Vec<_>>()
        .join(",");
    let table: Vec<(&str, HeaderMap, String, i64)> = vec![
        ("no header", HeaderMap::new(), body.clone(), SIGNED_AT),
        (
            "a v0 signature only",
            headers(&only_v0),
            body.clone(),
            SIGNED_AT,
        ),
        (
            "a changed body",
            headers(&vector_header()),
            body.replace("1000", "9000"),
            SIGNED_AT,
        ),
        (
            "301 s later",
            headers(&vector_header()),
            body.clone(),
            SIGNED_AT + 301,
        ),
        (
            "301 s earlier",
            headers(&vector_header()),
            body.clone(),
            SIGNED_AT - 301,
        ),
        (
            "another secret",
            signed(body.as_bytes(), "whsec_other", SIGNED_AT),
            body.clone(),
            SIGNED_AT,
        ),
        ("garbage", headers("t=abc,v1=zz"), body.clone(), SIGNED_AT),
    ];
    for (what, headers, body, now) in table {
        match adapter.parse_webhook(&headers, body.as_bytes(), at(now)) {
            Err(ProviderError::InvalidWebhook { .. }) => {}
            other => panic!("{what}: expected InvalidWebhook, got {other:?}"),
        }
    }
}

#[test]
fn a_rolled_secret_signature_among_several_v1_entries_is_accepted() {
    let body = fixture_text("event-refund-failed.json");
    let genuine = sign_header(WEBHOOK_SECRET.as_bytes(), SIGNED_AT, body.as_bytes());
    let v1 = genuine.split("v1=").nth(1).expect("v1");
    let header = format!("t={SIGNED_AT},v1={},v1={v1}", "ab".repeat(32));
    assert!(provider("http://127.0.0.1:9", None, None)
        .parse_webhook(&headers(&header), body.as_bytes(), at(SIGNED_AT))
        .is_ok());
}

#[test]
fn each_refund_event_type_carries_the_refund() {
    for event_type in [
        "refund.created",
        "refund.updated",
        "refund.failed",
        "charge.refund.updated",
    ] {
        let mut event = fixture("event-refund-failed.json");
        event["type"] = event_type.into();
        let body = event.to_string();
        let webhook = provider("http://127.0.0.1:9", None, None)
            .parse_webhook(
                &signed(body.as_bytes(), WEBHOOK_SECRET, SIGNED_AT),
                body.as_bytes(),
                at(SIGNED_AT),
            )
            .expect(event_type);
        assert!(!webhook.is_ignored(), "{event_type}");
        assert_eq!(
            webhook.refund.provider_reference.as_deref(),
            Some(FIXTURE_REFUND_ID)
        );
    }
}

#[test]
fn other_event_types_are_acknowledged_and_ignored() {
    let body = fixture_text("event-plan-created.json");
    let webhook = provider("http://127.0.0.1:9", None, None)
        .parse_webhook(
            &signed(body.as_bytes(), WEBHOOK_SECRET, SIGNED_AT),
            body.as_bytes(),
            at(SIGNED_AT),
        )
        .expect("acknowledged");
    assert!(webhook.is_ignored());
    assert_eq!(webhook.event_type, "plan.created");
    assert_eq!(webhook.refund.provider_reference, None);
}

#[test]
fn a_genuine_event_whose_refund_is_unreadable_is_refused() {
    let mut event = fixture("event-refund-failed.json");
    event["data"]["object"]["status"] = Value::Null;
    let null_status = event.to_string();
    let mut event = fixture("event-refund-failed.json");
    event["data"]["object"] = fixture("event-plan-created.json")["data"]["object"].clone();
    let not_a_refund = event.to_string();
    for body in [null_status, not_a_refund, "{\"id\": 1}".to_owned()] {
        let result = provider("http://127.0.0.1:9", None, None).parse_webhook(
            &signed(body.as_bytes(), WEBHOOK_SECRET, SIGNED_AT),
            body.as_bytes(),
            at(SIGNED_AT),
        );
        assert!(
            matches!(result, Err(ProviderError::InvalidWebhook { .. })),
            "{body}: {result:?}"
        );
    }
}
