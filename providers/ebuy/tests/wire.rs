//! The wire types against the documented examples in `fixtures/ebuy/`: requests the adapter
//! writes equal the examples (generated `uuid` aside), and every documented answer reads.

#[path = "support/helpers.rs"]
mod helpers;

use helpers::{fixture, provider, request, FIXTURE_SECRET};
use provider_ebuy::sign;
use provider_ebuy::wire::{
    Answer, AnswerContent, QueryContent, RefundContent, RequestEnvelope, ACTION_REFUND,
    ACTION_REFUND_QUERY,
};
use provider_ebuy::EbuyProvider;
use serde_json::{json, Value};
use time::OffsetDateTime;

fn at_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).expect("time")
}

/// Builds the envelope the adapter would send at the example's time, gives it the
/// example's `uuid` (the one generated value) and re-signs it, so it must equal the
/// example byte for byte in meaning.
fn as_sent(action: &str, content: Value, example: &Value) -> Value {
    let adapter = provider("http://127.0.0.1:9", FIXTURE_SECRET);
    let ms = example["timestamp"].as_i64().expect("timestamp");
    let mut envelope = adapter
        .envelope(action, content, at_ms(ms))
        .expect("envelope");
    let generated = envelope["uuid"].as_str().expect("uuid").to_owned();
    assert!(
        generated.starts_with("20250317-") && generated.len() == 41,
        "{generated}"
    );
    envelope.insert("uuid".into(), example["uuid"].clone());
    sign::sign_in_place(&mut envelope, FIXTURE_SECRET);
    Value::Object(envelope)
}

#[test]
fn a_single_asset_refund_is_written_exactly_as_the_documented_example() {
    let example = fixture("refund-request.json");
    let req = request(
        Some("12.50"),
        json!({"asset_type": "cash", "trade_date": "20250317",
               "goods": {"goods_id": "G1", "goods_name": "马克杯", "goods_code": "C1", "quantity": 1}}),
    );
    let content = EbuyProvider::refund_content(&req).expect("content");
    let sent = as_sent(
        ACTION_REFUND,
        serde_json::to_value(&content).expect("json"),
        &example,
    );
    assert_eq!(sent, example);
}

#[test]
fn a_whole_order_refund_is_written_exactly_as_the_documented_example() {
    let example = fixture("refund-request-whole-order.json");
    let req = request(None, Value::Null);
    let content = EbuyProvider::refund_content(&req).expect("content");
    assert_eq!(content.refund_method, None);
    let sent = as_sent(
        ACTION_REFUND,
        serde_json::to_value(&content).expect("json"),
        &example,
    );
    assert_eq!(sent, example);
}

#[test]
fn a_whole_single_asset_refund_is_written_as_the_example_without_refund_amount() {
    let example = fixture("refund-request-single-asset-whole.json");
    let req = request(None, json!({"asset_type": "points"}));
    let content = EbuyProvider::refund_content(&req).expect("content");
    let sent = as_sent(
        ACTION_REFUND,
        serde_json::to_value(&content).expect("json"),
        &example,
    );
    assert_eq!(sent, example);
    assert_eq!(
        sent["content"]["refundMethod"],
        json!([{"assetType": "points"}])
    );
}

#[test]
fn the_status_query_is_written_as_the_example() {
    let example = fixture("refund-query-request.json");
    let req = request(None, Value::Null);
    let content = QueryContent {
        out_trade_no: req.payment_id.as_str().to_owned(),
        refund_trade_no: req.provider_reference.clone(),
    };
    let sent = as_sent(
        ACTION_REFUND_QUERY,
        serde_json::to_value(&content).expect("json"),
        &example,
    );
    assert_eq!(sent, example);
}

#[test]
fn the_request_examples_read_into_the_wire_types_and_write_back_unchanged() {
    for name in ["refund-request.json", "refund-request-whole-order.json"] {
        let example = fixture(name);
        let typed: RequestEnvelope<RefundContent> =
            serde_json::from_value(example.clone()).expect(name);
        assert_eq!(
            serde_json::to_value(&typed).expect("json"),
            example,
            "{name}"
        );
    }
    let example = fixture("refund-query-request.json");
    let typed: RequestEnvelope<QueryContent> =
        serde_json::from_value(example.clone()).expect("query");
    assert_eq!(serde_json::to_value(&typed).expect("json"), example);
}

#[test]
fn every_documented_answer_reads_with_its_breakdown() {
    let cases = [
        ("refund-response-success.json", "SUCCESS"),
        ("refund-response-processing.json", "PROCESSING"),
        ("refund-response-failed.json", "FAIL"),
        ("refund-response-partial.json", "SUCCESS"),
    ];
    for (name, cash_status) in cases {
        let answer: Answer = serde_json::from_value(fixture(name)).expect(name);
        assert!(answer.success, "{name}");
        assert_eq!(answer.error_code.as_deref(), Some(""), "{name}");
        let content: AnswerContent =
            serde_json::from_value(answer.content.expect("content")).expect(name);
        let cash = content.cash_refund.expect("cashRefund");
        assert_eq!(cash.refund_status, cash_status, "{name}");
        assert!(
            content.card_refund.is_some()
                && content.coupon_refund.is_some()
                && content.points_refund.is_some()
        );
        assert_eq!(content.out_trade_no.as_deref(), Some("ORDER20250317001"));
        assert!(content.refund_time.is_some());
    }
    let success: AnswerContent =
        serde_json::from_value(fixture("refund-response-success.json")["content"].clone())
            .expect("content");
    let use_list = success
        .coupon_refund
        .and_then(|c| c.use_list)
        .expect("useList");
    assert_eq!(use_list[0].use_rule.as_deref(), Some("满100减10"));
    assert_eq!(success.refund_amount.and_then(|a| a.minor()), Some(1250));
}

#[test]
fn the_documented_rejections_read_with_code_and_message() {
    for (name, code) in [
        ("refund-response-error.json", "REFUND_AMOUNT_EXCEEDED"),
        ("refund-query-response-not-found.json", "REFUND_NOT_FOUND"),
    ] {
        let answer: Answer = serde_json::from_value(fixture(name)).expect(name);
        assert!(!answer.success);
        assert_eq!(answer.error_code.as_deref(), Some(code));
        assert!(answer.error_message.is_some_and(|m| !m.is_empty()));
    }
}
