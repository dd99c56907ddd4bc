//! The AuthMS adapter against wiremock: exact requests sent, every documented status and
//! error classified, the transfer's double-entry check, validation and the status query.

use std::time::Duration;

use provider_authms::AuthMsProvider;
use refund_provider::testkit::RequestBuilder;
use refund_provider::{
    Currency, FailureCode, Money, ProviderError, ProviderRefundRequest, ProviderRefundStatus,
    RefundProvider, SecretString,
};
use serde_json::{json, Value};
use time::OffsetDateTime;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "test-authms-token";

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../fixtures/authms/", $name))
    };
}

fn provider(base_url: &str) -> AuthMsProvider {
    AuthMsProvider::new(base_url, SecretString::from(TOKEN), Duration::from_secs(2))
        .expect("provider")
        .with_transfer_source_user_id("usr_merchant")
}

fn cny() -> Currency {
    Currency::parse("CNY").expect("cny")
}

fn request(amount: Option<&str>) -> ProviderRefundRequest {
    let builder = RequestBuilder::new("txn_abc123", "CNY")
        .reason("商品退货")
        .customer("usr_abc123");
    match amount {
        Some(amount) => builder.amount(amount).build(),
        None => builder.build(),
    }
}

fn transfer_request(amount: Option<&str>) -> ProviderRefundRequest {
    let mut req = request(amount);
    req.options = json!({"method": "transfer"});
    req.customer_id = Some("usr_xyz456".into());
    req
}

/// A refund answer for `req` with the given transaction status.
fn refund_answer(req: &ProviderRefundRequest, status: &str) -> Value {
    let mut answer: Value = serde_json::from_str(fixture!("refund-response.json")).expect("json");
    answer["data"]["transaction"]["reference_id"] = json!(req.provider_reference);
    answer["data"]["transaction"]["status"] = json!(status);
    answer
}

async fn mount(server: &MockServer, status: u16, body: Value) {
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_wallet_refund_sends_the_documented_request_and_succeeds_on_completed() {
    let server = MockServer::start().await;
    let req = request(Some("50"));
    Mock::given(method("POST"))
        .and(path("/wallets/usr_abc123/refund"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "transaction_id": "txn_abc123",
            "amount": "50.00",
            "reason": "商品退货",
            "reference_id": req.refund_id.to_string(),
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(refund_answer(&req, "completed")))
        .expect(1)
        .mount(&server)
        .await;

    let refund = provider(&server.uri()).refund(&req).await.expect("refund");

    assert_eq!(refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(refund.raw_status, "completed");
    assert_eq!(refund.provider_refund_id.as_deref(), Some("txn_rfd789"));
    assert_eq!(
        refund.provider_reference.as_deref(),
        Some(req.provider_reference.as_str())
    );
    assert_eq!(
        refund.amount,
        Some(Money::parse("50.00", cny()).expect("money"))
    );
    assert_eq!(refund.failure, None);
}

#[tokio::test]
async fn a_full_refund_sends_no_amount_and_the_user_id_is_percent_encoded() {
    let server = MockServer::start().await;
    let mut req = request(None);
    req.customer_id = Some("usr/a b?".into());
    mount(&server, 200, refund_answer(&req, "completed")).await;

    provider(&server.uri()).refund(&req).await.expect("refund");

    let received = server.received_requests().await.expect("recorded");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].url.path(), "/wallets/usr%2Fa%20b%3F/refund");
    let body: Value = serde_json::from_slice(&received[0].body).expect("json body");
    assert_eq!(
        body,
        json!({"transaction_id": "txn_abc123", "reason": "商品退货", "reference_id": req.provider_reference})
    );
}

#[tokio::test]
async fn every_documented_transaction_status_is_mapped() {
    for (status, expected) in [
        ("completed", ProviderRefundStatus::Succeeded),
        ("pending", ProviderRefundStatus::Processing),
        ("processing", ProviderRefundStatus::Processing),
        ("failed", ProviderRefundStatus::Failed),
        ("under_review", ProviderRefundStatus::Processing),
    ] {
        let server = MockServer::start().await;
        let req = request(Some("50.00"));
        mount(&server, 200, refund_answer(&req, status)).await;
        let refund = provider(&server.uri()).refund(&req).await.expect("refund");
        assert_eq!(refund.status, expected, "{status}");
        assert_eq!(refund.raw_status, status);
        assert_eq!(
            refund.failure.is_some(),
            expected == ProviderRefundStatus::Failed,
            "{status}"
        );
    }
}

#[tokio::test]
async fn every_documented_error_is_classified_with_the_providers_message() {
    let cases = [
        (
            400,
            fixture!("error-400.json"),
            ProviderError::rejected(FailureCode::ProviderRejected, "请求参数错误"),
        ),
        (
            409,
            fixture!("error-409.json"),
            ProviderError::rejected(FailureCode::InsufficientBalance, "余额不足"),
        ),
        (
            422,
            fixture!("error-422.json"),
            ProviderError::rejected(FailureCode::AmountInvalid, "金额无效"),
        ),
        (
            404,
            r#"{"code":404,"message":"wallet not found"}"#,
            ProviderError::rejected(FailureCode::ProviderRejected, "wallet not found"),
        ),
    ];
    for (status, body, expected) in cases {
        let server = MockServer::start().await;
        mount(&server, status, serde_json::from_str(body).expect("json")).await;
        let err = provider(&server.uri())
            .refund(&request(Some("50")))
            .await
            .expect_err("error");
        assert_eq!(err, expected, "{status}");
    }
    for (status, body) in [
        (401, fixture!("error-401.json")),
        (500, fixture!("error-500.json")),
    ] {
        let server = MockServer::start().await;
        mount(&server, status, serde_json::from_str(body).expect("json")).await;
        let err = provider(&server.uri())
            .refund(&request(Some("50")))
            .await
            .expect_err("error");
        match (status, &err) {
            (401, ProviderError::Misconfigured { message }) => {
                assert!(message.contains("未认证或令牌无效"), "{message}");
                assert!(!message.contains(TOKEN));
            }
            (500, ProviderError::Unknown { cause }) => assert!(cause.contains("500"), "{cause}"),
            _ => panic!("{status}: unexpected {err:?}"),
        }
    }
}

#[tokio::test]
async fn a_timeout_after_sending_is_an_unknown_outcome() {
    let server = MockServer::start().await;
    let req = request(Some("50"));
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(refund_answer(&req, "completed"))
                .set_delay(Duration::from_millis(800)),
        )
        .mount(&server)
        .await;
    let provider = AuthMsProvider::new(
        &server.uri(),
        SecretString::from(TOKEN),
        Duration::from_millis(200),
    )
    .expect("provider");
    assert!(matches!(
        provider.refund(&req).await,
        Err(ProviderError::Unknown { .. })
    ));
}

#[tokio::test]
async fn answers_that_do_not_describe_this_refund_are_unknown() {
    let req = request(Some("50"));
    let mut wrong_type = refund_answer(&req, "completed");
    wrong_type["data"]["transaction"]["type"] = json!("deposit");
    let mut wrong_reference = refund_answer(&req, "completed");
    wrong_reference["data"]["transaction"]["reference_id"] = json!("rf_someone_else");
    let mut float_amount = refund_answer(&req, "completed");
    float_amount["data"]["transaction"]["amount"] = json!("50.001");
    let mut no_status = refund_answer(&req, "completed");
    no_status["data"]["transaction"]
        .as_object_mut()
        .expect("object")
        .remove("status");
    let no_transaction = json!({"code": 200, "data": {}, "message": "success"});
    for (name, answer) in [
        ("wrong type", wrong_type),
        ("wrong reference", wrong_reference),
        ("amount beyond the exponent", float_amount),
        ("no status", no_status),
        ("no transaction", no_transaction),
    ] {
        let server = MockServer::start().await;
        mount(&server, 200, answer).await;
        let result = provider(&server.uri()).refund(&req).await;
        assert!(
            matches!(result, Err(ProviderError::Unknown { .. })),
            "{name}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_transfer_sends_the_documented_body_and_checks_the_double_entry() {
    let server = MockServer::start().await;
    let req = transfer_request(Some("100"));
    let mut answer: Value = serde_json::from_str(fixture!("transfer-response.json")).expect("json");
    answer["data"]["to_transaction"]["description"] =
        json!(format!("refund {}: 商品退货", req.provider_reference));
    Mock::given(method("POST"))
        .and(path("/wallets/transfer"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(json!({
            "amount": "100.00",
            "from_user_id": "usr_merchant",
            "to_user_id": "usr_xyz456",
            "description": format!("refund {}: 商品退货", req.refund_id),
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(&server)
        .await;

    let refund = provider(&server.uri())
        .refund(&req)
        .await
        .expect("transfer");

    assert_eq!(refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(refund.provider_refund_id.as_deref(), Some("txn_in001"));
    assert_eq!(
        refund.provider_reference.as_deref(),
        Some(req.provider_reference.as_str())
    );
    assert_eq!(
        refund.amount,
        Some(Money::parse("100", cny()).expect("money"))
    );
}

#[tokio::test]
async fn a_transfer_answer_that_does_not_balance_is_unknown_with_a_clear_cause() {
    let documented: Value = serde_json::from_str(fixture!("transfer-response.json")).expect("json");
    let mut from_short = documented.clone();
    from_short["data"]["from_transaction"]["balance_after"] = json!("900.01");
    let mut to_short = documented.clone();
    to_short["data"]["to_transaction"]["balance_after"] = json!("999.99");
    let mut amounts_differ = documented.clone();
    amounts_differ["data"]["to_transaction"]["amount"] = json!("10.00");
    let mut other_amount = documented.clone();
    for leg in ["from_transaction", "to_transaction"] {
        other_amount["data"][leg]["amount"] = json!("90.00");
    }
    other_amount["data"]["from_transaction"]["balance_after"] = json!("910.00");
    other_amount["data"]["to_transaction"]["balance_after"] = json!("990.00");
    for (name, answer) in [
        ("from leg", from_short),
        ("to leg", to_short),
        ("leg amounts", amounts_differ),
        ("amount asked", other_amount),
    ] {
        let server = MockServer::start().await;
        mount(&server, 200, answer).await;
        match provider(&server.uri())
            .refund(&transfer_request(Some("100")))
            .await
        {
            Err(ProviderError::Unknown { cause }) => {
                assert!(cause.contains("double entry"), "{name}: {cause}")
            }
            other => panic!("{name}: expected Unknown, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_transfer_the_source_cannot_cover_is_insufficient_balance() {
    let server = MockServer::start().await;
    mount(
        &server,
        409,
        serde_json::from_str(fixture!("error-409.json")).expect("json"),
    )
    .await;
    let err = provider(&server.uri())
        .refund(&transfer_request(Some("100")))
        .await
        .expect_err("409");
    assert_eq!(
        err,
        ProviderError::rejected(FailureCode::InsufficientBalance, "余额不足")
    );
}

#[tokio::test]
async fn validation_refuses_what_authms_cannot_take_before_anything_is_sent() {
    let server = MockServer::start().await;
    let adapter = provider(&server.uri());
    let unconfigured = AuthMsProvider::new(
        &server.uri(),
        SecretString::from(TOKEN),
        Duration::from_secs(1),
    )
    .expect("provider");

    let mut no_customer = request(Some("1"));
    no_customer.customer_id = None;
    let mut bad_method = request(Some("1"));
    bad_method.options = json!({"method": "chargeback"});
    let mut unknown_field = request(Some("1"));
    unknown_field.options = json!({"method": "refund", "wallet": "x"});
    let mut usd = request(None);
    usd.currency = Currency::parse("USD").expect("usd");
    let mut to_itself = transfer_request(Some("1"));
    to_itself.customer_id = Some("usr_merchant".into());

    let cases = [
        (&adapter, no_customer, "parameter_missing", "customer_id"),
        (
            &adapter,
            bad_method,
            "parameter_invalid",
            "provider_options.authms.method",
        ),
        (
            &adapter,
            unknown_field,
            "parameter_invalid",
            "provider_options.authms.wallet",
        ),
        (&adapter, usd, "currency_unsupported", "currency"),
        (
            &adapter,
            transfer_request(None),
            "parameter_missing",
            "amount",
        ),
        (&adapter, to_itself, "parameter_invalid", "customer_id"),
        (
            &unconfigured,
            transfer_request(Some("1")),
            "parameter_invalid",
            "provider_options.authms.method",
        ),
    ];
    for (provider, req, code, param) in cases {
        let invalid = provider.validate(&req).expect_err(param);
        assert_eq!(
            (invalid.code.as_str(), invalid.param.as_deref()),
            (code, Some(param))
        );
        if code != "currency_unsupported" {
            let err = provider.refund(&req).await.expect_err("refused");
            assert!(matches!(err, ProviderError::Rejected { .. }), "{err:?}");
        }
    }
    assert!(adapter.validate(&request(None)).is_ok());
    assert!(adapter.validate(&transfer_request(Some("1"))).is_ok());
    assert!(server
        .received_requests()
        .await
        .expect("recorded")
        .is_empty());
}

#[tokio::test]
async fn the_status_query_asks_for_the_reference_and_maps_the_transaction() {
    let server = MockServer::start().await;
    let req = request(Some("50"));
    let mut answer: Value =
        serde_json::from_str(fixture!("transactions-response.json")).expect("json");
    answer["data"][0]["reference_id"] = json!(req.provider_reference);
    Mock::given(method("GET"))
        .and(path("/wallets/usr_abc123/transactions"))
        .and(query_param("reference_id", req.provider_reference.as_str()))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(&server)
        .await;

    let refund = provider(&server.uri())
        .refund_status(&req)
        .await
        .expect("status");

    assert_eq!(refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(refund.provider_refund_id.as_deref(), Some("txn_rfd789"));
    assert_eq!(
        refund.amount,
        Some(Money::parse("50.00", cny()).expect("money"))
    );
}

#[tokio::test]
async fn the_status_query_reports_not_found_for_no_transaction_or_no_wallet() {
    let req = request(Some("50"));
    let empty = json!({"code": 200, "data": [], "message": "success", "timestamp": "t"});
    let other = json!({"code": 200, "data": [{"id": "txn_x", "reference_id": "rf_other", "type": "refund", "status": "completed"}]});
    for (status, answer) in [
        (200, empty),
        (200, other),
        (404, json!({"code": 404, "message": "wallet not found"})),
        (
            404,
            serde_json::from_str(fixture!("error-404.json")).expect("json"),
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status).set_body_json(answer))
            .mount(&server)
            .await;
        let refund = provider(&server.uri())
            .refund_status(&req)
            .await
            .expect("status");
        assert_eq!(refund.status, ProviderRefundStatus::NotFound);
    }
}

#[tokio::test]
async fn a_status_query_404_that_authms_did_not_write_is_unknown_never_not_found() {
    let req = request(Some("50"));
    let bodies: [(&str, &str); 4] = [
        ("text/html", "<html><body>404 Not Found</body></html>"),
        ("text/plain", ""),
        (
            "application/json",
            r#"{"message":"no Route matched with those values"}"#,
        ),
        (
            "application/json",
            r#"{"timestamp":"2026-04-15T10:30:00Z","status":404,"error":"Not Found","path":"/wallets"}"#,
        ),
    ];
    for (content_type, body) in bodies {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(404)
                    .insert_header("content-type", content_type)
                    .set_body_string(body),
            )
            .mount(&server)
            .await;
        let result = provider(&server.uri()).refund_status(&req).await;
        assert!(
            matches!(result, Err(ProviderError::Unknown { .. })),
            "{body}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_transfers_status_is_found_on_the_customers_wallet_by_its_description() {
    let server = MockServer::start().await;
    let req = transfer_request(Some("100"));
    let answer = json!({"code": 200, "data": [{
        "id": "txn_in001", "amount": "100.00", "currency": "CNY", "status": "completed",
        "type": "transfer_in", "reference_id": "",
        "description": format!("refund {}: 商品退货", req.provider_reference)
    }]});
    Mock::given(method("GET"))
        .and(path("/wallets/usr_xyz456/transactions"))
        .and(query_param("reference_id", req.provider_reference.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(&server)
        .await;
    let refund = provider(&server.uri())
        .refund_status(&req)
        .await
        .expect("status");
    assert_eq!(refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(refund.provider_refund_id.as_deref(), Some("txn_in001"));
}

#[tokio::test]
async fn two_transactions_with_one_reference_are_reported_as_unknown() {
    let server = MockServer::start().await;
    let req = request(Some("50"));
    let tx = json!({"id": "txn_1", "reference_id": req.provider_reference, "type": "refund", "status": "completed", "amount": "50.00"});
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"code": 200, "data": [tx.clone(), tx]})),
        )
        .mount(&server)
        .await;
    match provider(&server.uri()).refund_status(&req).await {
        Err(ProviderError::Unknown { cause }) => {
            assert!(cause.contains("more than once"), "{cause}")
        }
        other => panic!("expected Unknown, got {other:?}"),
    }
}

#[tokio::test]
async fn capabilities_say_authms_proves_neither_absence_nor_deduplication_and_sends_no_webhooks() {
    let adapter = provider("http://127.0.0.1:9")
        .with_currencies(vec![cny(), Currency::parse("JPY").expect("jpy")]);
    let caps = adapter.capabilities();
    assert_eq!(
        caps.currencies,
        Some(vec![cny(), Currency::parse("JPY").expect("jpy")])
    );
    assert!(caps.partial && caps.full_without_amount && caps.status_query);
    assert!(!caps.webhooks);
    let proofs = adapter.proofs();
    assert!(!proofs.not_found_proves_absence && !proofs.resend_is_deduplicated);
    assert!(proofs.answers_carry_amount);
    assert_eq!(adapter.id().as_str(), "authms");
    let webhook = adapter.parse_webhook(&http::HeaderMap::new(), b"{}", OffsetDateTime::now_utc());
    assert_eq!(
        webhook,
        Err(ProviderError::invalid_webhook("AuthMS sends no webhooks"))
    );
}
