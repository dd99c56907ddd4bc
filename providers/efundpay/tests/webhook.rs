//! Webhook verification: the `eFundPay-Signature` scheme of DESIGN §7 and the event body.
//! Anything not provably genuine and well-formed is `InvalidWebhook`; nothing panics.

use std::time::Duration;

use http::HeaderMap;
use provider_efundpay::EfundpayProvider;
use refund_provider::signature::sign_header;
use refund_provider::{
    ProviderError, ProviderRefundStatus, ProviderWebhook, RefundProvider, SecretString,
};
use serde_json::{json, Value};
use time::OffsetDateTime;

const SECRET: &str = "whsec_test_efundpay";
const NOW: i64 = 1_800_000_000;

fn provider() -> EfundpayProvider {
    EfundpayProvider::new(
        "http://127.0.0.1:9",
        SecretString::from("tok"),
        "default",
        SecretString::from(SECRET),
        "https://gateway.example/v1/webhooks/efundpay",
        Duration::from_secs(1),
    )
    .expect("provider")
}

fn event(status: &str) -> Value {
    json!({
        "id": "evt_123",
        "type": "refund.updated",
        "created_at": "2027-01-15T08:00:00.000+00:00",
        "data": {
            "type": "refund",
            "id": "6a1d4e46-14ed-4fe1-a45f-eff4e025d211",
            "transaction_id": "7099948d-7286-47e4-aad8-b68f7eb44591",
            "status": status,
            "currency": "JPY",
            "amount": 1299,
            "reason": "Product return",
            "external_identifier": "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e",
            "transaction_external_identifier": "transaction-12345",
            "created_at": "2027-01-15T07:59:00.000+00:00"
        }
    })
}

fn headers(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("efundpay-signature", value.parse().expect("header value"));
    headers
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).expect("time")
}

fn signed(body: &[u8], t: i64) -> HeaderMap {
    headers(&sign_header(SECRET.as_bytes(), t, body))
}

fn parse(headers: &HeaderMap, body: &[u8]) -> Result<ProviderWebhook, ProviderError> {
    provider().parse_webhook(headers, body, at(NOW))
}

fn assert_invalid(result: Result<ProviderWebhook, ProviderError>, what: &str) {
    assert!(
        matches!(result, Err(ProviderError::InvalidWebhook { .. })),
        "{what}: {result:?}"
    );
}

#[test]
fn a_signed_refund_event_becomes_a_provider_webhook() {
    let body = serde_json::to_vec(&event("succeeded")).expect("body");
    let webhook = parse(&signed(&body, NOW - 20), &body).expect("verified");
    assert_eq!(webhook.event_id, "evt_123");
    assert_eq!(webhook.event_type, "refund.updated");
    assert_eq!(
        webhook.occurred_at,
        Some(time::macros::datetime!(2027-01-15 08:00 UTC))
    );
    assert_eq!(webhook.refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(
        webhook.refund.provider_reference.as_deref(),
        Some("rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e")
    );
    let amount = webhook.refund.amount.expect("amount");
    assert_eq!(amount.to_major_string(), "1299", "JPY has no minor digits");
}

#[test]
fn every_documented_status_is_carried_by_webhooks() {
    for (word, status) in [
        ("processing", ProviderRefundStatus::Processing),
        ("succeeded", ProviderRefundStatus::Succeeded),
        ("failed", ProviderRefundStatus::Failed),
        ("declined", ProviderRefundStatus::Failed),
        ("voided", ProviderRefundStatus::Canceled),
    ] {
        let body = serde_json::to_vec(&event(word)).expect("body");
        let webhook = parse(&signed(&body, NOW), &body).expect(word);
        assert_eq!(webhook.refund.status, status, "{word}");
    }
}

#[test]
fn null_informational_fields_in_a_webhook_keep_it_readable() {
    let mut nulls = event("succeeded");
    nulls["created_at"] = Value::Null;
    for field in ["reason", "created_at", "transaction_external_identifier"] {
        nulls["data"][field] = Value::Null;
    }
    let body = serde_json::to_vec(&nulls).expect("body");
    let webhook = parse(&signed(&body, NOW), &body).expect("verified");
    assert_eq!(webhook.refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(webhook.occurred_at, None);
}

#[test]
fn a_signed_event_of_another_type_is_refused() {
    for kind in ["refund.created", "payment.updated", "REFUND.UPDATED", ""] {
        let mut other = event("succeeded");
        other["type"] = json!(kind);
        let body = serde_json::to_vec(&other).expect("body");
        assert_invalid(parse(&signed(&body, NOW), &body), kind);
    }
}

#[test]
fn webhooks_verify_against_every_rotated_secret() {
    let rotating = provider().with_more_webhook_secrets([SecretString::from("whsec_next")]);
    let body = serde_json::to_vec(&event("succeeded")).expect("body");
    for secret in [SECRET.as_bytes(), b"whsec_next"] {
        let header = headers(&sign_header(secret, NOW, &body));
        assert!(rotating.parse_webhook(&header, &body, at(NOW)).is_ok());
    }
    let header = headers(&sign_header(b"whsec_next", NOW, &body));
    assert_invalid(parse(&header, &body), "the single-secret adapter");
}

#[test]
fn a_header_with_thousands_of_candidates_is_refused() {
    let body = serde_json::to_vec(&event("succeeded")).expect("body");
    let good = sign_header(SECRET.as_bytes(), NOW, &body);
    let good_v1 = good.split("v1=").nth(1).expect("v1");
    let flood = format!(
        "t={NOW}{},v1={good_v1}",
        format!(",v1={}", "ab".repeat(32)).repeat(5_000)
    );
    assert_invalid(parse(&headers(&flood), &body), "5,001 candidates");
    let nine = format!(
        "t={NOW}{},v1={good_v1}",
        format!(",v1={}", "ab".repeat(32)).repeat(8)
    );
    assert_invalid(parse(&headers(&nine), &body), "9 candidates");
    let eight = format!(
        "t={NOW}{},v1={good_v1}",
        format!(",v1={}", "ab".repeat(32)).repeat(7)
    );
    assert!(parse(&headers(&eight), &body).is_ok(), "8 candidates");
}

#[test]
fn one_matching_v1_among_several_is_enough() {
    let body = serde_json::to_vec(&event("succeeded")).expect("body");
    let good = sign_header(SECRET.as_bytes(), NOW, &body);
    let good_v1 = good.split("v1=").nth(1).expect("v1");
    let header = format!("t={NOW},v1={},v1={good_v1}", "ab".repeat(32));
    assert!(parse(&headers(&header), &body).is_ok());
}

#[test]
fn missing_wrong_tampered_and_stale_signatures_are_refused() {
    let body = serde_json::to_vec(&event("succeeded")).expect("body");
    assert_invalid(parse(&HeaderMap::new(), &body), "no header");
    assert_invalid(
        parse(&headers(&sign_header(b"another-secret", NOW, &body)), &body),
        "wrong secret",
    );
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    assert_invalid(parse(&signed(&body, NOW), &tampered), "tampered body");
    assert_invalid(parse(&signed(&body, NOW - 301), &body), "301 s old");
    assert_invalid(parse(&signed(&body, NOW + 301), &body), "301 s ahead");
    assert!(
        parse(&signed(&body, NOW - 300), &body).is_ok(),
        "300 s is within tolerance"
    );
    for malformed in ["", "t=abc,v1=00", "v1=00", "garbage", "t=1800000000"] {
        assert_invalid(parse(&headers(malformed), &body), malformed);
    }
}

#[test]
fn signed_but_malformed_bodies_are_refused_without_panicking() {
    let mut no_data = event("succeeded");
    no_data.as_object_mut().expect("object").remove("data");
    let mut no_id = event("succeeded");
    no_id.as_object_mut().expect("object").remove("id");
    let mut bad_time = event("succeeded");
    bad_time["created_at"] = json!("yesterday");
    let mut float_amount = event("succeeded");
    float_amount["data"]["amount"] = json!(12.99);
    let mut negative_amount = event("succeeded");
    negative_amount["data"]["amount"] = json!(-1299);
    let mut bad_currency = event("succeeded");
    bad_currency["data"]["currency"] = json!("XYZ");
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("not json", b"{not json".to_vec()),
        ("empty", Vec::new()),
        ("array", b"[]".to_vec()),
        (
            "unknown status",
            serde_json::to_vec(&event("refunded")).expect("body"),
        ),
        ("no data", serde_json::to_vec(&no_data).expect("body")),
        ("no id", serde_json::to_vec(&no_id).expect("body")),
        (
            "bad created_at",
            serde_json::to_vec(&bad_time).expect("body"),
        ),
        (
            "float amount",
            serde_json::to_vec(&float_amount).expect("body"),
        ),
        (
            "negative amount",
            serde_json::to_vec(&negative_amount).expect("body"),
        ),
        (
            "bad currency",
            serde_json::to_vec(&bad_currency).expect("body"),
        ),
    ];
    for (what, body) in bodies {
        assert_invalid(parse(&signed(&body, NOW), &body), what);
    }
}

#[test]
fn a_signed_event_without_an_amount_is_accepted_with_no_amount_for_the_engine_to_refuse() {
    // Acknowledged (the provider would only retry it), never booked: the engine flags a
    // success without its amount (DESIGN §16).
    let mut zero_amount = event("succeeded");
    zero_amount["data"]["amount"] = json!(0);
    let mut no_amount = event("succeeded");
    no_amount["data"]
        .as_object_mut()
        .expect("object")
        .remove("amount");
    for body in [zero_amount, no_amount] {
        let body = serde_json::to_vec(&body).expect("body");
        let webhook = parse(&signed(&body, NOW), &body).expect("verified");
        assert_eq!(webhook.refund.amount, None);
    }
}

#[test]
fn a_header_that_is_not_text_is_refused() {
    let body = serde_json::to_vec(&event("succeeded")).expect("body");
    let mut headers = HeaderMap::new();
    headers.insert(
        "efundpay-signature",
        http::HeaderValue::from_bytes(b"t=1,v1=\xff").expect("opaque value"),
    );
    assert_invalid(parse(&headers, &body), "non-ASCII header");
}
