//! The exact request the adapter sends, and the documentation's answers read back.

#[path = "support/helpers.rs"]
mod helpers;

use helpers::{documented_request, fixture, fixture_text, provider, CHARGE, FIXTURE_REFUND_ID};
use provider_stripe::map::to_provider_refund;
use provider_stripe::wire::{Refund, RefundList};
use refund_provider::testkit::RequestBuilder;
use refund_provider::{ProviderRefundStatus, RefundProvider};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn answering(body: serde_json::Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    server
}

async fn sent_form(server: &MockServer) -> Vec<(String, String)> {
    let requests = server.received_requests().await.expect("recording");
    assert_eq!(requests.len(), 1, "one request");
    serde_urlencoded::from_bytes(&requests[0].body).expect("form body")
}

#[tokio::test]
async fn a_refund_posts_the_documented_form_with_the_documented_headers() {
    let server = answering(fixture("refund-ours.json")).await;
    let refund = provider(&server.uri(), Some("acme"), Some("2024-06-20"))
        .refund(&documented_request())
        .await
        .expect("refund");
    let requests = server.received_requests().await.expect("recording");
    let sent = &requests[0];
    let header = |name: &str| {
        sent.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(sent.method.as_str(), "POST");
    assert_eq!(sent.url.path(), "/v1/refunds");
    assert_eq!(
        header("authorization").as_deref(),
        Some("Bearer sk_test_fixture")
    );
    assert_eq!(
        header("idempotency-key").as_deref(),
        Some(FIXTURE_REFUND_ID)
    );
    assert_eq!(
        header("content-type").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(header("stripe-version").as_deref(), Some("2024-06-20"));
    assert_eq!(
        String::from_utf8_lossy(&sent.body),
        fixture_text("create-refund-request.txt").trim_end()
    );
    assert_eq!(refund.status, ProviderRefundStatus::Succeeded);
    assert_eq!(
        refund.provider_refund_id.as_deref(),
        Some("re_1Nispe2eZvKYlo2Cd31jOCgZ")
    );
    assert_eq!(
        refund.provider_reference.as_deref(),
        Some(FIXTURE_REFUND_ID)
    );
    assert_eq!(
        refund.amount.map(|m| m.to_string()),
        Some("10.00 USD".into())
    );
}

#[tokio::test]
async fn without_a_version_or_merchant_account_neither_is_sent() {
    let server = answering(fixture("refund-ours.json")).await;
    provider(&server.uri(), None, None)
        .refund(&documented_request())
        .await
        .expect("refund");
    let requests = server.received_requests().await.expect("recording");
    assert!(requests[0].headers.get("stripe-version").is_none());
    let form = sent_form(&server).await;
    assert!(
        form.iter().all(|(k, _)| k != "metadata[merchant_id]"),
        "{form:?}"
    );
}

#[tokio::test]
async fn the_requests_merchant_and_metadata_go_out_as_metadata_after_the_gateway_refund_id() {
    let server = answering(fixture("refund-ours.json")).await;
    let mut req = documented_request();
    req.merchant_id = Some("acme".into());
    req.metadata.insert("order".into(), "A-1001".into());
    req.metadata.insert("channel".into(), "web shop".into());
    // The default account (no merchant of its own): the request names the merchant.
    provider(&server.uri(), None, None)
        .refund(&req)
        .await
        .expect("refund");
    let metadata: Vec<(String, String)> = sent_form(&server)
        .await
        .into_iter()
        .filter(|(k, _)| k.starts_with("metadata["))
        .collect();
    assert_eq!(
        metadata,
        [
            (
                "metadata[gateway_refund_id]".to_owned(),
                FIXTURE_REFUND_ID.to_owned()
            ),
            ("metadata[merchant_id]".to_owned(), "acme".to_owned()),
            ("metadata[channel]".to_owned(), "web shop".to_owned()),
            ("metadata[order]".to_owned(), "A-1001".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_charge_is_refunded_by_charge_and_a_full_refund_sends_no_amount() {
    let mut answer = fixture("refund-ours.json");
    answer["payment_intent"] = serde_json::Value::Null;
    let server = answering(answer).await;
    let mut req = RequestBuilder::new(CHARGE, "USD").build();
    req.refund_id = documented_request().refund_id;
    req.provider_reference = FIXTURE_REFUND_ID.into();
    let refund = provider(&server.uri(), None, None)
        .refund(&req)
        .await
        .expect("refund");
    let form = sent_form(&server).await;
    assert_eq!(
        form,
        [
            ("charge".to_owned(), CHARGE.to_owned()),
            (
                "metadata[gateway_refund_id]".to_owned(),
                FIXTURE_REFUND_ID.to_owned()
            ),
        ]
    );
    assert_eq!(
        refund.amount.map(|m| m.to_string()),
        Some("10.00 USD".into())
    );
}

#[tokio::test]
async fn amounts_go_out_in_stripes_units_for_zero_three_decimal_and_special_currencies() {
    for (currency, major, stripe) in [
        ("JPY", "500", "500"),
        ("KWD", "5.120", "5120"),
        ("ISK", "5", "500"),
        // Stripe's special case: two-decimal for backwards compatibility, not zero-decimal.
        ("UGX", "500", "50000"),
        ("HUF", "10.45", "1045"),
        ("EUR", "12.99", "1299"),
    ] {
        let mut answer = fixture("refund-ours.json");
        answer["currency"] = currency.to_ascii_lowercase().into();
        answer["amount"] = stripe.parse::<i64>().expect("number").into();
        let server = answering(answer).await;
        let mut req = RequestBuilder::new(helpers::PAYMENT_INTENT, currency)
            .amount(major)
            .build();
        req.refund_id = documented_request().refund_id;
        req.provider_reference = FIXTURE_REFUND_ID.into();
        let refund = provider(&server.uri(), None, None)
            .refund(&req)
            .await
            .expect(currency);
        let form = sent_form(&server).await;
        assert!(
            form.contains(&("amount".to_owned(), stripe.to_owned())),
            "{currency}: {form:?}"
        );
        assert_eq!(refund.amount, req.amount, "{currency}: read back exactly");
    }
}

#[test]
fn the_documented_refund_objects_read_into_the_wire_type() {
    for name in [
        "refund-object.json",
        "openapi-fixture-refund.json",
        "refund-ours.json",
    ] {
        let refund: Refund = serde_json::from_value(fixture(name)).expect(name);
        let mapped = to_provider_refund(&refund).expect(name);
        assert_eq!(mapped.status, ProviderRefundStatus::Succeeded, "{name}");
    }
    let documented: Refund = serde_json::from_value(fixture("refund-object.json")).expect("refund");
    assert_eq!(
        to_provider_refund(&documented).map(|r| r.provider_reference),
        Ok(None),
        "a refund without our metadata names no gateway refund"
    );
    let list: RefundList = serde_json::from_value(fixture("refund-list.json")).expect("list");
    assert_eq!(list.data.len(), 1);
    assert!(!list.has_more);
}
