//! The adapter against the simulator, end to end: happy paths, every magic value, latency and
//! the webhook faults, signed webhooks, the cap on retained refunds, and the simulator
//! refusing bad credentials and bad fields. The counted faults' contract is the conformance
//! kit's (`tests/conformance.rs`).
#![cfg(feature = "sandbox")]

use std::time::Duration;

use http::HeaderMap;
use provider_efundpay::sandbox::{
    magic, Effect, Faults, Sandbox, SandboxConfig, SandboxPayment, MERCHANT_ACCOUNT_ID, TOKEN,
    WEBHOOK_SECRET,
};
use provider_efundpay::EfundpayProvider;
use refund_provider::testkit::{get_json, post_json, RequestBuilder};
use refund_provider::{
    ProviderError, ProviderRefund, ProviderRefundRequest, ProviderRefundStatus, ProviderWebhook,
    RefundProvider, SecretString,
};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const PAYMENT: &str = "7099948d-7286-47e4-aad8-b68f7eb44591";

async fn start(config: SandboxConfig) -> Sandbox {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    Sandbox::start(listener, config).await.expect("sandbox")
}

fn quick() -> SandboxConfig {
    SandboxConfig {
        webhook_delay_ms: 50,
        webhook_retry_ms: 50,
        hang_ms: 3_000,
        ..SandboxConfig::default()
    }
}

fn adapter_with(
    sandbox: &Sandbox,
    token: &str,
    account: &str,
    webhooks_url: &str,
    timeout: Duration,
) -> EfundpayProvider {
    EfundpayProvider::new(
        &sandbox.base_url(),
        SecretString::from(token.to_owned()),
        account,
        SecretString::from(WEBHOOK_SECRET),
        webhooks_url,
        timeout,
    )
    .expect("adapter")
}

fn adapter(sandbox: &Sandbox, webhooks_url: &str) -> EfundpayProvider {
    adapter_with(
        sandbox,
        TOKEN,
        MERCHANT_ACCOUNT_ID,
        webhooks_url,
        Duration::from_secs(2),
    )
}

fn request(payment_id: &str, amount: &str, currency: &str) -> ProviderRefundRequest {
    RequestBuilder::new(payment_id, currency)
        .amount(amount)
        .reason("Product return")
        .build()
}

/// A webhook receiver answering 200.
async fn receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

fn hook_url(receiver: &MockServer) -> String {
    format!("{}/v1/webhooks/efundpay", receiver.uri())
}

/// Waits until `receiver` holds `count` requests (or gives up after 3 s).
async fn received(receiver: &MockServer, count: usize) -> Vec<wiremock::Request> {
    for _ in 0..150 {
        let requests = receiver.received_requests().await.unwrap_or_default();
        if requests.len() >= count {
            return requests;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    receiver.received_requests().await.unwrap_or_default()
}

/// The webhooks `receiver` got, verified and parsed by the adapter.
fn verified(adapter: &EfundpayProvider, requests: &[wiremock::Request]) -> Vec<ProviderWebhook> {
    requests
        .iter()
        .map(|request| {
            let mut headers = HeaderMap::new();
            for (name, value) in request.headers.iter() {
                headers.append(name.clone(), value.clone());
            }
            adapter
                .parse_webhook(&headers, &request.body, OffsetDateTime::now_utc())
                .expect("a genuine webhook")
        })
        .collect()
}

/// Polls the status query until the refund leaves `processing` (or 3 s pass).
async fn settled(adapter: &EfundpayProvider, req: &ProviderRefundRequest) -> ProviderRefund {
    for _ in 0..150 {
        let refund = adapter.refund_status(req).await.expect("status");
        if refund.status != ProviderRefundStatus::Processing {
            return refund;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    adapter.refund_status(req).await.expect("status")
}

fn assert_kind(result: &Result<ProviderRefund, ProviderError>, kind: &str, what: &str) {
    let actual = match result {
        Ok(refund) => format!("ok {:?}", refund.status),
        Err(e) => e.kind().to_owned(),
    };
    assert_eq!(actual, kind, "{what}: {result:?}");
}

#[tokio::test]
async fn a_refund_is_processing_then_succeeds_with_a_signed_webhook() {
    let sandbox = start(quick()).await;
    let hooks = receiver().await;
    let adapter = adapter(&sandbox, &hook_url(&hooks));
    let req = request(PAYMENT, "12.99", "EUR");

    let answer = adapter.refund(&req).await.expect("refund");
    assert_eq!(answer.status, ProviderRefundStatus::Processing);
    let provider_id = answer.provider_refund_id.clone().expect("id");

    let webhooks = verified(&adapter, &received(&hooks, 1).await);
    assert_eq!(webhooks.len(), 1);
    let webhook = &webhooks[0];
    assert!(webhook.event_id.starts_with("evt_"));
    assert_eq!(webhook.event_type, "refund.updated");
    assert_eq!(webhook.refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(
        webhook.refund.provider_reference.as_deref(),
        Some(req.provider_reference.as_str())
    );
    assert_eq!(webhook.refund.amount, req.amount);
    assert_eq!(
        hooks.received_requests().await.unwrap_or_default()[0]
            .url
            .path(),
        "/v1/webhooks/efundpay"
    );

    let status = adapter.refund_status(&req).await.expect("status");
    assert_eq!(status.status, ProviderRefundStatus::Succeeded);
    assert_eq!(
        status.provider_refund_id.as_deref(),
        Some(provider_id.as_str())
    );

    let effects = sandbox.effects();
    assert_eq!(effects.len(), 1);
    let effect = &effects[0];
    assert_eq!(
        (
            effect.reference.as_str(),
            effect.payment_id.as_str(),
            effect.amount_minor,
            effect.currency.as_str(),
            effect.status.as_str()
        ),
        (
            req.provider_reference.as_str(),
            PAYMENT,
            1299,
            "EUR",
            "succeeded"
        )
    );
}

#[tokio::test]
async fn a_webhook_signed_by_the_sandbox_fails_with_another_secret() {
    let sandbox = start(quick()).await;
    let hooks = receiver().await;
    let adapter = adapter(&sandbox, &hook_url(&hooks));
    adapter
        .refund(&request(PAYMENT, "1.00", "EUR"))
        .await
        .expect("refund");
    let requests = received(&hooks, 1).await;
    let request = requests.first().expect("a webhook");
    let signature = request.headers.get("efundpay-signature").expect("signed");
    let mut headers = HeaderMap::new();
    headers.insert("efundpay-signature", signature.clone());
    let other = EfundpayProvider::new(
        &sandbox.base_url(),
        SecretString::from(TOKEN),
        MERCHANT_ACCOUNT_ID,
        SecretString::from("not-the-sandbox-secret"),
        &hook_url(&hooks),
        Duration::from_secs(1),
    )
    .expect("adapter");
    let result = other.parse_webhook(&headers, &request.body, OffsetDateTime::now_utc());
    assert!(
        matches!(result, Err(ProviderError::InvalidWebhook { .. })),
        "{result:?}"
    );
    let late = OffsetDateTime::now_utc() + Duration::from_secs(301);
    let result = adapter.parse_webhook(&headers, &request.body, late);
    assert!(
        matches!(result, Err(ProviderError::InvalidWebhook { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn magic_amounts_answer_their_documented_outcomes_at_once() {
    let sandbox = start(quick()).await;
    let adapter = adapter(&sandbox, "http://127.0.0.1:9/v1/webhooks/efundpay");
    let cases = [
        ("40.40", "ok Failed", Some("provider_declined")),
        ("50.50", "ok Failed", Some("provider_failed")),
        ("70.70", "ok Succeeded", None),
        ("42.20", "rejected", None),
        ("50.01", "unknown", None),
    ];
    for (amount, kind, code) in cases {
        let result = adapter.refund(&request(PAYMENT, amount, "EUR")).await;
        assert_kind(&result, kind, amount);
        if let (Some(code), Ok(refund)) = (code, &result) {
            assert_eq!(
                refund.failure.as_ref().map(|f| f.code.as_str()),
                Some(code),
                "{amount}"
            );
        }
    }
    let statuses: Vec<(i64, String)> = sandbox
        .effects()
        .into_iter()
        .map(|e| (e.amount_minor, e.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (4040, "declined".into()),
            (5050, "failed".into()),
            (7070, "succeeded".into())
        ],
        "4220 and 5001 record nothing"
    );
}

#[tokio::test]
async fn magic_amounts_settle_later_as_documented() {
    let sandbox = start(quick()).await;
    let adapter = adapter(&sandbox, "http://127.0.0.1:9/v1/webhooks/efundpay");
    let fails = request(PAYMENT, "60.60", "EUR");
    let voided = request(PAYMENT, "80.80", "EUR");
    let stays = request(PAYMENT, "90.90", "EUR");
    for req in [&fails, &voided, &stays] {
        let answer = adapter.refund(req).await.expect("refund");
        assert_eq!(answer.status, ProviderRefundStatus::Processing);
    }
    let failed = settled(&adapter, &fails).await;
    assert_eq!(failed.status, ProviderRefundStatus::Failed);
    assert_eq!(
        failed
            .failure
            .map(|f| f.code.as_str().to_owned())
            .as_deref(),
        Some("provider_failed")
    );
    assert_eq!(
        settled(&adapter, &voided).await.status,
        ProviderRefundStatus::Canceled
    );
    assert_eq!(
        adapter.refund_status(&stays).await.expect("status").status,
        ProviderRefundStatus::Processing
    );
}

#[tokio::test]
async fn an_unknown_transaction_magic_id_is_rejected_and_not_found() {
    let sandbox = start(quick()).await;
    let adapter = adapter(&sandbox, "http://127.0.0.1:9/v1/webhooks/efundpay");
    let req = request(magic::PAYMENT_NOT_FOUND, "1.00", "EUR");
    assert_kind(&adapter.refund(&req).await, "rejected", "create");
    assert_kind(&adapter.refund_status(&req).await, "ok NotFound", "status");
    assert!(sandbox.effects().is_empty());
}

#[tokio::test]
async fn refunds_never_exceed_the_payment_and_keep_its_currency() {
    let config = SandboxConfig {
        payments: vec![SandboxPayment {
            id: "pay_1500".into(),
            amount_minor: 1500,
            currency: "EUR".into(),
            payment_method: None,
        }],
        ..quick()
    };
    let sandbox = start(config).await;
    let adapter = adapter(&sandbox, "http://127.0.0.1:9/v1/webhooks/efundpay");
    assert_kind(
        &adapter.refund(&request("pay_1500", "10.00", "EUR")).await,
        "ok Processing",
        "10.00",
    );
    assert_kind(
        &adapter.refund(&request("pay_1500", "5.01", "EUR")).await,
        "rejected",
        "5.01 over",
    );
    assert_kind(
        &adapter.refund(&request("pay_1500", "5.00", "EUR")).await,
        "ok Processing",
        "5.00",
    );
    assert_kind(
        &adapter.refund(&request("pay_1500", "1", "JPY")).await,
        "rejected",
        "currency",
    );

    // An unseen transaction is a payment of 1,000,000 minor units.
    assert_kind(
        &adapter.refund(&request("pay_big", "10000.00", "USD")).await,
        "ok Processing",
        "all",
    );
    assert_kind(
        &adapter.refund(&request("pay_big", "0.01", "USD")).await,
        "rejected",
        "one more cent",
    );
    assert_eq!(sandbox.effects().len(), 3);
}

#[tokio::test]
async fn a_declined_refund_does_not_use_up_the_payment() {
    let config = SandboxConfig {
        payments: vec![SandboxPayment {
            id: "pay_5000".into(),
            amount_minor: 5000,
            currency: "EUR".into(),
            payment_method: None,
        }],
        ..quick()
    };
    let sandbox = start(config).await;
    let adapter = adapter(&sandbox, "http://127.0.0.1:9/v1/webhooks/efundpay");
    assert_kind(
        &adapter.refund(&request("pay_5000", "40.40", "EUR")).await,
        "ok Failed",
        "declined",
    );
    assert_kind(
        &adapter.refund(&request("pay_5000", "50.00", "EUR")).await,
        "ok Processing",
        "whole",
    );
    assert_kind(
        &adapter.refund(&request("pay_5000", "0.01", "EUR")).await,
        "rejected",
        "over",
    );
}

#[tokio::test]
async fn a_promptpay_payment_needs_bank_detail() {
    let sandbox = start(quick()).await;
    let adapter = adapter(&sandbox, "http://127.0.0.1:9/v1/webhooks/efundpay");
    let payment = format!("{}001", magic::PAYMENT_PROMPTPAY_PREFIX);
    let plain = request(&payment, "100.00", "THB");
    match adapter.refund(&plain).await {
        Err(ProviderError::Rejected { message, .. }) => {
            assert!(message.contains("bank_detail_required"), "{message}")
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let mut with_bank = request(&payment, "100.00", "THB");
    with_bank.options = json!({"payment_method": "promptpay", "bank_detail":
        {"bank_code": "014", "bank_account_name": "Jack", "bank_account_no": "5015377989"}});
    assert_kind(
        &adapter.refund(&with_bank).await,
        "ok Processing",
        "with bank detail",
    );
}

#[tokio::test]
async fn re_sending_a_refund_returns_the_same_refund_and_pays_once() {
    let sandbox = start(quick()).await;
    let adapter = adapter(&sandbox, "http://127.0.0.1:9/v1/webhooks/efundpay");
    let req = request(PAYMENT, "12.99", "EUR");
    let first = adapter.refund(&req).await.expect("first");
    let second = adapter
        .refund(&req)
        .await
        .expect("second (409, then found)");
    assert_eq!(first.provider_refund_id, second.provider_refund_id);
    assert_eq!(sandbox.effects().len(), 1);
}

#[tokio::test]
async fn latency_past_the_timeout_is_unknown() {
    let sandbox = start(SandboxConfig {
        latency_ms: 500,
        ..quick()
    })
    .await;
    let adapter = adapter_with(
        &sandbox,
        TOKEN,
        MERCHANT_ACCOUNT_ID,
        "http://127.0.0.1:9/",
        Duration::from_millis(200),
    );
    assert_kind(
        &adapter.refund(&request(PAYMENT, "1.00", "EUR")).await,
        "unknown",
        "slow",
    );
}

#[tokio::test]
async fn faults_and_effects_are_reachable_over_http() {
    let sandbox = start(quick()).await;
    let http = reqwest::Client::new();
    let answer = post_json(
        &http,
        &format!("{}/_sandbox/faults", sandbox.base_url()),
        &json!({"fail_next": 2, "duplicate_webhooks": true}),
    )
    .await;
    assert_eq!(answer.status(), 200);
    let faults = sandbox.faults();
    assert_eq!(
        (
            faults.fail_next,
            faults.duplicate_webhooks,
            faults.webhooks_enabled
        ),
        (2, true, true)
    );
    let bad = post_json(
        &http,
        &format!("{}/_sandbox/faults", sandbox.base_url()),
        &json!({"fail_nxt": 2}),
    )
    .await;
    assert_eq!(bad.status(), 400);

    sandbox.set_faults(Faults::default());
    let adapter = adapter(&sandbox, "http://127.0.0.1:9/v1/webhooks/efundpay");
    adapter
        .refund(&request(PAYMENT, "70.70", "EUR"))
        .await
        .expect("refund");
    let effects: Vec<Effect> =
        get_json(&http, &format!("{}/_sandbox/effects", sandbox.base_url())).await;
    assert_eq!(effects, sandbox.effects());
    assert_eq!(effects.len(), 1);
}

#[tokio::test]
async fn duplicate_webhooks_repeat_the_same_event_id() {
    let sandbox = start(quick()).await;
    sandbox.set_faults(Faults {
        duplicate_webhooks: true,
        ..Faults::default()
    });
    let hooks = receiver().await;
    let adapter = adapter(&sandbox, &hook_url(&hooks));
    adapter
        .refund(&request(PAYMENT, "12.99", "EUR"))
        .await
        .expect("refund");
    let webhooks = verified(&adapter, &received(&hooks, 2).await);
    assert_eq!(webhooks.len(), 2);
    assert_eq!(webhooks[0].event_id, webhooks[1].event_id);
    assert_eq!(webhooks[0].refund, webhooks[1].refund);
}

#[tokio::test]
async fn out_of_order_webhooks_send_a_stale_processing_event_last() {
    let sandbox = start(quick()).await;
    sandbox.set_faults(Faults {
        out_of_order_webhooks: true,
        ..Faults::default()
    });
    let hooks = receiver().await;
    let adapter = adapter(&sandbox, &hook_url(&hooks));
    adapter
        .refund(&request(PAYMENT, "12.99", "EUR"))
        .await
        .expect("refund");
    let webhooks = verified(&adapter, &received(&hooks, 2).await);
    assert_eq!(webhooks.len(), 2);
    assert_eq!(webhooks[0].refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(webhooks[1].refund.status, ProviderRefundStatus::Processing);
    assert_ne!(webhooks[0].event_id, webhooks[1].event_id);
    assert!(webhooks[1].occurred_at < webhooks[0].occurred_at);
}

#[tokio::test]
async fn with_webhooks_disabled_the_refund_still_settles() {
    let sandbox = start(quick()).await;
    sandbox.set_faults(Faults {
        webhooks_enabled: false,
        ..Faults::default()
    });
    let hooks = receiver().await;
    let adapter = adapter(&sandbox, &hook_url(&hooks));
    let req = request(PAYMENT, "12.99", "EUR");
    adapter.refund(&req).await.expect("refund");
    let status = settled(&adapter, &req).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(status.status, ProviderRefundStatus::Succeeded);
    assert!(hooks
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty());
    assert!(sandbox.deliveries().is_empty());
}

#[tokio::test]
async fn a_failed_webhook_delivery_is_retried() {
    let sandbox = start(quick()).await;
    let hooks = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&hooks)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hooks)
        .await;
    let adapter = adapter(&sandbox, &hook_url(&hooks));
    adapter
        .refund(&request(PAYMENT, "12.99", "EUR"))
        .await
        .expect("refund");
    let webhooks = verified(&adapter, &received(&hooks, 2).await);
    assert_eq!(webhooks.len(), 2);
    assert_eq!(webhooks[0].event_id, webhooks[1].event_id);
    // The merchant side has seen both requests; the sandbox records the second answer just
    // after, so wait (bounded) for its delivery log to catch up.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let attempts = loop {
        let attempts: Vec<(u32, Option<u16>)> = sandbox
            .deliveries()
            .iter()
            .map(|d| (d.attempt, d.answer))
            .collect();
        if attempts.len() >= 2 || tokio::time::Instant::now() > deadline {
            break attempts;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(attempts, vec![(1, Some(500)), (2, Some(200))]);
}

#[tokio::test]
async fn bad_credentials_are_refused_as_misconfiguration() {
    let sandbox = start(quick()).await;
    let wrong_token = adapter_with(
        &sandbox,
        "not-the-token",
        MERCHANT_ACCOUNT_ID,
        "http://127.0.0.1:9/",
        Duration::from_secs(2),
    );
    let req = request(PAYMENT, "12.99", "EUR");
    assert_kind(&wrong_token.refund(&req).await, "misconfigured", "token");
    assert_kind(
        &wrong_token.refund_status(&req).await,
        "misconfigured",
        "token on status",
    );
    let wrong_account = adapter_with(
        &sandbox,
        TOKEN,
        "someone-else",
        "http://127.0.0.1:9/",
        Duration::from_secs(2),
    );
    assert_kind(
        &wrong_account.refund(&req).await,
        "misconfigured",
        "merchant account",
    );
    assert!(sandbox.effects().is_empty());
}

#[tokio::test]
async fn the_sandbox_refuses_malformed_fields() {
    let sandbox = start(quick()).await;
    let http = reqwest::Client::new();
    let url = format!("{}/v4/transactions/{PAYMENT}/refunds", sandbox.base_url());
    let valid = json!({"amount": 1299, "currency": "EUR", "reason": "r",
        "external_identifier": "ext-1", "webhooks_url": "http://127.0.0.1:9/hook"});
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = valid.clone();
        body.as_object_mut().expect("object").remove(field);
        body
    };
    let cases = [
        ("float amount", with("amount", json!(12.99)), 400),
        ("integral float amount", with("amount", json!(1299.0)), 400),
        ("string amount", with("amount", json!("1299")), 400),
        ("zero amount", with("amount", json!(0)), 422),
        ("negative amount", with("amount", json!(-1)), 422),
        ("lower-case currency", with("currency", json!("eur")), 422),
        ("unknown currency", with("currency", json!("ZZZ")), 422),
        ("empty reason", with("reason", json!("")), 422),
        ("long reason", with("reason", json!("x".repeat(256))), 422),
        (
            "long external_identifier",
            with("external_identifier", json!("x".repeat(51))),
            422,
        ),
        ("no webhooks_url", without("webhooks_url"), 400),
        (
            "bad webhooks_url",
            with("webhooks_url", json!("not a url")),
            422,
        ),
        ("no reason", without("reason"), 400),
        ("unknown field", with("colour", json!("red")), 400),
        (
            "partial bank_detail",
            with("bank_detail", json!({"bank_code": "014"})),
            422,
        ),
    ];
    for (what, body, status) in cases {
        let answer = http
            .post(&url)
            .bearer_auth(TOKEN)
            .header("x-merchant-account-id", MERCHANT_ACCOUNT_ID)
            .json(&body)
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status().as_u16(), status, "{what}");
        let error: Value = answer.json().await.expect("json error");
        assert_eq!(error["type"], json!("error"), "{what}");
    }
    let no_account = http
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&valid)
        .send()
        .await
        .expect("answer");
    assert_eq!(no_account.status().as_u16(), 400);
    let not_json = http
        .post(&url)
        .bearer_auth(TOKEN)
        .header("x-merchant-account-id", MERCHANT_ACCOUNT_ID)
        .header("content-type", "text/plain")
        .body(valid.to_string())
        .send()
        .await
        .expect("answer");
    assert_eq!(not_json.status().as_u16(), 415);
    assert!(sandbox.effects().is_empty());
    // And the valid body is accepted, then refused as a duplicate.
    for expected in [201, 409] {
        let answer = http
            .post(&url)
            .bearer_auth(TOKEN)
            .header("x-merchant-account-id", MERCHANT_ACCOUNT_ID)
            .json(&valid)
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status().as_u16(), expected);
    }
}

#[tokio::test]
async fn a_dropped_sandbox_stops_answering() {
    let sandbox = start(quick()).await;
    let adapter = adapter(&sandbox, "http://127.0.0.1:9/v1/webhooks/efundpay");
    let req = request(PAYMENT, "1.00", "EUR");
    adapter.refund_status(&req).await.expect("running");
    drop(sandbox);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fresh = EfundpayProvider::new(
        adapter.base_url(),
        SecretString::from(TOKEN),
        MERCHANT_ACCOUNT_ID,
        SecretString::from(WEBHOOK_SECRET),
        "http://127.0.0.1:9/",
        Duration::from_secs(1),
    )
    .expect("adapter");
    assert_kind(&fresh.refund(&req).await, "not_sent", "after drop");
}

#[tokio::test]
async fn the_simulator_keeps_at_most_its_cap_and_never_evicts_an_unsettled_refund() {
    let sandbox = start(SandboxConfig {
        max_refunds: 3,
        ..quick()
    })
    .await;
    let adapter = adapter(&sandbox, "http://127.0.0.1:9/v1/webhooks/efundpay");
    // 90.90 EUR stays `processing` for ever: it must survive every eviction.
    let stuck = request("pay_cap_stuck", "90.90", "EUR");
    assert_kind(&adapter.refund(&stuck).await, "ok Processing", "stuck");
    // 70.70 EUR is `succeeded` at once: settled, evictable.
    for n in 0..6 {
        let req = request(&format!("pay_cap_{n}"), "70.70", "EUR");
        assert_kind(&adapter.refund(&req).await, "ok Succeeded", "settled");
    }
    assert_eq!(sandbox.retained_refunds(), 3);
    let references: Vec<String> = sandbox.effects().into_iter().map(|e| e.reference).collect();
    assert_eq!(references.len(), 3);
    assert_eq!(
        references[0], stuck.provider_reference,
        "the oldest, unsettled, stays"
    );
    assert_kind(
        &adapter.refund_status(&stuck).await,
        "ok Processing",
        "still answered",
    );
    assert_eq!(
        adapter
            .refund_status(&request("pay_cap_0", "70.70", "EUR"))
            .await
            .map(|r| r.status),
        Ok(ProviderRefundStatus::NotFound),
        "the oldest settled one is forgotten"
    );
}

#[tokio::test]
async fn unsettled_refunds_may_exceed_the_cap_rather_than_be_forgotten() {
    let sandbox = start(SandboxConfig {
        max_refunds: 2,
        ..quick()
    })
    .await;
    let adapter = adapter(&sandbox, "http://127.0.0.1:9/v1/webhooks/efundpay");
    for n in 0..4 {
        let req = request(&format!("pay_unsettled_{n}"), "90.90", "EUR");
        assert_kind(&adapter.refund(&req).await, "ok Processing", "stuck");
    }
    assert_eq!(sandbox.retained_refunds(), 4);
}
