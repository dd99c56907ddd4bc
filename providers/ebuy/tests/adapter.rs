//! The adapter against wiremock: the exact requests it sends, and the classification of
//! every documented status, error and failure.

#[path = "support/helpers.rs"]
mod helpers;

use helpers::{fixture, provider, request, signed, FIXTURE_APP_ID, FIXTURE_SECRET};
use provider_ebuy::sign;
use refund_provider::clock::FixedClock;
use refund_provider::{
    ProviderError, ProviderRefund, ProviderRefundStatus, RefundId, RefundProvider,
};
use serde_json::{json, Value};
use time::macros::datetime;
use time::OffsetDateTime;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn server_answering(route: &str, status: u16, body: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(route))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    server
}

async fn refund_with_answer(
    body: Value,
    amount: Option<&str>,
) -> Result<ProviderRefund, ProviderError> {
    let server = server_answering("/api/refund", 200, body).await;
    provider(&server.uri(), FIXTURE_SECRET)
        .refund(&request(amount, Value::Null))
        .await
}

async fn received_bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .expect("recording")
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("json body"))
        .collect()
}

fn rejected_code(result: &Result<ProviderRefund, ProviderError>) -> Option<String> {
    match result {
        Err(ProviderError::Rejected { code, .. }) => Some(code.as_str().to_owned()),
        _ => None,
    }
}

#[tokio::test]
async fn a_refund_posts_one_signed_envelope_with_the_documented_fields() {
    let server =
        server_answering("/api/refund", 200, fixture("refund-response-success.json")).await;
    // 16:30 UTC: already the next day in China, whose date the envelope carries.
    let now = datetime!(2025-03-16 16:30:00.123 UTC);
    let req = request(
        Some("12.50"),
        json!({"trade_date": "20250317", "goods": {"goods_id": "G1", "goods_name": "马克杯", "quantity": 3}}),
    );
    provider(&server.uri(), FIXTURE_SECRET)
        .with_clock(FixedClock::at(now))
        .refund(&req)
        .await
        .expect("refund");

    let requests = server.received_requests().await.expect("recording");
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.method.as_str(), "POST");
    assert_eq!(sent.url.path(), "/api/refund");
    assert_eq!(
        sent.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let body: Value = serde_json::from_slice(&sent.body).expect("json");
    let keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort_unstable();
    assert_eq!(
        keys_sorted,
        vec![
            "action",
            "appId",
            "content",
            "lang",
            "sign",
            "signType",
            "timestamp",
            "uuid"
        ]
    );
    assert_eq!(body["appId"], FIXTURE_APP_ID);
    assert_eq!(body["action"], "refund");
    assert_eq!(body["signType"], "sha256");
    assert_eq!(body["lang"], "zh_CN");
    let ts = i128::from(
        body["timestamp"]
            .as_i64()
            .expect("timestamp is a JSON integer"),
    );
    assert_eq!(ts, now.unix_timestamp_nanos() / 1_000_000, "now in ms");
    let uuid = body["uuid"].as_str().expect("uuid");
    assert!(uuid.starts_with("20250317-"), "{uuid}");
    assert!(
        uuid.len() == 41
            && uuid[9..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    );
    assert_eq!(
        body["content"],
        json!({
            "outTradeNo": "ORDER20250317001",
            "refundTradeNo": "20250317352352304040865490029918",
            "tradeTime": "20250317",
            "goodsDetail": {"goodsId": "G1", "goodsName": "马克杯", "goodsNum": 3},
            "refundMethod": [{"assetType": "cash", "refundAmount": 1250}]
        })
    );
    // The signature covers exactly the JSON that was sent.
    assert_eq!(sign::verify(&body, FIXTURE_SECRET), Ok(()));
    // Chinese text travels as UTF-8, not as \u escapes.
    assert!(String::from_utf8_lossy(&sent.body).contains("马克杯"));
}

#[tokio::test]
async fn the_envelope_uuid_carries_chinas_date_at_any_hour_of_the_utc_day() {
    // China is UTC+8 all year: its date turns at 16:00 UTC.
    for (now, china) in [
        (datetime!(2025-03-16 00:00 UTC), "20250316"),
        (datetime!(2025-03-16 15:59:59 UTC), "20250316"),
        (datetime!(2025-03-16 16:00 UTC), "20250317"),
        (datetime!(2025-03-16 16:30 UTC), "20250317"),
        (datetime!(2025-03-16 23:59 UTC), "20250317"),
        (datetime!(2024-12-31 23:59 UTC), "20250101"),
        (datetime!(2024-02-28 16:30 UTC), "20240229"),
    ] {
        let server =
            server_answering("/api/refund", 200, fixture("refund-response-success.json")).await;
        provider(&server.uri(), FIXTURE_SECRET)
            .with_clock(FixedClock::at(now))
            .refund(&request(Some("12.50"), Value::Null))
            .await
            .expect("refund");
        let bodies = received_bodies(&server).await;
        let uuid = bodies[0]["uuid"].as_str().expect("uuid");
        assert_eq!(&uuid[..9], format!("{china}-"), "{now}");
        // refundTradeNo is dated by the refund id, never by the clock: the same on a retry.
        assert_eq!(
            bodies[0]["content"]["refundTradeNo"], "20250317352352304040865490029918",
            "{now}"
        );
    }
}

#[tokio::test]
async fn a_partial_refund_of_another_asset_names_it_and_a_whole_order_refund_sends_no_refund_method(
) {
    let server =
        server_answering("/api/refund", 200, fixture("refund-response-success.json")).await;
    let adapter = provider(&server.uri(), FIXTURE_SECRET);
    let _ = adapter
        .refund(&request(Some("3.01"), json!({"asset_type": "points"})))
        .await;
    let _ = adapter
        .refund(&request(None, json!({"trade_date": "20250301"})))
        .await;
    let bodies = received_bodies(&server).await;
    assert_eq!(
        bodies[0]["content"]["refundMethod"],
        json!([{"assetType": "points", "refundAmount": 301}])
    );
    assert_eq!(bodies[1]["content"].get("refundMethod"), None);
    assert_eq!(bodies[1]["content"]["tradeTime"], "20250301");
    assert_eq!(bodies[1]["content"].get("goodsDetail"), None);
}

#[tokio::test]
async fn every_retry_gets_a_new_uuid_but_keeps_the_refund_trade_no() {
    let server = server_answering("/api/refund", 503, json!({})).await;
    let adapter = provider(&server.uri(), FIXTURE_SECRET);
    let req = request(Some("1.00"), Value::Null);
    for _ in 0..3 {
        let _ = adapter.refund(&req).await;
    }
    let bodies = received_bodies(&server).await;
    let uuids: std::collections::HashSet<&str> = bodies
        .iter()
        .map(|b| b["uuid"].as_str().expect("uuid"))
        .collect();
    assert_eq!(uuids.len(), 3);
    for body in &bodies {
        assert_eq!(
            body["content"]["refundTradeNo"],
            "20250317352352304040865490029918"
        );
    }
}

#[tokio::test]
async fn a_successful_answer_is_a_succeeded_refund_with_amount_breakdown_and_reference() {
    let refund = refund_with_answer(fixture("refund-response-success.json"), Some("12.50"))
        .await
        .expect("refund");
    assert_eq!(refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(refund.raw_status, "SUCCESS");
    assert_eq!(
        refund.amount.map(|m| m.to_string()).as_deref(),
        Some("12.50 CNY")
    );
    assert_eq!(refund.breakdown.len(), 1);
    assert_eq!(refund.breakdown[0].asset_type, "cash");
    assert_eq!(refund.breakdown[0].amount.minor_units().get(), 1250);
    assert_eq!(
        refund.provider_reference.as_deref(),
        Some("20250317352352304040865490029918")
    );
    assert_eq!(refund.provider_refund_id, None);
    assert_eq!(refund.failure, None);
}

#[tokio::test]
async fn processing_failed_and_partial_answers_map_to_their_statuses() {
    let processing = refund_with_answer(fixture("refund-response-processing.json"), Some("12.50"))
        .await
        .expect("processing");
    assert_eq!(processing.status, ProviderRefundStatus::Processing);

    let failed = refund_with_answer(fixture("refund-response-failed.json"), Some("12.50"))
        .await
        .expect("failed");
    assert_eq!(failed.status, ProviderRefundStatus::Failed);
    assert_eq!(failed.amount, None);
    let failure = failed.failure.expect("failure");
    assert_eq!(failure.code.as_str(), "provider_failed");

    let partial = refund_with_answer(fixture("refund-response-partial.json"), None)
        .await
        .expect("partial");
    assert_eq!(partial.status, ProviderRefundStatus::Processing);
    assert!(
        partial.raw_status.starts_with("PARTIAL:"),
        "{}",
        partial.raw_status
    );
    assert_eq!(partial.failure, None);
    let lines: Vec<(String, ProviderRefundStatus)> = partial
        .breakdown
        .iter()
        .map(|l| (l.asset_type.clone(), l.status))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("cash".to_owned(), ProviderRefundStatus::Succeeded),
            ("coupon".to_owned(), ProviderRefundStatus::Failed)
        ]
    );
}

#[tokio::test]
async fn an_unknown_refund_status_word_is_processing_never_success() {
    let mut answer = fixture("refund-response-success.json");
    answer["content"]["cashRefund"]["refundStatus"] = json!("REFUNDED");
    let refund = refund_with_answer(signed(answer, FIXTURE_SECRET), Some("12.50"))
        .await
        .expect("refund");
    assert_eq!(refund.status, ProviderRefundStatus::Processing);
    assert_eq!(refund.raw_status, "REFUNDED");
}

#[tokio::test]
async fn success_false_with_an_error_code_is_rejected_with_the_message_kept() {
    let result = refund_with_answer(fixture("refund-response-error.json"), Some("12.50")).await;
    match result {
        Err(ProviderError::Rejected { code, message }) => {
            assert_eq!(code.as_str(), "provider_rejected");
            assert_eq!(message, "REFUND_AMOUNT_EXCEEDED: 退款金额超过可退金额");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn signature_and_app_errors_mean_our_credentials_are_wrong() {
    for code in ["SIGN_ERROR", "APP_NOT_FOUND"] {
        let answer = json!({"uuid": "x", "success": false, "action": "refund", "timestamp": 1,
            "errorCode": code, "errorMessage": "bad credentials", "content": null});
        let result = refund_with_answer(answer, Some("1.00")).await;
        assert!(
            matches!(result, Err(ProviderError::Misconfigured { ref message }) if message.contains(code)),
            "{code}: {result:?}"
        );
    }
}

#[tokio::test]
async fn success_false_without_an_error_code_is_unknown() {
    let answer = json!({"success": false, "errorCode": "", "errorMessage": "?"});
    let result = refund_with_answer(answer, Some("1.00")).await;
    assert!(
        matches!(result, Err(ProviderError::Unknown { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_answer_with_a_bad_signature_is_unknown_because_it_may_be_a_forged_success() {
    let mut forged = fixture("refund-response-success.json");
    forged["content"]["refundAmount"] = json!("999999");
    let result = refund_with_answer(forged, Some("12.50")).await;
    match result {
        Err(ProviderError::Unknown { cause }) => assert!(cause.contains("signature"), "{cause}"),
        other => panic!("expected Unknown, got {other:?}"),
    }
    // Signed with another secret: the same.
    let other_secret = signed(fixture("refund-response-success.json"), "not-our-secret");
    let result = refund_with_answer(other_secret, Some("12.50")).await;
    assert!(
        matches!(result, Err(ProviderError::Unknown { .. })),
        "{result:?}"
    );
    // A rejection with a bad signature is not trusted either.
    let mut forged_rejection = fixture("refund-response-error.json");
    forged_rejection["errorMessage"] = json!("changed");
    let result = refund_with_answer(forged_rejection, Some("12.50")).await;
    assert!(
        matches!(result, Err(ProviderError::Unknown { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_unsigned_answer_is_accepted_as_the_document_makes_sign_optional() {
    let mut answer = fixture("refund-response-success.json");
    let map = answer.as_object_mut().expect("object");
    map.remove("sign");
    map.remove("signType");
    let refund = refund_with_answer(answer, Some("12.50"))
        .await
        .expect("refund");
    assert_eq!(refund.status, ProviderRefundStatus::Succeeded);
}

#[tokio::test]
async fn a_success_without_readable_content_is_unknown() {
    let base = fixture("refund-response-success.json");
    let mut no_content = base.clone();
    no_content["content"] = Value::Null;
    let mut bad_amount = base.clone();
    bad_amount["content"]["cashRefund"]["refundAmount"] = json!("12.50");
    let mut no_lines = base.clone();
    for key in ["cashRefund", "cardRefund", "couponRefund", "pointsRefund"] {
        no_lines["content"]
            .as_object_mut()
            .expect("content")
            .remove(key);
    }
    let mut content_not_object = base.clone();
    content_not_object["content"] = json!("ok");
    let mut other_refund = base.clone();
    other_refund["content"]["refundTradeNo"] = json!("20250317000000000000000000000000");
    let mut no_success = base.clone();
    no_success
        .as_object_mut()
        .expect("object")
        .remove("success");
    for (what, answer) in [
        ("no content", no_content),
        ("a fractional fen amount", bad_amount),
        ("no breakdown", no_lines),
        ("content not an object", content_not_object),
        ("another refundTradeNo", other_refund),
        ("no success field", no_success),
    ] {
        let result = refund_with_answer(signed(answer, FIXTURE_SECRET), Some("12.50")).await;
        assert!(
            matches!(result, Err(ProviderError::Unknown { .. })),
            "{what}: {result:?}"
        );
    }
}

#[tokio::test]
async fn missing_optional_breakdown_objects_are_tolerated_and_an_echoed_refund_trade_no_is_the_provider_id(
) {
    let mut answer = fixture("refund-response-success.json");
    let content = answer["content"].as_object_mut().expect("content");
    for key in ["cardRefund", "couponRefund", "pointsRefund", "refundTime"] {
        content.remove(key);
    }
    content.insert(
        "refundTradeNo".into(),
        json!("20250317352352304040865490029918"),
    );
    let refund = refund_with_answer(signed(answer, FIXTURE_SECRET), Some("12.50"))
        .await
        .expect("refund");
    assert_eq!(refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(
        refund.provider_refund_id.as_deref(),
        Some("20250317352352304040865490029918")
    );
}

#[tokio::test]
async fn http_statuses_are_classified() {
    let cases: [(u16, &str); 7] = [
        (401, "misconfigured"),
        (403, "misconfigured"),
        (400, "rejected"),
        (404, "rejected"),
        (500, "unknown"),
        (502, "unknown"),
        (503, "unknown"),
    ];
    for (status, kind) in cases {
        let server = server_answering("/api/refund", status, json!({"message": "x"})).await;
        let result = provider(&server.uri(), FIXTURE_SECRET)
            .refund(&request(Some("1.00"), Value::Null))
            .await;
        let got = result.as_ref().err().map(ProviderError::kind);
        assert_eq!(got, Some(kind), "HTTP {status}: {result:?}");
        if kind == "rejected" {
            assert_eq!(rejected_code(&result).as_deref(), Some("provider_rejected"));
        }
    }
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "http://elsewhere"))
        .mount(&server)
        .await;
    let result = provider(&server.uri(), FIXTURE_SECRET)
        .refund(&request(Some("1.00"), Value::Null))
        .await;
    assert!(
        matches!(result, Err(ProviderError::Unknown { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn the_status_query_posts_refund_query_and_maps_the_answer() {
    let mut answer = fixture("refund-response-success.json");
    answer["action"] = json!("refundQuery");
    let server = server_answering("/api/refund/query", 200, signed(answer, FIXTURE_SECRET)).await;
    let refund = provider(&server.uri(), FIXTURE_SECRET)
        .refund_status(&request(Some("12.50"), Value::Null))
        .await
        .expect("status");
    assert_eq!(refund.status, ProviderRefundStatus::Succeeded);
    let bodies = received_bodies(&server).await;
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["action"], "refundQuery");
    assert_eq!(
        bodies[0]["content"],
        json!({"outTradeNo": "ORDER20250317001", "refundTradeNo": "20250317352352304040865490029918"})
    );
    assert_eq!(sign::verify(&bodies[0], FIXTURE_SECRET), Ok(()));
}

#[tokio::test]
async fn a_query_for_an_unknown_refund_is_not_found_but_the_same_code_on_refund_is_a_rejection() {
    let server = server_answering(
        "/api/refund/query",
        200,
        fixture("refund-query-response-not-found.json"),
    )
    .await;
    let refund = provider(&server.uri(), FIXTURE_SECRET)
        .refund_status(&request(None, Value::Null))
        .await
        .expect("status");
    assert_eq!(refund.status, ProviderRefundStatus::NotFound);

    let answer = fixture("refund-query-response-not-found.json");
    let result = refund_with_answer(answer, None).await;
    assert_eq!(rejected_code(&result).as_deref(), Some("provider_rejected"));
}

#[tokio::test]
async fn a_request_that_fails_validation_is_never_sent() {
    let server =
        server_answering("/api/refund", 200, fixture("refund-response-success.json")).await;
    let result = provider(&server.uri(), FIXTURE_SECRET)
        .refund(&request(Some("5.00"), json!({"asset_type": "coupon"})))
        .await;
    assert_eq!(
        rejected_code(&result).as_deref(),
        Some("coupon_partial_refund")
    );
    assert!(server
        .received_requests()
        .await
        .expect("recording")
        .is_empty());
}

#[test]
fn validation_catches_what_e_buy_would_refuse_with_the_right_code_and_param() {
    let adapter = provider("http://127.0.0.1:9", FIXTURE_SECRET);
    let check = |req: refund_provider::ProviderRefundRequest| {
        adapter
            .validate(&req)
            .err()
            .map(|e| (e.code.as_str(), e.param.unwrap_or_default()))
    };
    assert_eq!(check(request(Some("1.00"), Value::Null)), None);
    assert_eq!(check(request(None, json!({"asset_type": "coupon"}))), None);
    assert_eq!(
        check(request(Some("1.00"), json!({"asset_type": "coupon"}))),
        Some(("coupon_partial_refund", "amount".to_owned()))
    );
    let mut usd = request(Some("1.00"), Value::Null);
    usd.currency = refund_provider::Currency::parse("USD").expect("USD");
    usd.amount = None;
    assert_eq!(
        check(usd),
        Some(("currency_unsupported", "currency".to_owned()))
    );
    let long = helpers::request_for(
        RefundId::generate(),
        &"A".repeat(33),
        Some("1.00"),
        Value::Null,
    );
    assert_eq!(
        check(long),
        Some(("parameter_invalid", "payment_id".to_owned()))
    );
    let ok32 = helpers::request_for(RefundId::generate(), &"A".repeat(32), None, Value::Null);
    assert_eq!(check(ok32), None);
    assert_eq!(
        check(request(Some("1.00"), json!({"asset_type": "bitcoin"}))),
        Some((
            "parameter_invalid",
            "provider_options.ebuy.asset_type".to_owned()
        ))
    );
    assert_eq!(
        check(request(Some("1.00"), json!({"goods": {"goods_id": "G"}}))),
        Some((
            "parameter_missing",
            "provider_options.ebuy.goods.quantity".to_owned()
        ))
    );
}

#[test]
fn capabilities_identity_and_reference_are_as_designed() {
    let adapter = provider("http://127.0.0.1:9", FIXTURE_SECRET);
    assert_eq!(adapter.id().as_str(), "ebuy");
    let caps = adapter.capabilities();
    assert_eq!(
        caps.currencies
            .as_ref()
            .map(|c| c.iter().map(|c| c.code()).collect::<Vec<_>>()),
        Some(vec!["CNY"])
    );
    assert!(caps.partial && caps.full_without_amount && caps.status_query);
    assert!(!caps.webhooks);
    let proofs = adapter.proofs();
    assert!(!proofs.not_found_proves_absence && !proofs.resend_is_deduplicated);
    assert!(proofs.answers_carry_amount);
    let id = RefundId::parse(helpers::FIXTURE_REFUND_ID).expect("id");
    assert_eq!(
        adapter.provider_reference(&id),
        "20250317352352304040865490029918"
    );
    assert_eq!(
        adapter.provider_reference(&id),
        adapter.provider_reference(&id)
    );
}

#[test]
fn webhooks_are_refused_because_e_buy_sends_none() {
    let adapter = provider("http://127.0.0.1:9", FIXTURE_SECRET);
    let result = adapter.parse_webhook(&http::HeaderMap::new(), b"{}", OffsetDateTime::now_utc());
    assert!(
        matches!(result, Err(ProviderError::InvalidWebhook { ref message }) if message.contains("no webhooks")),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_asset_type_without_an_amount_refunds_that_whole_asset_not_the_whole_order() {
    let server =
        server_answering("/api/refund", 200, fixture("refund-response-success.json")).await;
    let adapter = provider(&server.uri(), FIXTURE_SECRET);
    for asset in ["points", "coupon", "cash"] {
        let _ = adapter
            .refund(&request(None, json!({"asset_type": asset})))
            .await;
    }
    let bodies = received_bodies(&server).await;
    let methods: Vec<&Value> = bodies
        .iter()
        .map(|b| &b["content"]["refundMethod"])
        .collect();
    assert_eq!(
        methods,
        vec![
            &json!([{"assetType": "points"}]),
            &json!([{"assetType": "coupon"}]),
            &json!([{"assetType": "cash"}]),
        ]
    );
}

#[tokio::test]
async fn a_429_is_not_sent_and_a_408_is_unknown_never_a_refusal() {
    let server = server_answering("/api/refund", 429, json!({"message": "slow down"})).await;
    let result = provider(&server.uri(), FIXTURE_SECRET)
        .refund(&request(Some("1.00"), Value::Null))
        .await;
    assert!(
        matches!(result, Err(ProviderError::NotSent { .. })),
        "{result:?}"
    );
    let server = server_answering("/api/refund", 408, json!({})).await;
    let result = provider(&server.uri(), FIXTURE_SECRET)
        .refund(&request(Some("1.00"), Value::Null))
        .await;
    assert!(
        matches!(result, Err(ProviderError::Unknown { .. })),
        "{result:?}"
    );
    let server = server_answering("/api/refund/query", 408, json!({})).await;
    let result = provider(&server.uri(), FIXTURE_SECRET)
        .refund_status(&request(Some("1.00"), Value::Null))
        .await;
    assert!(
        matches!(result, Err(ProviderError::Unknown { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_answer_amount_beyond_twelve_integer_digits_is_an_unknown_outcome() {
    let mut answer = fixture("refund-response-success.json");
    answer["content"]["cashRefund"]["refundAmount"] = json!("100000000000000");
    let result = refund_with_answer(signed(answer, FIXTURE_SECRET), Some("12.50")).await;
    assert!(
        matches!(result, Err(ProviderError::Unknown { .. })),
        "{result:?}"
    );
}
