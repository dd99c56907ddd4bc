//! The wire types against the document's examples in `fixtures/efundpay/`: every documented
//! answer is read, and the request we write equals the documented one.

use std::time::Duration;

use http::HeaderMap;
use provider_efundpay::request::build;
use provider_efundpay::wire::{CreateRefundRequest, Refund, RefundList, WebhookEvent};
use provider_efundpay::EfundpayProvider;
use refund_provider::testkit::RequestBuilder;
use refund_provider::{ProviderRefundRequest, ProviderRefundStatus, RefundProvider, SecretString};
use serde_json::{json, Value};
use time::OffsetDateTime;

const REQUEST: &str = include_str!("../../../fixtures/efundpay/create-refund-request.json");
const RESPONSE: &str = include_str!("../../../fixtures/efundpay/create-refund-response.json");
const LIST: &str = include_str!("../../../fixtures/efundpay/list-refunds-response.json");
const RESPONSE_NULLS: &str =
    include_str!("../../../fixtures/efundpay/create-refund-response-nulls.json");
const WEBHOOK: &str = include_str!("../../../fixtures/efundpay/webhook-refund-updated.json");
const VECTOR: &str = include_str!("../../../fixtures/efundpay/webhook-vector.txt");

const WEBHOOKS_URL: &str = "https://gateway.example/v1/webhooks/efundpay";

fn documented_request() -> ProviderRefundRequest {
    RequestBuilder::new("7099948d-7286-47e4-aad8-b68f7eb44591", "EUR")
        .reference("refund-12345")
        .amount("12.99")
        .reason("Refund due to user request.")
        .options(
            json!({"bank_detail": {"bank_code": "014", "bank_account_name": "Jack",
                                        "bank_account_no": "5015377989"}}),
        )
        .build()
}

fn vector_value(key: &str) -> String {
    VECTOR
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key}=")))
        .expect("vector line")
        .to_owned()
}

#[test]
fn the_request_we_write_is_the_documented_example_plus_webhooks_url() {
    let body = build(&documented_request(), WEBHOOKS_URL).expect("request");
    let written = serde_json::to_value(&body).expect("json");
    let mut expected: Value = serde_json::from_str(REQUEST).expect("fixture");
    // The document's example leaves out the (required) webhooks_url; we always send it.
    expected["webhooks_url"] = json!(WEBHOOKS_URL);
    assert_eq!(written, expected);
}

#[test]
fn the_documented_request_reads_back_into_the_wire_type() {
    let mut value: Value = serde_json::from_str(REQUEST).expect("fixture");
    value["webhooks_url"] = json!(WEBHOOKS_URL);
    let parsed: CreateRefundRequest = serde_json::from_value(value).expect("request");
    assert_eq!(parsed.amount, 1299);
    assert_eq!(
        parsed.bank_detail.map(|b| b.bank_account_no),
        Some("5015377989".into())
    );
}

#[test]
fn a_request_without_bank_detail_omits_the_field() {
    let mut req = documented_request();
    req.options = Value::Null;
    let written = serde_json::to_value(build(&req, WEBHOOKS_URL).expect("request")).expect("json");
    assert!(written.get("bank_detail").is_none(), "{written}");
    assert_eq!(
        written["amount"],
        json!(1299),
        "an integer, not a string or float"
    );
}

#[test]
fn the_documented_response_with_null_informational_fields_maps_to_the_same_refund() {
    let full: Refund = serde_json::from_str(RESPONSE).expect("response");
    let nulls: Refund = serde_json::from_str(RESPONSE_NULLS).expect("response with nulls");
    assert_eq!(nulls.reason, None);
    assert_eq!(
        provider_efundpay::map::to_provider_refund(&nulls),
        provider_efundpay::map::to_provider_refund(&full)
    );
}

#[test]
fn the_documented_response_reads_field_for_field() {
    let refund: Refund = serde_json::from_str(RESPONSE).expect("response");
    assert_eq!(refund.object_type, "refund");
    assert_eq!(refund.id, "6a1d4e46-14ed-4fe1-a45f-eff4e025d211");
    assert_eq!(
        refund.transaction_id,
        "7099948d-7286-47e4-aad8-b68f7eb44591"
    );
    assert_eq!(refund.status, "succeeded");
    assert_eq!(refund.currency, "EUR");
    assert_eq!(refund.amount, 1299);
    assert_eq!(
        refund.reason.as_deref(),
        Some("Refund due to user request.")
    );
    assert_eq!(refund.external_identifier, "refund-12345");
    assert_eq!(
        refund.transaction_external_identifier.as_deref(),
        Some("transaction-12345")
    );
    assert_eq!(
        refund.created_at.as_deref(),
        Some("2013-07-16T19:23:00.000+00:00")
    );
    // And writing it back gives the same JSON.
    let original: Value = serde_json::from_str(RESPONSE).expect("json");
    assert_eq!(serde_json::to_value(&refund).expect("json"), original);
}

#[test]
fn the_documented_response_maps_to_a_succeeded_refund_of_12_99_eur() {
    let refund: Refund = serde_json::from_str(RESPONSE).expect("response");
    let mapped = provider_efundpay::map::to_provider_refund(&refund).expect("mapped");
    assert_eq!(mapped.status, ProviderRefundStatus::Succeeded);
    let amount = mapped.amount.expect("amount");
    assert_eq!(
        (amount.to_major_string().as_str(), amount.currency().code()),
        ("12.99", "EUR")
    );
}

#[test]
fn the_status_query_answer_reads_its_items() {
    let list: RefundList = serde_json::from_str(LIST).expect("list");
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].external_identifier, "refund-12345");
}

#[test]
fn the_webhook_body_reads_with_its_refund() {
    let event: WebhookEvent = serde_json::from_str(WEBHOOK).expect("event");
    assert_eq!(event.event_type, "refund.updated");
    assert!(event.id.starts_with("evt_"));
    assert_eq!(event.data.id, "6a1d4e46-14ed-4fe1-a45f-eff4e025d211");
}

#[test]
fn the_signature_vector_verifies_with_the_adapter() {
    let secret = vector_value("secret");
    let t: i64 = vector_value("t").parse().expect("t");
    let provider = EfundpayProvider::new(
        "http://127.0.0.1:9",
        SecretString::from("tok"),
        "default",
        SecretString::from(secret),
        WEBHOOKS_URL,
        Duration::from_secs(1),
    )
    .expect("provider");
    let mut headers = HeaderMap::new();
    headers.insert(
        "eFundPay-Signature",
        vector_value("header").parse().expect("header"),
    );
    let now = OffsetDateTime::from_unix_timestamp(t + 10).expect("time");
    let webhook = provider
        .parse_webhook(&headers, WEBHOOK.as_bytes(), now)
        .expect("verified");
    assert_eq!(webhook.event_id, "evt_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e");
    assert_eq!(webhook.refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(
        webhook.occurred_at,
        Some(OffsetDateTime::from_unix_timestamp(t).expect("time"))
    );
    // The same vector signs exactly as the shared scheme does.
    assert_eq!(
        refund_provider::signature::sign_header(
            vector_value("secret").as_bytes(),
            t,
            WEBHOOK.as_bytes()
        ),
        vector_value("header")
    );
}
