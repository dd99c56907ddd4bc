//! The adapter against wiremock: the exact request it sends, every documented status and
//! error, and the classification of every failure.

use std::time::Duration;

use provider_efundpay::EfundpayProvider;
use refund_provider::testkit::RequestBuilder;
use refund_provider::{
    PaymentId, ProviderError, ProviderRefundRequest, ProviderRefundStatus, RefundId,
    RefundProvider, SecretString,
};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PAYMENT: &str = "7099948d-7286-47e4-aad8-b68f7eb44591";
const REFUNDS_PATH: &str = "/v4/transactions/7099948d-7286-47e4-aad8-b68f7eb44591/refunds";
const WEBHOOKS_URL: &str = "https://gateway.example/v1/webhooks/efundpay";

fn provider(server: &MockServer) -> EfundpayProvider {
    EfundpayProvider::new(
        &format!("{}/", server.uri()),
        SecretString::from("tok_live_123"),
        "default",
        SecretString::from("whsec"),
        WEBHOOKS_URL,
        Duration::from_secs(2),
    )
    .expect("provider")
}

fn request() -> ProviderRefundRequest {
    RequestBuilder::new(PAYMENT, "EUR")
        .amount("12.99")
        .reason("Product return")
        .build()
}

/// The documented refund object, for `req`, in `status`.
fn refund_json(req: &ProviderRefundRequest, status: &str) -> Value {
    json!({
        "type": "refund",
        "id": "6a1d4e46-14ed-4fe1-a45f-eff4e025d211",
        "transaction_id": req.payment_id.as_str(),
        "status": status,
        "currency": "EUR",
        "amount": 1299,
        "reason": "Product return",
        "external_identifier": req.provider_reference,
        "transaction_external_identifier": "transaction-12345",
        "created_at": "2013-07-16T19:23:00.000+00:00"
    })
}

async fn answer_create(server: &MockServer, status: u16, body: Value) {
    Mock::given(method("POST"))
        .and(path(REFUNDS_PATH))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

async fn answer_list(server: &MockServer, status: u16, body: Value) {
    Mock::given(method("GET"))
        .and(path(REFUNDS_PATH))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

fn rejected_code(result: Result<refund_provider::ProviderRefund, ProviderError>) -> String {
    match result {
        Err(ProviderError::Rejected { code, message }) => format!("{code}: {message}"),
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn a_refund_is_posted_with_the_documented_headers_and_body() {
    let server = MockServer::start().await;
    let req = request();
    Mock::given(method("POST"))
        .and(path(REFUNDS_PATH))
        .and(header("authorization", "Bearer tok_live_123"))
        .and(header("x-merchant-account-id", "default"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "amount": 1299,
            "currency": "EUR",
            "reason": "Product return",
            "external_identifier": req.provider_reference,
            "webhooks_url": WEBHOOKS_URL
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(refund_json(&req, "processing")))
        .expect(1)
        .mount(&server)
        .await;

    let refund = provider(&server).refund(&req).await.expect("refund");
    assert_eq!(refund.status, ProviderRefundStatus::Processing);
    assert_eq!(
        refund.provider_refund_id.as_deref(),
        Some("6a1d4e46-14ed-4fe1-a45f-eff4e025d211")
    );
    assert_eq!(
        refund.provider_reference.as_deref(),
        Some(req.provider_reference.as_str())
    );
    assert_eq!(refund.amount, req.amount);
    server.verify().await;
}

#[tokio::test]
async fn the_reason_defaults_and_bank_detail_is_sent_for_promptpay() {
    let server = MockServer::start().await;
    let mut req = request();
    req.reason = None;
    req.options = json!({"payment_method": "promptpay",
        "bank_detail": {"bank_code": "014", "bank_account_name": "Jack", "bank_account_no": "5015377989"}});
    answer_create(&server, 201, refund_json(&req, "processing")).await;
    provider(&server).refund(&req).await.expect("refund");

    let sent = server.received_requests().await.expect("recorded");
    let body: Value = serde_json::from_slice(&sent[0].body).expect("json body");
    assert_eq!(body["reason"], json!("requested_by_customer"));
    assert_eq!(
        body["bank_detail"],
        json!({"bank_code": "014", "bank_account_name": "Jack", "bank_account_no": "5015377989"})
    );
}

#[tokio::test]
async fn every_documented_status_maps_to_the_gateway_status() {
    let table = [
        ("processing", ProviderRefundStatus::Processing, None),
        ("succeeded", ProviderRefundStatus::Succeeded, None),
        (
            "failed",
            ProviderRefundStatus::Failed,
            Some("provider_failed"),
        ),
        (
            "declined",
            ProviderRefundStatus::Failed,
            Some("provider_declined"),
        ),
        ("voided", ProviderRefundStatus::Canceled, None),
    ];
    for (word, status, code) in table {
        let server = MockServer::start().await;
        let req = request();
        answer_create(&server, 200, refund_json(&req, word)).await;
        let refund = provider(&server).refund(&req).await.expect(word);
        assert_eq!(refund.status, status, "{word}");
        assert_eq!(refund.raw_status, word);
        assert_eq!(
            refund
                .failure
                .map(|f| f.code.as_str().to_owned())
                .as_deref(),
            code,
            "{word}"
        );
    }
}

#[tokio::test]
async fn an_unknown_status_word_is_an_unknown_outcome_naming_the_word() {
    let server = MockServer::start().await;
    let req = request();
    answer_create(&server, 201, refund_json(&req, "refund_pending_review")).await;
    match provider(&server).refund(&req).await {
        Err(ProviderError::Unknown { cause }) => {
            assert!(cause.contains("refund_pending_review"), "{cause}")
        }
        other => panic!("expected Unknown, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_refund_objects_are_unknown_outcomes() {
    let req = request();
    let mut cases = Vec::new();
    for (field, value) in [
        ("amount", json!(-1299)),
        ("amount", json!(12.99)),
        ("amount", json!("1299")),
        ("currency", json!("ZZZ")),
        ("currency", json!("eur")),
        ("type", json!("payment")),
        ("status", json!(null)),
        ("external_identifier", json!("rf_someone_else")),
        ("transaction_id", json!("another-transaction")),
    ] {
        let mut body = refund_json(&req, "succeeded");
        body[field] = value.clone();
        cases.push((format!("{field}={value}"), body));
    }
    let mut missing = refund_json(&req, "succeeded");
    missing.as_object_mut().expect("object").remove("id");
    cases.push(("no id".into(), missing));
    // (An amount of 0, null or left out is read as no amount: the engine refuses to book
    // such a success, DESIGN §16; see the map's tests.)

    for (name, body) in cases {
        let server = MockServer::start().await;
        answer_create(&server, 201, body).await;
        let result = provider(&server).refund(&req).await;
        assert!(
            matches!(result, Err(ProviderError::Unknown { .. })),
            "{name}: {result:?}"
        );
    }
}

#[tokio::test]
async fn documented_client_errors_are_rejections_that_keep_the_message() {
    for status in [400, 404, 422] {
        let server = MockServer::start().await;
        answer_create(
            &server,
            status,
            json!({"type": "error", "code": "invalid_amount", "message": "amount exceeds the transaction"}),
        )
        .await;
        let text = rejected_code(provider(&server).refund(&request()).await);
        assert_eq!(
            text, "provider_rejected: invalid_amount: amount exceeds the transaction",
            "HTTP {status}"
        );
    }
    // A body that is not the JSON error shape is kept as text.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string("bad things"))
        .mount(&server)
        .await;
    let text = rejected_code(provider(&server).refund(&request()).await);
    assert!(text.contains("bad things"), "{text}");
}

#[tokio::test]
async fn auth_failures_are_misconfiguration_and_server_errors_unknown() {
    for (status, expect_misconfigured) in [
        (401, true),
        (403, true),
        (500, false),
        (502, false),
        (503, false),
    ] {
        let server = MockServer::start().await;
        answer_create(&server, status, json!({"message": "no"})).await;
        let result = provider(&server).refund(&request()).await;
        let ok = if expect_misconfigured {
            matches!(result, Err(ProviderError::Misconfigured { .. }))
        } else {
            matches!(result, Err(ProviderError::Unknown { .. }))
        };
        assert!(ok, "HTTP {status}: {result:?}");
    }
}

#[tokio::test]
async fn undocumented_statuses_are_unknown_and_rate_limits_not_sent() {
    for status in [302, 405, 410, 418] {
        let server = MockServer::start().await;
        answer_create(&server, status, json!({})).await;
        let result = provider(&server).refund(&request()).await;
        assert!(
            matches!(result, Err(ProviderError::Unknown { .. })),
            "{status}: {result:?}"
        );
    }
    let server = MockServer::start().await;
    answer_create(&server, 429, json!({"message": "slow down"})).await;
    let result = provider(&server).refund(&request()).await;
    assert!(
        matches!(result, Err(ProviderError::NotSent { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_timeout_after_sending_is_unknown() {
    let server = MockServer::start().await;
    let req = request();
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(refund_json(&req, "processing"))
                .set_delay(Duration::from_millis(800)),
        )
        .mount(&server)
        .await;
    let provider = EfundpayProvider::new(
        &server.uri(),
        SecretString::from("tok"),
        "default",
        SecretString::from("whsec"),
        WEBHOOKS_URL,
        Duration::from_millis(200),
    )
    .expect("provider");
    let result = provider.refund(&req).await;
    assert!(
        matches!(result, Err(ProviderError::Unknown { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_conflict_returns_the_refund_that_already_exists() {
    let server = MockServer::start().await;
    let req = request();
    answer_create(
        &server,
        409,
        json!({"code": "duplicate_external_identifier"}),
    )
    .await;
    let mut other = refund_json(&req, "voided");
    other["external_identifier"] = json!("rf_other");
    other["id"] = json!("other-id");
    Mock::given(method("GET"))
        .and(path(REFUNDS_PATH))
        .and(header("authorization", "Bearer tok_live_123"))
        .and(header("x-merchant-account-id", "default"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"items": [other, refund_json(&req, "succeeded")]})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let refund = provider(&server)
        .refund(&req)
        .await
        .expect("existing refund");
    assert_eq!(refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(
        refund.provider_refund_id.as_deref(),
        Some("6a1d4e46-14ed-4fe1-a45f-eff4e025d211")
    );
    server.verify().await;
}

#[tokio::test]
async fn a_conflict_whose_refund_cannot_be_found_is_unknown() {
    for (status, list) in [
        (200, json!({"items": []})),
        (500, json!({})),
        (200, json!({"things": 1})),
    ] {
        let server = MockServer::start().await;
        answer_create(&server, 409, json!({})).await;
        answer_list(&server, status, list.clone()).await;
        let result = provider(&server).refund(&request()).await;
        assert!(
            matches!(result, Err(ProviderError::Unknown { .. })),
            "{list}: {result:?}"
        );
    }
}

#[tokio::test]
async fn the_status_query_finds_our_refund_by_external_identifier() {
    let server = MockServer::start().await;
    let req = request();
    let mut other = refund_json(&req, "succeeded");
    other["external_identifier"] = json!("rf_other");
    answer_list(
        &server,
        200,
        json!({"items": [other, refund_json(&req, "voided")]}),
    )
    .await;
    let refund = provider(&server).refund_status(&req).await.expect("status");
    assert_eq!(refund.status, ProviderRefundStatus::Canceled);

    let sent = server.received_requests().await.expect("recorded");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method.as_str(), "GET");
    assert_eq!(sent[0].url.path(), REFUNDS_PATH);
    assert_eq!(
        sent[0]
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer tok_live_123")
    );
    assert_eq!(
        sent[0]
            .headers
            .get("x-merchant-account-id")
            .and_then(|v| v.to_str().ok()),
        Some("default")
    );
}

#[tokio::test]
async fn the_status_query_says_not_found_when_nothing_matches() {
    let req = request();
    let mut other = refund_json(&req, "succeeded");
    other["external_identifier"] = json!("rf_other");
    for (status, body) in [
        (200, json!({"items": []})),
        (200, json!({"items": [other]})),
        (404, json!({"message": "no such transaction"})),
    ] {
        let server = MockServer::start().await;
        answer_list(&server, status, body).await;
        let refund = provider(&server).refund_status(&req).await.expect("status");
        assert_eq!(
            refund.status,
            ProviderRefundStatus::NotFound,
            "HTTP {status}"
        );
    }
}

#[tokio::test]
async fn a_status_query_never_concludes_a_rejection() {
    for status in [400, 409, 422] {
        let server = MockServer::start().await;
        answer_list(&server, status, json!({"message": "nope"})).await;
        let result = provider(&server).refund_status(&request()).await;
        assert!(
            matches!(result, Err(ProviderError::Unknown { .. })),
            "{status}: {result:?}"
        );
    }
    let server = MockServer::start().await;
    answer_list(&server, 401, json!({})).await;
    let result = provider(&server).refund_status(&request()).await;
    assert!(
        matches!(result, Err(ProviderError::Misconfigured { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn the_payment_id_is_percent_encoded_as_one_path_segment() {
    let server = MockServer::start().await;
    let mut req = request();
    req.payment_id = PaymentId::parse("pay/1 2?x#y%").expect("id");
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []})))
        .mount(&server)
        .await;
    provider(&server).refund_status(&req).await.expect("status");
    let sent = server.received_requests().await.expect("recorded");
    assert_eq!(
        sent[0].url.path(),
        "/v4/transactions/pay%2F1%202%3Fx%23y%25/refunds"
    );
    assert_eq!(sent[0].url.query(), None);
}

#[tokio::test]
async fn a_missing_bank_detail_is_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    let provider = provider(&server);
    let mut req = request();
    req.options = json!({"payment_method": "thai_mobile_banking"});
    let invalid = provider.validate(&req).expect_err("refused");
    assert_eq!(invalid.code.as_str(), "parameter_missing");
    assert_eq!(
        invalid.param.as_deref(),
        Some("provider_options.efundpay.bank_detail")
    );
    let result = provider.refund(&req).await;
    assert!(
        matches!(result, Err(ProviderError::Rejected { .. })),
        "{result:?}"
    );
    assert!(server
        .received_requests()
        .await
        .expect("recorded")
        .is_empty());
}

#[tokio::test]
async fn validation_requires_an_amount_and_refuses_unknown_options() {
    let server = MockServer::start().await;
    let provider = provider(&server);
    let mut req = request();
    req.amount = None;
    let invalid = provider.validate(&req).expect_err("no amount");
    assert_eq!(
        (invalid.code.as_str(), invalid.param.as_deref()),
        ("parameter_missing", Some("amount"))
    );

    let mut req = request();
    req.options = json!({"method": "reversal"});
    let invalid = provider.validate(&req).expect_err("unknown option");
    assert_eq!(
        (invalid.code.as_str(), invalid.param.as_deref()),
        (
            "parameter_invalid",
            Some("provider_options.efundpay.method")
        )
    );
    assert!(provider.validate(&request()).is_ok());
}

#[test]
fn capabilities_declare_partial_refunds_with_a_required_amount() {
    let provider = EfundpayProvider::new(
        "http://127.0.0.1:9",
        SecretString::from("tok"),
        "default",
        SecretString::from("whsec"),
        WEBHOOKS_URL,
        Duration::from_secs(1),
    )
    .expect("provider");
    let caps = provider.capabilities();
    assert_eq!(caps.currencies, None);
    assert!(caps.partial && !caps.full_without_amount);
    assert!(caps.status_query && caps.webhooks);
    // Its document promises neither (DESIGN §16): `external_identifier` must be unique,
    // which is the merchant's duty, not a duplicate refusal.
    let proofs = provider.proofs();
    assert!(!proofs.not_found_proves_absence && !proofs.resend_is_deduplicated);
    assert!(proofs.answers_carry_amount);
    assert_eq!(provider.id().as_str(), "efundpay");
    let id = RefundId::generate();
    assert_eq!(provider.provider_reference(&id), id.to_string());
}

#[tokio::test]
async fn null_reason_created_at_and_transaction_external_identifier_keep_a_clear_answer() {
    let req = request();
    let mut nulls = refund_json(&req, "succeeded");
    for field in ["reason", "created_at", "transaction_external_identifier"] {
        nulls[field] = Value::Null;
    }
    let server = MockServer::start().await;
    answer_create(&server, 201, nulls.clone()).await;
    let created = provider(&server).refund(&req).await.expect("create answer");
    assert_eq!(created.status, ProviderRefundStatus::Succeeded);
    assert_eq!(created.amount, req.amount);

    let server = MockServer::start().await;
    answer_list(&server, 200, json!({"items": [nulls]})).await;
    let queried = provider(&server)
        .refund_status(&req)
        .await
        .expect("status answer");
    assert_eq!(queried.status, ProviderRefundStatus::Succeeded);
}

#[tokio::test]
async fn an_answer_amount_beyond_twelve_integer_digits_is_an_unknown_outcome() {
    let req = request();
    for amount in [json!(100_000_000_000_000_i64), json!(i64::MAX)] {
        let mut answer = refund_json(&req, "succeeded");
        answer["amount"] = amount.clone();
        let server = MockServer::start().await;
        answer_create(&server, 201, answer).await;
        let result = provider(&server).refund(&req).await;
        assert!(
            matches!(result, Err(ProviderError::Unknown { .. })),
            "{amount}: {result:?}"
        );
    }
}
