//! The adapter against wiremock: every documented status and error of Stripe's answers, the
//! status query's pagination, the integrity checks, and what is refused before sending.

#[path = "support/helpers.rs"]
mod helpers;

use helpers::{documented_request, fixture, provider, FIXTURE_REFUND_ID, PAYMENT_INTENT};
use refund_provider::testkit::RequestBuilder;
use refund_provider::{ProviderError, ProviderRefund, ProviderRefundStatus, RefundProvider};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn server(http_method: &str, status: u16, body: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method(http_method))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(&server)
        .await;
    server
}

fn outcome(result: &Result<ProviderRefund, ProviderError>) -> String {
    match result {
        Ok(refund) => format!("ok {}", refund.status.as_str()),
        Err(ProviderError::Rejected { code, .. }) => format!("rejected {code}"),
        Err(e) => e.kind().to_owned(),
    }
}

fn ours(status: &str) -> Value {
    let mut refund = fixture("refund-ours.json");
    refund["status"] = status.into();
    refund
}

#[tokio::test]
async fn every_documented_error_answer_of_the_create_call_is_classified_as_design_says() {
    let table: &[(u16, &str, &str)] = &[
        (
            402,
            "error-card-declined.json",
            "rejected provider_declined",
        ),
        (
            400,
            "error-amount-too-large.json",
            "rejected amount_invalid",
        ),
        (
            400,
            "error-charge-already-refunded.json",
            "rejected provider_rejected",
        ),
        (
            400,
            "error-resource-missing.json",
            "rejected provider_rejected",
        ),
        (
            404,
            "error-resource-missing.json",
            "rejected provider_rejected",
        ),
        (409, "error-idempotency-key-in-use.json", "unknown"),
        (400, "error-idempotency-mismatch.json", "unknown"),
        (429, "error-rate-limit.json", "not_sent"),
        (401, "error-invalid-api-key.json", "misconfigured"),
        (500, "error-api-error.json", "unknown"),
        (503, "error-api-error.json", "unknown"),
    ];
    for (status, file, expected) in table {
        let server = server("POST", *status, fixture(file)).await;
        let result = provider(&server.uri(), None, None)
            .refund(&documented_request())
            .await;
        assert_eq!(
            &outcome(&result),
            expected,
            "HTTP {status} {file}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_refusal_keeps_stripes_type_code_param_and_message() {
    let server = server("POST", 400, fixture("error-charge-already-refunded.json")).await;
    let result = provider(&server.uri(), None, None)
        .refund(&documented_request())
        .await;
    let Err(ProviderError::Rejected { message, .. }) = result else {
        panic!("expected a rejection, got {result:?}");
    };
    assert!(message.contains("charge_already_refunded"), "{message}");
    assert!(message.contains("has already been refunded"), "{message}");
}

#[tokio::test]
async fn an_answer_that_is_not_ours_or_not_readable_is_unknown() {
    let mut other_reference = ours("succeeded");
    other_reference["metadata"]["gateway_refund_id"] = "rf_01a22f438a3473198fa3f6454a1dfc55".into();
    let mut other_payment = ours("succeeded");
    other_payment["payment_intent"] = "pi_other".into();
    let mut no_metadata = ours("succeeded");
    no_metadata["metadata"] = Value::Null;
    let mut null_status = ours("succeeded");
    null_status["status"] = Value::Null;
    let mut upper_currency = ours("succeeded");
    upper_currency["currency"] = "USD".into();
    let mut float_amount = ours("succeeded");
    float_amount["amount"] = json!(10.5);
    for (what, body) in [
        ("another gateway refund", other_reference),
        ("another payment", other_payment),
        ("no metadata", no_metadata),
        ("a null status", null_status),
        ("an unknown status", ours("pending_review")),
        ("an upper-case currency", upper_currency),
        ("a fractional amount", float_amount),
        ("a charge object", fixture("event-plan-created.json")),
    ] {
        let server = server("POST", 200, body).await;
        let result = provider(&server.uri(), None, None)
            .refund(&documented_request())
            .await;
        assert_eq!(outcome(&result), "unknown", "{what}: {result:?}");
    }
}

#[tokio::test]
async fn what_stripe_could_not_take_is_refused_before_sending() {
    let server = server("POST", 200, ours("succeeded")).await;
    let adapter = provider(&server.uri(), None, None);
    let cases = [
        (
            RequestBuilder::new(PAYMENT_INTENT, "KWD")
                .amount("5.124")
                .build(),
            "amount_invalid",
            "amount",
        ),
        (
            RequestBuilder::new(PAYMENT_INTENT, "MGA")
                .amount("10.50")
                .build(),
            "amount_invalid",
            "amount",
        ),
        (
            RequestBuilder::new(PAYMENT_INTENT, "USD")
                .amount("1.00")
                .options(json!({"reason": "Product return"}))
                .build(),
            "parameter_invalid",
            "provider_options.stripe.reason",
        ),
        (
            RequestBuilder::new(PAYMENT_INTENT, "USD")
                .amount("1.00")
                .options(json!({"refund_application_fee": true}))
                .build(),
            "parameter_invalid",
            "provider_options.stripe.refund_application_fee",
        ),
    ];
    let reserved = RequestBuilder::new(PAYMENT_INTENT, "USD")
        .amount("1.00")
        .merchant("acme")
        .metadata("merchant_id", "globex")
        .build();
    let too_long = RequestBuilder::new(PAYMENT_INTENT, "USD")
        .amount("1.00")
        .metadata(&"k".repeat(41), "v")
        .build();
    let param = format!("metadata.{}", "k".repeat(41));
    let cases = cases.into_iter().chain([
        (reserved, "parameter_invalid", "metadata.merchant_id"),
        (too_long, "parameter_invalid", param.as_str()),
    ]);
    for (req, code, param) in cases {
        let invalid = adapter.validate(&req).expect_err("refused");
        assert_eq!(
            (invalid.code.as_str(), invalid.param.as_deref()),
            (code, Some(param))
        );
        assert_eq!(
            outcome(&adapter.refund(&req).await),
            format!("rejected {code}")
        );
    }
    assert!(server
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty());
}

fn page(data: Vec<Value>, has_more: bool) -> Value {
    json!({"object": "list", "url": "/v1/refunds", "has_more": has_more, "data": data})
}

fn someone_elses(id: &str) -> Value {
    let mut refund = ours("succeeded");
    refund["id"] = id.into();
    refund["metadata"] = json!({"gateway_refund_id": "rf_01a22f438a3473198fa3f6454a1dfc55"});
    refund
}

#[tokio::test]
async fn the_status_query_lists_the_payments_refunds_page_by_page_and_matches_our_metadata() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/refunds"))
        .and(query_param("payment_intent", PAYMENT_INTENT))
        .and(query_param("limit", "100"))
        .and(query_param_is_missing("starting_after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(
            vec![someone_elses("re_3"), someone_elses("re_2")],
            true,
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/refunds"))
        .and(query_param("starting_after", "re_2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![ours("pending")], false)))
        .mount(&server)
        .await;
    let found = provider(&server.uri(), None, None)
        .refund_status(&documented_request())
        .await
        .expect("status");
    assert_eq!(found.status, ProviderRefundStatus::Processing);
    assert_eq!(found.provider_reference.as_deref(), Some(FIXTURE_REFUND_ID));
    let requests = server.received_requests().await.expect("recording");
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0]
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer sk_test_fixture")
    );
}

#[tokio::test]
async fn a_known_stripe_refund_id_is_read_directly_without_listing_the_payment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/refunds/re_1Nispe2eZvKYlo2Cd31jOCgZ"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ours("succeeded")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(Vec::new(), false)))
        .expect(0)
        .mount(&server)
        .await;
    let mut req = documented_request();
    req.provider_refund_id = Some("re_1Nispe2eZvKYlo2Cd31jOCgZ".into());
    let adapter = provider(&server.uri(), None, None);
    let found = adapter.refund_status(&req).await.expect("status");
    assert_eq!(found.status, ProviderRefundStatus::Succeeded);
    assert_eq!(found.provider_reference.as_deref(), Some(FIXTURE_REFUND_ID));
    assert_eq!(
        server.received_requests().await.map(|r| r.len()),
        Some(1),
        "one request"
    );

    // What that read may conclude: not found, someone else's refund, or a refusal of ours.
    let table: &[(u16, Value, &str)] = &[
        (404, fixture("error-resource-missing.json"), "ok not_found"),
        (200, someone_elses("re_1Nispe2eZvKYlo2Cd31jOCgZ"), "unknown"),
        (401, fixture("error-invalid-api-key.json"), "misconfigured"),
        (500, fixture("error-api-error.json"), "unknown"),
    ];
    for (status, body, expected) in table {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/refunds/re_1Nispe2eZvKYlo2Cd31jOCgZ"))
            .respond_with(ResponseTemplate::new(*status).set_body_json(body.clone()))
            .mount(&server)
            .await;
        let result = provider(&server.uri(), None, None)
            .refund_status(&req)
            .await;
        assert_eq!(&outcome(&result), expected, "HTTP {status} {body}");
    }
}

#[tokio::test]
async fn a_stripe_refund_id_is_one_whole_path_segment_and_a_dot_segment_is_never_put_in_the_path() {
    // An id with `/`, `?` or `%` stays one segment of /v1/refunds/{id}.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![ours("pending")], false)))
        .mount(&server)
        .await;
    let adapter = provider(&server.uri(), None, None);
    let mut req = documented_request();
    req.provider_refund_id = Some("re_1/../x?y%".into());
    let _ = adapter.refund_status(&req).await;
    // `.` and `..` would name /v1/refunds or /v1 however encoded: the payment's refunds are
    // listed instead.
    for dots in [".", ".."] {
        req.provider_refund_id = Some(dots.into());
        let found = adapter.refund_status(&req).await.expect(dots);
        assert_eq!(found.status, ProviderRefundStatus::Processing, "{dots}");
    }
    let paths: Vec<String> = server
        .received_requests()
        .await
        .expect("recording")
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        paths,
        [
            "/v1/refunds/re_1%2F..%2Fx%3Fy%25",
            "/v1/refunds",
            "/v1/refunds"
        ]
    );
}

#[tokio::test]
async fn a_charge_is_queried_by_charge() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/refunds"))
        .and(query_param("charge", helpers::CHARGE))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(Vec::new(), false)))
        .mount(&server)
        .await;
    let req = RequestBuilder::new(helpers::CHARGE, "USD")
        .amount("1.00")
        .build();
    let found = provider(&server.uri(), None, None)
        .refund_status(&req)
        .await
        .expect("status");
    assert_eq!(found.status, ProviderRefundStatus::NotFound);
}

#[tokio::test]
async fn the_status_query_concludes_not_found_unknown_or_misconfigured_never_a_rejection() {
    let twice = page(vec![ours("succeeded"), ours("succeeded")], false);
    let table: &[(u16, Value, &str)] = &[
        (200, page(Vec::new(), false), "ok not_found"),
        (
            200,
            page(vec![someone_elses("re_9")], false),
            "ok not_found",
        ),
        (400, fixture("error-resource-missing.json"), "ok not_found"),
        (404, fixture("error-resource-missing.json"), "ok not_found"),
        (200, twice, "unknown"),
        (200, page(Vec::new(), true), "unknown"),
        (200, json!({"object": "refund"}), "unknown"),
        (400, fixture("error-amount-too-large.json"), "unknown"),
        (402, fixture("error-card-declined.json"), "unknown"),
        (401, fixture("error-invalid-api-key.json"), "misconfigured"),
        (429, fixture("error-rate-limit.json"), "not_sent"),
        (500, fixture("error-api-error.json"), "unknown"),
    ];
    for (status, body, expected) in table {
        let server = server("GET", *status, body.clone()).await;
        let result = provider(&server.uri(), None, None)
            .refund_status(&documented_request())
            .await;
        assert_eq!(&outcome(&result), expected, "HTTP {status} {body}");
    }
}

#[tokio::test]
async fn a_refund_older_than_twenty_hours_is_looked_up_never_sent_again() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/refunds"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(page(vec![ours("succeeded")], false)),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ours("succeeded")))
        .expect(0)
        .mount(&server)
        .await;
    let mut old = documented_request();
    old.created_at -= time::Duration::hours(21);
    let adapter = provider(&server.uri(), None, None);
    assert_eq!(outcome(&adapter.refund(&old).await), "ok succeeded");

    let empty = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(Vec::new(), false)))
        .mount(&empty)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ours("succeeded")))
        .expect(0)
        .mount(&empty)
        .await;
    let result = provider(&empty.uri(), None, None).refund(&old).await;
    assert_eq!(outcome(&result), "unknown", "{result:?}");

    let mut recent = documented_request();
    recent.created_at -= time::Duration::hours(19);
    let fresh = server_answering_post().await;
    assert_eq!(
        outcome(&provider(&fresh.uri(), None, None).refund(&recent).await),
        "ok succeeded"
    );
}

async fn server_answering_post() -> MockServer {
    server("POST", 200, ours("succeeded")).await
}

#[tokio::test]
async fn a_failed_refund_carries_stripes_failure_reason() {
    let mut failed = ours("failed");
    failed["failure_reason"] = "insufficient_funds".into();
    let server = server("POST", 200, failed).await;
    let refund = provider(&server.uri(), None, None)
        .refund(&documented_request())
        .await
        .expect("refund");
    let failure = refund.failure.expect("failure");
    assert_eq!(failure.code.as_str(), "provider_failed");
    assert!(
        failure.message.contains("insufficient_funds"),
        "{}",
        failure.message
    );
}
