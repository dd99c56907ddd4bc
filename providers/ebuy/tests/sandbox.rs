//! The adapter against the e-Buy sandbox end to end: happy paths, every magic value, the cap
//! on retained refunds, and the sandbox refusing bad credentials, signatures and fields. The
//! counted faults' contract is the conformance kit's (`tests/conformance.rs`).
#![cfg(feature = "sandbox")]

#[path = "support/helpers.rs"]
mod helpers;

use std::time::Duration;

use provider_ebuy::sandbox::{magic, Sandbox, SandboxConfig, APP_ID, APP_SECRET};
use provider_ebuy::{sign, EbuyProvider};
use refund_provider::clock::FixedClock;
use refund_provider::testkit::{get_json, post_json};
use refund_provider::{
    ProviderError, ProviderRefund, ProviderRefundRequest, ProviderRefundStatus, RefundId,
    RefundProvider, SecretString,
};
use serde_json::{json, Map, Value};
use time::macros::datetime;
use time::OffsetDateTime;

async fn sandbox() -> Sandbox {
    sandbox_with(SandboxConfig {
        settle_after_ms: 150,
        hang_ms: 3_000,
        ..SandboxConfig::default()
    })
    .await
}

async fn sandbox_with(config: SandboxConfig) -> Sandbox {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    Sandbox::start(listener, config).await.expect("sandbox")
}

fn adapter(sandbox: &Sandbox) -> EbuyProvider {
    adapter_as(sandbox, APP_ID, APP_SECRET, Duration::from_secs(5))
}

fn adapter_as(sandbox: &Sandbox, app_id: &str, secret: &str, timeout: Duration) -> EbuyProvider {
    EbuyProvider::new(
        &sandbox.base_url(),
        app_id,
        SecretString::from(secret.to_owned()),
        "zh_CN",
        timeout,
    )
    .expect("adapter")
}

fn refund_request(payment_id: &str, amount: Option<&str>, options: Value) -> ProviderRefundRequest {
    helpers::request_for(RefundId::generate(), payment_id, amount, options)
}

fn rejection(result: &Result<ProviderRefund, ProviderError>) -> Option<(String, String)> {
    match result {
        Err(ProviderError::Rejected { code, message }) => {
            Some((code.as_str().to_owned(), message.clone()))
        }
        _ => None,
    }
}

/// A raw envelope signed with the sandbox secret (after `edit`), posted to `path`.
async fn post_raw(
    sandbox: &Sandbox,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", sandbox.base_url()))
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let value = response.json().await.unwrap_or(Value::Null);
    (status, value)
}

fn envelope(action: &str, content: Value) -> Map<String, Value> {
    let now = OffsetDateTime::now_utc();
    let mut map = Map::new();
    map.insert(
        "uuid".into(),
        json!(provider_ebuy::reference::request_uuid(now)),
    );
    map.insert("appId".into(), json!(APP_ID));
    map.insert("action".into(), json!(action));
    map.insert(
        "timestamp".into(),
        json!((now.unix_timestamp_nanos() / 1_000_000) as i64),
    );
    map.insert("signType".into(), json!("sha256"));
    map.insert("lang".into(), json!("zh_CN"));
    map.insert("content".into(), content);
    map
}

async fn post_signed(sandbox: &Sandbox, mut map: Map<String, Value>) -> (u16, Value) {
    sign::sign_in_place(&mut map, APP_SECRET);
    post_raw(
        sandbox,
        "/api/refund",
        Some("application/json"),
        serde_json::to_vec(&Value::Object(map)).expect("json"),
    )
    .await
}

fn cash_content(amount: Value) -> Value {
    json!({"outTradeNo": "RAW1", "refundTradeNo": "20250317000000000000000000000001",
           "refundMethod": [{"assetType": "cash", "refundAmount": amount}]})
}

#[tokio::test]
async fn a_partial_cash_refund_succeeds_and_moves_exactly_that_many_fen() {
    let sandbox = sandbox().await;
    let req = refund_request(
        "ORDER-HAPPY",
        Some("12.50"),
        json!({"goods": {"goods_id": "G1", "goods_name": "马克杯", "quantity": 1}}),
    );
    let refund = adapter(&sandbox).refund(&req).await.expect("refund");
    assert_eq!(refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(refund.amount.map(|m| m.minor_units().get()), Some(1250));
    assert_eq!(
        refund.provider_reference.as_deref(),
        Some(req.provider_reference.as_str())
    );
    assert_eq!(refund.breakdown.len(), 1);
    let effects = sandbox.effects();
    assert_eq!(effects.len(), 1);
    assert_eq!(effects[0].reference, req.provider_reference);
    assert_eq!(effects[0].payment_id, "ORDER-HAPPY");
    assert_eq!(effects[0].amount_minor, 1250);
    assert_eq!(effects[0].currency, "CNY");
    assert_eq!(effects[0].status, "succeeded");
    assert_eq!(
        sandbox.remaining("ORDER-HAPPY").map(|o| o.cash),
        Some(100_000 - 1250)
    );
}

#[tokio::test]
async fn a_whole_order_refund_refunds_every_asset_and_then_nothing_remains() {
    let sandbox = sandbox().await;
    let adapter = adapter(&sandbox);
    let refund = adapter
        .refund(&refund_request("ORDER-WHOLE", None, Value::Null))
        .await
        .expect("refund");
    assert_eq!(refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(
        refund.amount.map(|m| m.to_string()).as_deref(),
        Some("1115.00 CNY")
    );
    let assets: Vec<&str> = refund
        .breakdown
        .iter()
        .map(|l| l.asset_type.as_str())
        .collect();
    assert_eq!(assets, vec!["cash", "cashcard", "coupon", "points"]);
    let again = adapter
        .refund(&refund_request(
            "ORDER-WHOLE",
            Some("0.01"),
            json!({"asset_type": "points"}),
        ))
        .await;
    assert_eq!(
        rejection(&again).map(|(c, m)| (c, m.starts_with("REFUND_AMOUNT_EXCEEDED"))),
        Some(("provider_rejected".to_owned(), true))
    );
}

#[tokio::test]
async fn an_asset_type_without_an_amount_refunds_all_of_that_asset_and_leaves_the_others() {
    let sandbox = sandbox().await;
    let refund = adapter(&sandbox)
        .refund(&refund_request(
            "ORDER-POINTS",
            None,
            json!({"asset_type": "points"}),
        ))
        .await
        .expect("refund");
    assert_eq!(refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(
        refund.amount.map(|m| m.to_string()).as_deref(),
        Some("10.00 CNY")
    );
    let assets: Vec<&str> = refund
        .breakdown
        .iter()
        .map(|l| l.asset_type.as_str())
        .collect();
    assert_eq!(assets, vec!["points"]);
    let left = sandbox.remaining("ORDER-POINTS").expect("order");
    assert_eq!(
        (left.points, left.cash, left.coupon, left.cashcard),
        (0, 100_000, 500, 10_000)
    );
}

#[tokio::test]
async fn the_sandbox_defaults_trade_time_to_the_china_date_and_refuses_a_future_one() {
    // At 16:30 and 23:59 UTC China is a day ahead; at 15:59 UTC it is not yet.
    for (now, today, tomorrow) in [
        (datetime!(2025-03-16 15:59 UTC), "20250316", "20250317"),
        (datetime!(2025-03-16 16:30 UTC), "20250317", "20250318"),
        (datetime!(2025-03-16 23:59 UTC), "20250317", "20250318"),
    ] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let sandbox =
            Sandbox::start_with_clock(listener, SandboxConfig::default(), FixedClock::at(now))
                .await
                .expect("sandbox");
        let adapter = adapter(&sandbox).with_clock(FixedClock::at(now));
        adapter
            .refund(&refund_request("ORDER-DATED", Some("1.00"), Value::Null))
            .await
            .expect("refund");
        assert_eq!(sandbox.effects()[0].trade_time, today, "{now}");

        // China's today is taken; its tomorrow is not.
        let dated = adapter
            .refund(&refund_request(
                "ORDER-DATED",
                Some("1.00"),
                json!({"trade_date": today}),
            ))
            .await;
        assert!(dated.is_ok(), "{now}: {dated:?}");
        let future = adapter
            .refund(&refund_request(
                "ORDER-DATED",
                Some("1.00"),
                json!({"trade_date": tomorrow}),
            ))
            .await;
        assert_eq!(
            rejection(&future).map(|(c, m)| (c, m.starts_with("PARAM_ERROR"))),
            Some(("provider_rejected".to_owned(), true)),
            "{now}"
        );
    }
}

#[tokio::test]
async fn retrying_the_same_refund_is_answered_with_the_original_result_and_refunds_once() {
    let sandbox = sandbox().await;
    let adapter = adapter(&sandbox);
    let req = refund_request(
        "ORDER-RETRY",
        Some("30.00"),
        json!({"asset_type": "cashcard"}),
    );
    let first = adapter.refund(&req).await.expect("first");
    let second = adapter.refund(&req).await.expect("second");
    assert_eq!(first, second);
    assert_eq!(sandbox.effects().len(), 1);
    assert_eq!(
        sandbox.remaining("ORDER-RETRY").map(|o| o.cashcard),
        Some(7_000)
    );
}

#[tokio::test]
async fn refunding_more_than_remains_of_an_asset_is_rejected() {
    let sandbox = sandbox().await;
    let result = adapter(&sandbox)
        .refund(&refund_request("ORDER-BIG", Some("1000.01"), Value::Null))
        .await;
    let (code, message) = rejection(&result).expect("rejected");
    assert_eq!(code, "provider_rejected");
    assert!(message.starts_with("REFUND_AMOUNT_EXCEEDED: "), "{message}");
    assert!(sandbox.effects().is_empty());
}

#[tokio::test]
async fn a_fail_order_is_a_failed_refund_with_no_money_moved() {
    let sandbox = sandbox().await;
    let payment = format!("{}-001", magic::FAIL_PREFIX);
    let refund = adapter(&sandbox)
        .refund(&refund_request(&payment, Some("5.00"), Value::Null))
        .await
        .expect("refund");
    assert_eq!(refund.status, ProviderRefundStatus::Failed);
    assert_eq!(
        refund
            .failure
            .map(|f| f.code.as_str().to_owned())
            .as_deref(),
        Some("provider_failed")
    );
    assert_eq!(sandbox.effects()[0].status, "failed");
    assert_eq!(sandbox.effects()[0].amount_minor, 0);
    assert_eq!(sandbox.remaining(&payment).map(|o| o.cash), Some(100_000));
}

#[tokio::test]
async fn a_proc_order_is_processing_then_the_status_query_finds_it_succeeded() {
    let sandbox = sandbox().await;
    let adapter = adapter(&sandbox);
    let req = refund_request(
        &format!("{}-001", magic::PROCESSING_PREFIX),
        Some("8.00"),
        Value::Null,
    );
    let refund = adapter.refund(&req).await.expect("refund");
    assert_eq!(refund.status, ProviderRefundStatus::Processing);
    let early = adapter.refund_status(&req).await.expect("early");
    assert_eq!(early.status, ProviderRefundStatus::Processing);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let late = adapter.refund_status(&req).await.expect("late");
    assert_eq!(late.status, ProviderRefundStatus::Succeeded);
    assert_eq!(late.amount.map(|m| m.minor_units().get()), Some(800));
    assert_eq!(sandbox.effects()[0].status, "succeeded");
}

#[tokio::test]
async fn a_part_order_refunded_whole_is_a_partial_success_kept_processing() {
    let sandbox = sandbox().await;
    let refund = adapter(&sandbox)
        .refund(&refund_request(
            &format!("{}-001", magic::PARTIAL_PREFIX),
            None,
            Value::Null,
        ))
        .await
        .expect("refund");
    assert_eq!(refund.status, ProviderRefundStatus::Processing);
    assert!(
        refund.raw_status.starts_with("PARTIAL:"),
        "{}",
        refund.raw_status
    );
    assert!(
        refund.raw_status.contains("coupon:FAIL"),
        "{}",
        refund.raw_status
    );
    assert_eq!(sandbox.effects()[0].status, "partial");
    assert_eq!(sandbox.effects()[0].amount_minor, 100_000 + 10_000 + 1_000);
}

#[tokio::test]
async fn an_unknown_order_and_the_declined_amount_are_rejected_with_their_codes() {
    let sandbox = sandbox().await;
    let adapter = adapter(&sandbox);
    let unknown = adapter
        .refund(&refund_request(
            &format!("{}-1", magic::ORDER_NOT_FOUND_PREFIX),
            None,
            Value::Null,
        ))
        .await;
    assert!(
        rejection(&unknown)
            .is_some_and(|(c, m)| c == "provider_rejected" && m.starts_with("ORDER_NOT_FOUND")),
        "{unknown:?}"
    );
    let declined = adapter
        .refund(&refund_request("ORDER-DECLINE", Some("99.99"), Value::Null))
        .await;
    assert!(
        rejection(&declined).is_some_and(|(_, m)| m.starts_with("REFUND_DECLINED")),
        "{declined:?}"
    );
    assert_eq!(magic::DECLINED_AMOUNT_FEN, 9999);
    assert!(sandbox.effects().is_empty());
}

#[tokio::test]
async fn a_badly_signed_answer_is_unknown_and_the_status_query_then_settles_it() {
    let sandbox = sandbox().await;
    let adapter = adapter(&sandbox);
    let req = refund_request(
        &format!("{}-1", magic::BAD_SIGNATURE_PREFIX),
        Some("1.00"),
        Value::Null,
    );
    let result = adapter.refund(&req).await;
    assert!(
        matches!(result, Err(ProviderError::Unknown { ref cause }) if cause.contains("signature")),
        "{result:?}"
    );
    assert_eq!(sandbox.effects().len(), 1, "the refund was applied");
    let status = adapter.refund_status(&req).await.expect("status");
    assert_eq!(status.status, ProviderRefundStatus::Succeeded);
}

#[tokio::test]
async fn the_status_query_of_a_refund_never_made_is_not_found() {
    let sandbox = sandbox().await;
    let status = adapter(&sandbox)
        .refund_status(&refund_request("ORDER-NONE", Some("1.00"), Value::Null))
        .await
        .expect("status");
    assert_eq!(status.status, ProviderRefundStatus::NotFound);
}

#[tokio::test]
async fn a_wrong_secret_or_app_id_is_misconfigured() {
    let sandbox = sandbox().await;
    let req = refund_request("ORDER-CREDS", Some("1.00"), Value::Null);
    let wrong_secret = adapter_as(&sandbox, APP_ID, "wrong-secret", Duration::from_secs(5))
        .refund(&req)
        .await;
    assert!(
        matches!(wrong_secret, Err(ProviderError::Misconfigured { ref message }) if message.contains("SIGN_ERROR")),
        "{wrong_secret:?}"
    );
    let wrong_app = adapter_as(&sandbox, "other-app", APP_SECRET, Duration::from_secs(5))
        .refund(&req)
        .await;
    assert!(
        matches!(wrong_app, Err(ProviderError::Misconfigured { ref message }) if message.contains("APP_NOT_FOUND")),
        "{wrong_app:?}"
    );
    assert!(sandbox.effects().is_empty());
}

#[tokio::test]
async fn latency_and_faults_can_be_set_over_http_and_effects_read_back() {
    let sandbox = sandbox().await;
    let client = reqwest::Client::new();
    let set = post_json(
        &client,
        &format!("{}/_sandbox/faults", sandbox.base_url()),
        &json!({"latency_ms": 200, "fail_next": 1}),
    )
    .await;
    assert_eq!(set.status().as_u16(), 200);
    assert_eq!(sandbox.faults().fail_next, 1);
    let adapter = adapter(&sandbox);
    let req = refund_request("ORDER-HTTP", Some("4.00"), Value::Null);
    assert!(adapter.refund(&req).await.is_err());
    let started = std::time::Instant::now();
    adapter.refund(&req).await.expect("second");
    assert!(started.elapsed() >= Duration::from_millis(200));
    let effects: Value =
        get_json(&client, &format!("{}/_sandbox/effects", sandbox.base_url())).await;
    assert_eq!(effects[0]["payment_id"], "ORDER-HTTP");
    assert_eq!(effects[0]["amount_minor"], 400);
    assert_eq!(effects[0]["reference"], req.provider_reference.as_str());
}

#[tokio::test]
async fn the_sandbox_signs_its_answers_and_checks_the_coupon_rule() {
    let sandbox = sandbox().await;
    let (status, answer) = post_signed(
        &sandbox,
        envelope(
            "refund",
            json!({
        "outTradeNo": "RAWCOUPON", "refundTradeNo": "20250317000000000000000000000009",
        "refundMethod": [{"assetType": "coupon", "refundAmount": 100}]}),
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["success"], false);
    assert_eq!(answer["errorCode"], "COUPON_PARTIAL_REFUND");
    assert_eq!(sign::verify(&answer, APP_SECRET), Ok(()));
    let (_, answer) = post_signed(
        &sandbox,
        envelope(
            "refund",
            json!({
        "outTradeNo": "RAWCOUPON", "refundTradeNo": "20250317000000000000000000000010",
        "refundMethod": [{"assetType": "coupon"}]}),
        ),
    )
    .await;
    assert_eq!(answer["success"], true, "{answer}");
    assert_eq!(answer["content"]["couponRefund"]["refundAmount"], "500");
    assert_eq!(sign::verify(&answer, APP_SECRET), Ok(()));
}

#[tokio::test]
async fn the_sandbox_refuses_bad_signatures_unsigned_and_applies_nothing() {
    let sandbox = sandbox().await;
    let mut map = envelope("refund", cash_content(json!(100)));
    sign::sign_in_place(&mut map, APP_SECRET);
    map.insert("content".into(), cash_content(json!(100000))); // changed after signing
    let (status, answer) = post_raw(
        &sandbox,
        "/api/refund",
        Some("application/json"),
        serde_json::to_vec(&Value::Object(map)).expect("json"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["errorCode"], "SIGN_ERROR");
    assert_eq!(answer.get("sign"), None);
    assert!(sandbox.effects().is_empty());
}

#[tokio::test]
async fn the_sandbox_refuses_bad_fields_with_param_error() {
    let sandbox = sandbox().await;
    let with = |edit: &dyn Fn(&mut Map<String, Value>)| {
        let mut map = envelope("refund", cash_content(json!(100)));
        edit(&mut map);
        map
    };
    let cases: Vec<(&str, Map<String, Value>)> = vec![
        (
            "amount as a decimal string",
            with(&|m| {
                m.insert("content".into(), cash_content(json!("1.00")));
            }),
        ),
        (
            "amount as a fraction of a fen",
            with(&|m| {
                m.insert("content".into(), cash_content(json!(12.5)));
            }),
        ),
        (
            "amount zero",
            with(&|m| {
                m.insert("content".into(), cash_content(json!(0)));
            }),
        ),
        (
            "unknown asset type",
            with(&|m| {
                m.insert("content".into(), json!({"outTradeNo": "RAW1", "refundTradeNo": "20250317000000000000000000000001", "refundMethod": [{"assetType": "gold", "refundAmount": 1}]}));
            }),
        ),
        (
            "two refund methods",
            with(&|m| {
                m.insert("content".into(), json!({"outTradeNo": "RAW1", "refundTradeNo": "20250317000000000000000000000001", "refundMethod": [{"assetType": "cash", "refundAmount": 1}, {"assetType": "points", "refundAmount": 1}]}));
            }),
        ),
        (
            "missing refundTradeNo",
            with(&|m| {
                m.insert("content".into(), json!({"outTradeNo": "RAW1"}));
            }),
        ),
        (
            "refundTradeNo without a date",
            with(&|m| {
                m.insert(
                    "content".into(),
                    json!({"outTradeNo": "RAW1", "refundTradeNo": "abc"}),
                );
            }),
        ),
        (
            "outTradeNo of 33 characters",
            with(&|m| {
                m.insert("content".into(), json!({"outTradeNo": "A".repeat(33), "refundTradeNo": "20250317000000000000000000000001"}));
            }),
        ),
        (
            "unknown content field",
            with(&|m| {
                m.insert("content".into(), json!({"outTradeNo": "RAW1", "refundTradeNo": "20250317000000000000000000000001", "amount": 1}));
            }),
        ),
        (
            "missing uuid",
            with(&|m| {
                m.remove("uuid");
            }),
        ),
        (
            "uppercase uuid",
            with(&|m| {
                m.insert(
                    "uuid".into(),
                    json!("20250317-ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"),
                );
            }),
        ),
        (
            "wrong action",
            with(&|m| {
                m.insert("action".into(), json!("refundQuery"));
            }),
        ),
        (
            "timestamp in seconds",
            with(&|m| {
                m.insert("timestamp".into(), json!(1_742_226_986));
            }),
        ),
        (
            "timestamp as a string",
            with(&|m| {
                m.insert("timestamp".into(), json!("1742226986000"));
            }),
        ),
        (
            "missing lang",
            with(&|m| {
                m.remove("lang");
            }),
        ),
        (
            "unknown envelope field",
            with(&|m| {
                m.insert("extra".into(), json!("x"));
            }),
        ),
        (
            "signType md5",
            with(&|m| {
                m.insert("signType".into(), json!("md5"));
            }),
        ),
    ];
    for (what, map) in cases {
        let (status, answer) = post_signed(&sandbox, map).await;
        assert_eq!(status, 200, "{what}");
        assert_eq!(answer["success"], false, "{what}: {answer}");
        assert_eq!(answer["errorCode"], "PARAM_ERROR", "{what}: {answer}");
    }
    assert!(sandbox.effects().is_empty());
}

#[tokio::test]
async fn the_sandbox_refuses_a_replayed_uuid_a_missing_content_type_and_non_json() {
    let sandbox = sandbox().await;
    let map = envelope("refund", cash_content(json!(100)));
    let (_, first) = post_signed(&sandbox, map.clone()).await;
    assert_eq!(first["success"], true, "{first}");
    let (_, replay) = post_signed(&sandbox, map.clone()).await;
    assert_eq!(replay["errorCode"], "DUPLICATE_UUID");

    let mut signed = envelope("refund", cash_content(json!(100)));
    sign::sign_in_place(&mut signed, APP_SECRET);
    let body = serde_json::to_vec(&Value::Object(signed)).expect("json");
    let (status, _) = post_raw(&sandbox, "/api/refund", None, body.clone()).await;
    assert_eq!(status, 415);
    let (status, _) = post_raw(&sandbox, "/api/refund", Some("text/plain"), body).await;
    assert_eq!(status, 415);
    let (status, answer) = post_raw(
        &sandbox,
        "/api/refund",
        Some("application/json"),
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(answer["errorCode"], "PARAM_ERROR");
    assert_eq!(sandbox.effects().len(), 1);
}

#[tokio::test]
async fn a_default_sandbox_serves_the_adapter_built_from_the_sandbox_config_section() {
    let sandbox = sandbox_with(SandboxConfig::default()).await;
    let settings: provider_ebuy::EbuySettings = serde_json::from_value(json!({
        "base_url": sandbox.base_url(), "app_id": "sandbox-app", "app_secret": "sandbox-ebuy-secret", "lang": "zh_CN"
    }))
    .expect("settings");
    let ctx = refund_provider::BuildContext::new("providers.ebuy", "http://127.0.0.1:8080");
    let adapter = settings.build(&ctx).expect("adapter");
    let refund = adapter
        .refund(&refund_request("ORDER-CONFIG", Some("0.01"), Value::Null))
        .await
        .expect("refund");
    assert_eq!(refund.status, ProviderRefundStatus::Succeeded);
}

#[tokio::test]
async fn the_simulator_keeps_at_most_its_cap_and_never_evicts_an_unsettled_refund() {
    let sandbox = sandbox_with(SandboxConfig {
        settle_after_ms: 60_000,
        max_refunds: 3,
        ..SandboxConfig::default()
    })
    .await;
    let adapter = adapter(&sandbox);
    let cash = json!({"asset_type": "cash"});
    let stuck = refund_request("PROC-CAP", Some("1.00"), cash.clone());
    let first = adapter.refund(&stuck).await.expect("processing refund");
    assert_eq!(first.status, ProviderRefundStatus::Processing);
    let settled: Vec<ProviderRefundRequest> = (0..6)
        .map(|n| refund_request(&format!("ORDER-CAP-{n}"), Some("1.00"), cash.clone()))
        .collect();
    for req in &settled {
        adapter.refund(req).await.expect("refund");
    }
    assert_eq!(sandbox.retained_refunds(), 3);
    let references: Vec<String> = sandbox.effects().into_iter().map(|e| e.reference).collect();
    assert_eq!(references.first(), Some(&stuck.provider_reference));
    let found = adapter.refund_status(&stuck).await.expect("status");
    assert_eq!(found.status, ProviderRefundStatus::Processing);
    let forgotten = adapter.refund_status(&settled[0]).await.expect("status");
    assert_eq!(forgotten.status, ProviderRefundStatus::NotFound);
    assert!(
        sandbox.remaining("ORDER-CAP-0").is_none(),
        "its order went with it"
    );
}

#[tokio::test]
async fn unsettled_refunds_may_exceed_the_cap_rather_than_be_forgotten() {
    let sandbox = sandbox_with(SandboxConfig {
        settle_after_ms: 60_000,
        max_refunds: 2,
        ..SandboxConfig::default()
    })
    .await;
    let adapter = adapter(&sandbox);
    for n in 0..4 {
        let req = refund_request(
            &format!("PROC-{n}"),
            Some("1.00"),
            json!({"asset_type": "cash"}),
        );
        adapter.refund(&req).await.expect("refund");
    }
    assert_eq!(sandbox.retained_refunds(), 4);
}
