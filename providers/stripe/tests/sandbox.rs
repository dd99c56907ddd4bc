//! The adapter against the Stripe simulator, end to end: a refund's life with its signed
//! events, Idempotency-Key replay (a saved 500 included) and misuse, every magic value, the
//! payment's refundable total, Stripe's currency rules, the simulator's own refusals, the
//! webhook faults and the cap on retained refunds. The counted faults' contract is the
//! conformance kit's (`tests/conformance.rs`).

use std::time::Duration;

use http::HeaderMap;
use provider_stripe::adapter::{StripeAccount, StripeProvider};
use provider_stripe::sandbox::{
    magic, Faults, Sandbox, SandboxConfig, SandboxPayment, SECRET_KEY, WEBHOOK_SECRET,
};
use refund_provider::testkit::{get_json, post_json, RequestBuilder};
use refund_provider::{
    ProviderError, ProviderRefund, ProviderRefundRequest, ProviderRefundStatus, ProviderWebhook,
    RefundProvider, SecretString,
};
use serde_json::{json, Value};
use time::OffsetDateTime;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn start(config: SandboxConfig) -> Sandbox {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    Sandbox::start(listener, config).await.expect("sandbox")
}

fn quick() -> SandboxConfig {
    SandboxConfig {
        settle_after_ms: 50,
        webhook_retry_ms: 20,
        hang_ms: 3_000,
        ..SandboxConfig::default()
    }
}

fn adapter_with_key(sandbox: &Sandbox, key: &str) -> StripeProvider {
    let account = StripeAccount {
        secret_key: SecretString::from(key.to_owned()),
        webhook_secret: SecretString::from(WEBHOOK_SECRET),
        merchant_id: Some("acme".into()),
    };
    StripeProvider::new(
        &sandbox.base_url(),
        account,
        Some("2024-06-20"),
        Duration::from_secs(3),
    )
    .expect("adapter")
}

fn adapter(sandbox: &Sandbox) -> StripeProvider {
    adapter_with_key(sandbox, SECRET_KEY)
}

fn request(payment_id: &str, amount: Option<&str>, currency: &str) -> ProviderRefundRequest {
    let builder = RequestBuilder::new(payment_id, currency);
    match amount {
        Some(amount) => builder.amount(amount).build(),
        None => builder.build(),
    }
}

fn outcome(result: &Result<ProviderRefund, ProviderError>) -> String {
    match result {
        Ok(refund) => format!("ok {}", refund.status.as_str()),
        Err(ProviderError::Rejected { code, .. }) => format!("rejected {code}"),
        Err(e) => e.kind().to_owned(),
    }
}

/// A webhook endpoint answering 200.
async fn receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

/// Waits until `receiver` holds `count` requests (or 3 s pass).
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

fn verified(adapter: &StripeProvider, requests: &[wiremock::Request]) -> Vec<ProviderWebhook> {
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

/// Polls the status query until the refund is `status` (or 3 s pass).
async fn settled_to(
    adapter: &StripeProvider,
    req: &ProviderRefundRequest,
    status: ProviderRefundStatus,
) -> ProviderRefund {
    for _ in 0..150 {
        let refund = adapter.refund_status(req).await.expect("status");
        if refund.status == status {
            return refund;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    adapter.refund_status(req).await.expect("status")
}

/// A raw form POST to the simulator: status, `Idempotent-Replayed`, body.
async fn post_form(
    sandbox: &Sandbox,
    auth: Option<&str>,
    key: Option<&str>,
    content_type: &str,
    body: &str,
) -> (u16, bool, Value) {
    let mut builder = reqwest::Client::new()
        .post(format!("{}/v1/refunds", sandbox.base_url()))
        .header("content-type", content_type)
        .body(body.to_owned());
    if let Some(auth) = auth {
        builder = builder.header("authorization", auth);
    }
    if let Some(key) = key {
        builder = builder.header("idempotency-key", key);
    }
    let response = builder.send().await.expect("answer");
    let status = response.status().as_u16();
    let replayed = response.headers().get("idempotent-replayed").is_some();
    (
        status,
        replayed,
        response.json().await.unwrap_or(Value::Null),
    )
}

const FORM: &str = "application/x-www-form-urlencoded";
const BEARER: &str = "Bearer sk_test_sandbox_stripe";

#[tokio::test]
async fn a_refund_is_pending_then_succeeds_with_signed_events_to_the_endpoint() {
    let hooks = receiver().await;
    let sandbox = start(SandboxConfig {
        webhook_url: Some(format!("{}/v1/webhooks/stripe", hooks.uri())),
        ..quick()
    })
    .await;
    let adapter = adapter(&sandbox);
    let req = RequestBuilder::new("pi_life1", "EUR")
        .amount("12.99")
        .options(json!({"reason": "requested_by_customer"}))
        .build();
    let created = adapter.refund(&req).await.expect("refund");
    assert_eq!(created.status, ProviderRefundStatus::Processing);
    assert_eq!(created.raw_status, "pending");
    let events = verified(&adapter, &received(&hooks, 3).await);
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.event_type.as_str(), e.refund.status.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("refund.created", "processing"),
            ("charge.refunded", "not_found"),
            ("refund.updated", "succeeded"),
        ]
    );
    assert!(
        events[1].is_ignored(),
        "charge.refunded is acknowledged, not applied"
    );
    assert_eq!(
        events[2].refund.provider_reference.as_deref(),
        Some(req.provider_reference.as_str())
    );
    let found = adapter.refund_status(&req).await.expect("status");
    assert_eq!(found.status, ProviderRefundStatus::Succeeded);
    assert_eq!(found.amount, req.amount);
    let effects = sandbox.effects();
    assert_eq!(effects.len(), 1);
    assert_eq!(effects[0].reference, req.refund_id.to_string());
    assert_eq!(effects[0].reason.as_deref(), Some("requested_by_customer"));
}

#[tokio::test]
async fn the_merchants_metadata_reaches_the_simulator_and_a_known_id_is_read_directly() {
    let sandbox = start(quick()).await;
    let adapter = adapter(&sandbox);
    let req = RequestBuilder::new("pi_meta1", "EUR")
        .amount("3.00")
        .merchant("acme")
        .metadata("order", "A-1001")
        .build();
    let created = adapter.refund(&req).await.expect("refund");
    let stripe_id = created
        .provider_refund_id
        .clone()
        .expect("a Stripe refund id");
    let client = reqwest::Client::new();
    let stored: Value = client
        .get(format!("{}/v1/refunds/{stripe_id}", sandbox.base_url()))
        .header("authorization", BEARER)
        .send()
        .await
        .expect("retrieve")
        .json()
        .await
        .expect("json");
    assert_eq!(
        stored["metadata"],
        json!({"gateway_refund_id": req.refund_id.to_string(), "merchant_id": "acme", "order": "A-1001"}),
        "{stored}"
    );

    // With the Stripe id known, the status query reads that refund (that no list request is
    // made is proven against wiremock in tests/adapter.rs).
    let mut known = req.clone();
    known.provider_refund_id = Some(stripe_id);
    let found = adapter.refund_status(&known).await.expect("status");
    assert_eq!(found.status, ProviderRefundStatus::Processing);
    assert_eq!(found.provider_refund_id, created.provider_refund_id);
    known.provider_refund_id = Some("re_unknown".into());
    let missing = adapter.refund_status(&known).await.expect("status");
    assert_eq!(missing.status, ProviderRefundStatus::NotFound);
}

#[tokio::test]
async fn re_sending_a_refund_replays_the_saved_answer_and_pays_once() {
    let sandbox = start(quick()).await;
    let adapter = adapter(&sandbox);
    let req = request("pi_resend", Some("5.00"), "EUR");
    let first = adapter.refund(&req).await.expect("first");
    let second = adapter.refund(&req).await.expect("second");
    assert_eq!(first.provider_refund_id, second.provider_refund_id);
    assert_eq!(sandbox.effects().len(), 1);

    let form = "charge=ch_raw&amount=100";
    let (status, replayed, body) = post_form(&sandbox, Some(BEARER), Some("k1"), FORM, form).await;
    assert_eq!((status, replayed), (200, false));
    let (again, replayed, body_again) = post_form(
        &sandbox,
        Some(BEARER),
        Some("k1"),
        FORM,
        "amount=100&charge=ch_raw",
    )
    .await;
    assert_eq!(
        (again, replayed),
        (200, true),
        "same parameters in another order"
    );
    assert_eq!(body, body_again);
    assert_eq!(sandbox.effects().len(), 2);
}

#[tokio::test]
async fn a_saved_500_is_replayed_to_a_resend_and_nothing_is_recorded() {
    let sandbox = start(quick()).await;
    let adapter = adapter(&sandbox);
    let req = request("pi_500", Some("50.01"), "EUR");
    assert_eq!(outcome(&adapter.refund(&req).await), "unknown");
    assert_eq!(outcome(&adapter.refund(&req).await), "unknown");
    assert!(sandbox.effects().is_empty());
    assert_eq!(outcome(&adapter.refund_status(&req).await), "ok not_found");
    let form = format!("charge=ch_raw500&amount={}", magic::AMOUNT_SERVER_ERROR);
    let (status, replayed, _) = post_form(&sandbox, Some(BEARER), Some("k500"), FORM, &form).await;
    assert_eq!((status, replayed), (500, false));
    let (status, replayed, _) = post_form(&sandbox, Some(BEARER), Some("k500"), FORM, &form).await;
    assert_eq!((status, replayed), (500, true));
}

#[tokio::test]
async fn a_key_reused_with_other_parameters_is_an_idempotency_error_and_unknown() {
    let sandbox = start(quick()).await;
    let (status, _, _) = post_form(
        &sandbox,
        Some(BEARER),
        Some("k2"),
        FORM,
        "charge=ch_k2&amount=100",
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, body) = post_form(
        &sandbox,
        Some(BEARER),
        Some("k2"),
        FORM,
        "charge=ch_k2&amount=200",
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "idempotency_error");

    let adapter = adapter(&sandbox);
    let first = request("pi_k3", Some("1.00"), "EUR");
    adapter.refund(&first).await.expect("first");
    let mut changed = first.clone();
    changed.amount = request("pi_k3", Some("2.00"), "EUR").amount;
    assert_eq!(outcome(&adapter.refund(&changed).await), "unknown");
    assert_eq!(sandbox.effects().len(), 2);
}

#[tokio::test]
async fn each_magic_value_gives_its_documented_outcome() {
    let sandbox = start(quick()).await;
    let adapter = adapter(&sandbox);
    let table: &[(&str, &str, &str, &str)] = &[
        (
            "pi_m1",
            "40.20",
            "rejected provider_declined",
            "ok not_found",
        ),
        ("pi_m2", "42.90", "not_sent", "ok not_found"),
        ("pi_m3", "70.70", "ok succeeded", "ok succeeded"),
        ("pi_m4", "60.60", "ok processing", "ok failed"),
        ("pi_m5", "80.80", "ok processing", "ok canceled"),
        ("pi_m6", "90.90", "ok processing", "ok processing"),
        ("pi_m7", "30.30", "ok succeeded", "ok failed"),
        (
            "pi_missing",
            "1.00",
            "rejected provider_rejected",
            "ok not_found",
        ),
        (
            "ch_missing",
            "1.00",
            "rejected provider_rejected",
            "ok not_found",
        ),
    ];
    let mut requests = Vec::new();
    for (payment, amount, first, _) in table {
        let req = request(payment, Some(amount), "EUR");
        assert_eq!(
            &outcome(&adapter.refund(&req).await),
            first,
            "{payment} {amount}"
        );
        requests.push(req);
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    for ((payment, amount, _, later), req) in table.iter().zip(&requests) {
        assert_eq!(
            &outcome(&adapter.refund_status(req).await),
            later,
            "{payment} {amount} later"
        );
    }
}

#[tokio::test]
async fn a_succeeded_refund_that_fails_later_sends_refund_failed() {
    let hooks = receiver().await;
    let sandbox = start(SandboxConfig {
        webhook_url: Some(hooks.uri()),
        ..quick()
    })
    .await;
    let adapter = adapter(&sandbox);
    let req = request("pi_flip", Some("30.30"), "EUR");
    assert_eq!(outcome(&adapter.refund(&req).await), "ok succeeded");
    let events = verified(&adapter, &received(&hooks, 3).await);
    let last = events.last().expect("events");
    assert_eq!(last.event_type, "refund.failed");
    assert_eq!(last.refund.status, ProviderRefundStatus::Failed);
    assert!(last
        .refund
        .failure
        .as_ref()
        .is_some_and(|f| f.message.contains("lost_or_stolen_card")));
}

#[tokio::test]
async fn refunds_never_exceed_the_payment_and_a_failed_one_gives_its_amount_back() {
    let sandbox = start(SandboxConfig {
        payments: vec![SandboxPayment {
            id: "pi_limit".into(),
            amount_minor: 10_000,
            currency: "eur".into(),
        }],
        ..quick()
    })
    .await;
    let adapter = adapter(&sandbox);
    let fails = request("pi_limit", Some("60.60"), "EUR");
    assert_eq!(outcome(&adapter.refund(&fails).await), "ok processing");
    assert_eq!(
        outcome(
            &adapter
                .refund(&request("pi_limit", Some("50.00"), "EUR"))
                .await
        ),
        "rejected amount_invalid"
    );
    settled_to(&adapter, &fails, ProviderRefundStatus::Failed).await;
    let whole = request("pi_limit", None, "EUR");
    let refunded = adapter.refund(&whole).await.expect("what is left");
    assert_eq!(
        refunded.amount.map(|m| m.to_string()),
        Some("100.00 EUR".into())
    );
    assert_eq!(
        outcome(
            &adapter
                .refund(&request("ch_limit", Some("0.01"), "EUR"))
                .await
        ),
        "rejected provider_rejected",
        "charge_already_refunded, by the payment's charge"
    );
}

#[tokio::test]
async fn stripes_currency_rules_hold_in_the_simulator() {
    let sandbox = start(quick()).await;
    let adapter = adapter(&sandbox);
    let yen = request("pi_jpy_1", Some("500"), "JPY");
    let refund = adapter.refund(&yen).await.expect("yen");
    assert_eq!(refund.amount, yen.amount);
    let dinar = request("pi_kwd_1", Some("5.120"), "KWD");
    assert_eq!(
        adapter.refund(&dinar).await.map(|r| r.amount),
        Ok(dinar.amount)
    );
    for (form, code) in [
        ("charge=ch_kwd_2&amount=5125", "invalid_amount"),
        (
            "charge=ch_isk_3&amount=550",
            "invalid_charge_amount_no_decimal_compatible",
        ),
    ] {
        let (status, _, body) = post_form(&sandbox, Some(BEARER), None, FORM, form).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some(code)),
            "{form}"
        );
        assert_eq!(body["error"]["param"], "amount");
    }
    let (status, _, body) = post_form(
        &sandbox,
        Some(BEARER),
        None,
        FORM,
        "charge=ch_isk_4&amount=500",
    )
    .await;
    assert_eq!((status, body["currency"].as_str()), (200, Some("isk")));
}

#[tokio::test]
async fn bad_credentials_are_refused_as_misconfiguration() {
    let sandbox = start(quick()).await;
    let wrong = adapter_with_key(&sandbox, "sk_test_wrong");
    let req = request("pi_auth", Some("1.00"), "EUR");
    assert_eq!(outcome(&wrong.refund(&req).await), "misconfigured");
    assert_eq!(outcome(&wrong.refund_status(&req).await), "misconfigured");
    let (status, _, body) = post_form(&sandbox, None, None, FORM, "charge=ch_1").await;
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (401, Some("invalid_request_error"))
    );
    // Basic auth with the key as the user, as Stripe's curl examples send it.
    let basic = "Basic c2tfdGVzdF9zYW5kYm94X3N0cmlwZTo=";
    let (status, _, _) = post_form(
        &sandbox,
        Some(basic),
        None,
        FORM,
        "charge=ch_basic&amount=1",
    )
    .await;
    assert_eq!(status, 200);
    assert!(sandbox.effects().iter().all(|e| e.payment_id != "pi_auth"));
}

#[tokio::test]
async fn the_simulator_refuses_malformed_requests_like_stripe() {
    let sandbox = start(quick()).await;
    let table: &[(&str, &str, Option<&str>)] = &[
        ("application/json", r#"{"charge":"ch_1"}"#, None),
        (FORM, "charge=ch_1&destination=acct_1", Some("destination")),
        (FORM, "charge=ch_1&payment_intent=pi_1", Some("charge")),
        (FORM, "amount=100", None),
        (FORM, "charge=ch_1&amount=12.5", Some("amount")),
        (FORM, "charge=ch_1&amount=0", Some("amount")),
        (FORM, "charge=ch_1&reason=other", Some("reason")),
        (
            FORM,
            "charge=ch_1&metadata%5Ba%5Bb%5D%5D=x",
            Some("metadata[a[b]]"),
        ),
    ];
    for (content_type, body, param) in table {
        let (status, _, answer) = post_form(
            &sandbox,
            Some(BEARER),
            Some(&format!("bad-{body}")),
            content_type,
            body,
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["error"]["param"].as_str(), *param, "{body}");
    }
    assert!(sandbox.effects().is_empty());
    let client = reqwest::Client::new();
    let bad_version = client
        .get(format!("{}/v1/refunds?charge=ch_1", sandbox.base_url()))
        .header("authorization", BEARER)
        .header("stripe-version", "latest")
        .send()
        .await
        .expect("answer");
    assert_eq!(bad_version.status().as_u16(), 400);
    let bad_limit = client
        .get(format!(
            "{}/v1/refunds?charge=ch_1&limit=0",
            sandbox.base_url()
        ))
        .header("authorization", BEARER)
        .send()
        .await
        .expect("answer");
    assert_eq!(bad_limit.status().as_u16(), 400);
    let unknown = client
        .get(format!("{}/v1/refunds/re_nothing", sandbox.base_url()))
        .header("authorization", BEARER)
        .send()
        .await
        .expect("answer");
    assert_eq!(unknown.status().as_u16(), 404);
}

#[tokio::test]
async fn the_list_pages_newest_first_and_a_charge_finds_its_payment_intents_refunds() {
    let sandbox = start(quick()).await;
    let adapter = adapter(&sandbox);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let refund = adapter
            .refund(&request("pi_pages", Some("1.00"), "EUR"))
            .await
            .expect("refund");
        ids.push(refund.provider_refund_id.expect("id"));
    }
    let client = reqwest::Client::new();
    let get = |query: String| {
        let client = client.clone();
        let url = format!("{}/v1/refunds?{query}", sandbox.base_url());
        async move {
            client
                .get(url)
                .header("authorization", BEARER)
                .send()
                .await
                .expect("answer")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let first = get("payment_intent=pi_pages&limit=2".into()).await;
    assert_eq!(first["data"][0]["id"], ids[2].as_str());
    assert_eq!(first["has_more"], true);
    let second = get(format!(
        "payment_intent=pi_pages&limit=2&starting_after={}",
        ids[1]
    ))
    .await;
    assert_eq!(second["data"][0]["id"], ids[0].as_str());
    assert_eq!(second["has_more"], false);
    let by_charge = get("charge=ch_pages&limit=100".into()).await;
    assert_eq!(by_charge["data"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn duplicate_and_out_of_order_webhooks_are_sent_as_asked() {
    let hooks = receiver().await;
    let sandbox = start(SandboxConfig {
        webhook_url: Some(hooks.uri()),
        faults: Faults {
            duplicate_webhooks: true,
            out_of_order_webhooks: true,
            ..Faults::default()
        },
        ..quick()
    })
    .await;
    let adapter = adapter(&sandbox);
    adapter
        .refund(&request("pi_dup", Some("1.00"), "EUR"))
        .await
        .expect("refund");
    let events = verified(&adapter, &received(&hooks, 7).await);
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.event_type.as_str(), e.refund.raw_status.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("refund.created", "pending"),
            ("refund.created", "pending"),
            ("charge.refunded", "ignored"),
            ("charge.refunded", "ignored"),
            ("refund.updated", "succeeded"),
            ("refund.updated", "succeeded"),
            ("refund.updated", "pending"),
        ]
    );
    assert_eq!(events[0].event_id, events[1].event_id);
    assert!(
        events[6].occurred_at <= events[4].occurred_at,
        "the stale event is older"
    );
}

#[tokio::test]
async fn with_webhooks_disabled_or_no_endpoint_refunds_still_settle() {
    let hooks = receiver().await;
    let sandbox = start(SandboxConfig {
        webhook_url: Some(hooks.uri()),
        faults: Faults {
            webhooks_enabled: false,
            ..Faults::default()
        },
        ..quick()
    })
    .await;
    let adapter = adapter(&sandbox);
    let req = request("pi_quiet", Some("1.00"), "EUR");
    adapter.refund(&req).await.expect("refund");
    let settled = settled_to(&adapter, &req, ProviderRefundStatus::Succeeded).await;
    assert_eq!(settled.status, ProviderRefundStatus::Succeeded);
    assert!(hooks
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty());

    let silent = start(quick()).await;
    let adapter = self::adapter(&silent);
    let req = request("pi_nohook", Some("1.00"), "EUR");
    adapter.refund(&req).await.expect("refund");
    assert_eq!(
        settled_to(&adapter, &req, ProviderRefundStatus::Succeeded)
            .await
            .status,
        ProviderRefundStatus::Succeeded
    );
    assert!(silent.deliveries().is_empty());
}

#[tokio::test]
async fn faults_effects_and_the_webhook_endpoint_are_reachable_over_http() {
    let hooks = receiver().await;
    let sandbox = start(quick()).await;
    let client = reqwest::Client::new();
    let base = sandbox.base_url();
    let set = post_json(
        &client,
        &format!("{base}/_sandbox/faults"),
        &json!({"fail_next": 1}),
    )
    .await;
    assert_eq!(set.status().as_u16(), 200);
    let refused = post_json(
        &client,
        &format!("{base}/_sandbox/faults"),
        &json!({"fail_nxt": 1}),
    )
    .await;
    assert_eq!(refused.status().as_u16(), 400);
    let endpoint = post_json(
        &client,
        &format!("{base}/_sandbox/webhook_endpoint"),
        &json!({"url": hooks.uri()}),
    )
    .await;
    assert_eq!(endpoint.status().as_u16(), 200);
    let adapter = adapter(&sandbox);
    let req = request("pi_http", Some("1.00"), "EUR");
    assert_eq!(
        outcome(&adapter.refund(&req).await),
        "unknown",
        "the 503 of fail_next"
    );
    adapter.refund(&req).await.expect("the fault is used up");
    assert_eq!(received(&hooks, 3).await.len(), 3);
    let effects: Value = get_json(&client, &format!("{base}/_sandbox/effects")).await;
    assert_eq!(effects[0]["reference"], req.refund_id.to_string());
    let deliveries: Value = get_json(&client, &format!("{base}/_sandbox/webhooks")).await;
    assert_eq!(deliveries.as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn the_simulator_keeps_at_most_its_cap_and_never_evicts_an_unsettled_refund() {
    let sandbox = start(SandboxConfig {
        max_refunds: 3,
        ..quick()
    })
    .await;
    let adapter = adapter(&sandbox);
    let stuck = request("pi_cap_stuck", Some("90.90"), "EUR");
    assert_eq!(outcome(&adapter.refund(&stuck).await), "ok processing");
    let settled: Vec<ProviderRefundRequest> = (0..6)
        .map(|n| request(&format!("pi_cap_{n}"), Some("70.70"), "EUR"))
        .collect();
    for req in &settled {
        assert_eq!(outcome(&adapter.refund(req).await), "ok succeeded");
    }
    assert_eq!(sandbox.retained_refunds(), 3);
    let references: Vec<String> = sandbox.effects().into_iter().map(|e| e.reference).collect();
    assert_eq!(references.first(), Some(&stuck.refund_id.to_string()));
    assert_eq!(
        outcome(&adapter.refund_status(&stuck).await),
        "ok processing"
    );
    assert_eq!(
        outcome(&adapter.refund_status(&settled[0]).await),
        "ok not_found"
    );
}

#[tokio::test]
async fn unsettled_refunds_may_exceed_the_cap_rather_than_be_forgotten() {
    let sandbox = start(SandboxConfig {
        max_refunds: 2,
        ..quick()
    })
    .await;
    let adapter = adapter(&sandbox);
    for n in 0..4 {
        let req = request(&format!("pi_unsettled_{n}"), Some("90.90"), "EUR");
        assert_eq!(outcome(&adapter.refund(&req).await), "ok processing");
    }
    assert_eq!(sandbox.retained_refunds(), 4);
}

#[tokio::test]
async fn a_refund_evicted_at_once_is_still_answered_whole() {
    let sandbox = start(SandboxConfig {
        max_refunds: 1,
        ..quick()
    })
    .await;
    let adapter = adapter(&sandbox);
    let stuck = request("pi_evict_stuck", Some("90.90"), "EUR");
    assert_eq!(outcome(&adapter.refund(&stuck).await), "ok processing");
    let settled = request("pi_evict_now", Some("70.70"), "EUR");
    assert_eq!(outcome(&adapter.refund(&settled).await), "ok succeeded");
    assert_eq!(sandbox.retained_refunds(), 1);
}
