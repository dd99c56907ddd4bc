//! The shared conformance kit, run against the Stripe adapter: every table, with Stripe's
//! documented answers.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use provider_stripe::adapter::{StripeAccount, StripeProvider};
use refund_provider::conformance::{
    run, ConformanceTarget, RefusalCase, SignedWebhook, StatusCase, WireAnswer,
};
use refund_provider::signature::sign_header;
use refund_provider::testkit::RequestBuilder;
use refund_provider::{
    FailureCode, ProviderPlugin, ProviderRefundRequest, ProviderRefundStatus, RefundProvider,
    SecretString,
};
use serde_json::{json, Value};
use time::OffsetDateTime;

const WEBHOOK_SECRET: &str = "whsec_conformance";

struct Stripe;

/// Stripe's refund object about `req`, in `status`.
fn refund_object(req: &ProviderRefundRequest, status: &str) -> Value {
    let mut refund = json!({
        "id": "re_1Nispe2eZvKYlo2Cd31jOCgZ", "object": "refund",
        "amount": req.amount.map(|m| m.minor_units().get()),
        "balance_transaction": "txn_1Nispe2eZvKYlo2CYezqFhEx",
        "charge": "ch_1NirD82eZvKYlo2CIvbtLWuY", "created": 1692942318,
        "currency": req.currency.code().to_ascii_lowercase(),
        "metadata": {"gateway_refund_id": req.refund_id.to_string()},
        "payment_intent": req.payment_id.as_str(), "reason": null, "receipt_number": null,
        "source_transfer_reversal": null, "status": status, "transfer_reversal": null
    });
    if status == "failed" {
        refund["failure_reason"] = "declined".into();
    }
    refund
}

fn list(data: Vec<Value>) -> Value {
    json!({"object": "list", "url": "/v1/refunds", "has_more": false, "data": data})
}

fn error(status: u16, error: Value) -> WireAnswer {
    WireAnswer::json(status, &json!({ "error": error }))
}

impl ConformanceTarget for Stripe {
    fn build(&self, base_url: &str, timeout: Duration) -> Arc<dyn RefundProvider> {
        let account = StripeAccount {
            secret_key: SecretString::from("sk_test_conformance"),
            webhook_secret: SecretString::from(WEBHOOK_SECRET),
            merchant_id: None,
        };
        Arc::new(StripeProvider::new(base_url, account, None, timeout).expect("provider"))
    }

    fn sample_request(&self) -> ProviderRefundRequest {
        RequestBuilder::new("pi_1GszsK2eZvKYlo2CfhZyoZLp", "USD")
            .amount("10.00")
            .options(json!({"reason": "requested_by_customer"}))
            .build()
    }

    fn statuses(&self, req: &ProviderRefundRequest) -> Vec<StatusCase> {
        [
            ("pending", ProviderRefundStatus::Processing, None),
            ("requires_action", ProviderRefundStatus::Processing, None),
            ("succeeded", ProviderRefundStatus::Succeeded, None),
            (
                "failed",
                ProviderRefundStatus::Failed,
                Some(FailureCode::ProviderFailed),
            ),
            ("canceled", ProviderRefundStatus::Canceled, None),
        ]
        .into_iter()
        .map(|(word, expected, failure_code)| StatusCase {
            word: word.into(),
            create: WireAnswer::json(200, &refund_object(req, word)),
            query: WireAnswer::json(200, &list(vec![refund_object(req, word)])),
            expected,
            failure_code,
        })
        .collect()
    }

    fn refusals(&self, _req: &ProviderRefundRequest) -> Vec<RefusalCase> {
        let invalid = |code: Option<&str>, param: &str| json!({"type": "invalid_request_error", "code": code, "param": param, "message": "refused"});
        [
            (
                "402 card_declined",
                error(
                    402,
                    json!({"type": "card_error", "code": "card_declined", "message": "declined"}),
                ),
                FailureCode::ProviderDeclined,
            ),
            (
                "400 about the amount",
                error(400, invalid(None, "amount")),
                FailureCode::AmountInvalid,
            ),
            (
                "400 amount_too_large",
                error(400, invalid(Some("amount_too_large"), "amount")),
                FailureCode::AmountInvalid,
            ),
            (
                "400 charge_already_refunded",
                error(400, invalid(Some("charge_already_refunded"), "charge")),
                FailureCode::ProviderRejected,
            ),
            (
                "400 resource_missing",
                error(400, invalid(Some("resource_missing"), "payment_intent")),
                FailureCode::ProviderRejected,
            ),
            (
                "404",
                error(404, invalid(Some("resource_missing"), "id")),
                FailureCode::ProviderRejected,
            ),
            (
                "another 400",
                error(400, invalid(Some("parameter_unknown"), "foo")),
                FailureCode::ProviderRejected,
            ),
        ]
        .into_iter()
        .map(|(name, answer, code)| RefusalCase {
            name: name.into(),
            answer,
            code,
        })
        .collect()
    }

    fn success_without_amount(&self, req: &ProviderRefundRequest) -> WireAnswer {
        let mut refund = refund_object(req, "succeeded");
        if let Some(refund) = refund.as_object_mut() {
            refund.remove("amount");
        }
        WireAnswer::json(200, &refund)
    }

    fn success_in_currency(
        &self,
        req: &ProviderRefundRequest,
        currency: refund_provider::Currency,
    ) -> Option<WireAnswer> {
        let mut refund = refund_object(req, "succeeded");
        refund["currency"] = currency.code().to_ascii_lowercase().into();
        Some(WireAnswer::json(200, &refund))
    }

    fn not_found_answer(&self, _req: &ProviderRefundRequest) -> WireAnswer {
        WireAnswer::json(200, &list(Vec::new()))
    }

    /// The reference is the `Idempotency-Key` (at most 255 characters) and
    /// `metadata[gateway_refund_id]` (values at most 500).
    fn reference_limit(&self) -> usize {
        255
    }

    fn signed_webhook(
        &self,
        req: &ProviderRefundRequest,
        now: OffsetDateTime,
    ) -> Option<SignedWebhook> {
        let body = json!({
            "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "object": "event", "api_version": "2024-06-20",
            "created": 1692942320, "livemode": false, "pending_webhooks": 1,
            "request": {"id": null, "idempotency_key": req.refund_id.to_string()},
            "type": "refund.updated",
            "data": {"object": refund_object(req, "succeeded"), "previous_attributes": {"status": "pending"}},
        })
        .to_string()
        .into_bytes();
        let mut headers = HeaderMap::new();
        let signature = sign_header(WEBHOOK_SECRET.as_bytes(), now.unix_timestamp(), &body);
        headers.insert(
            provider_stripe::SIGNATURE_HEADER,
            signature.parse().expect("header value"),
        );
        Some(SignedWebhook { headers, body })
    }

    fn plugin(&self) -> &'static dyn ProviderPlugin {
        &provider_stripe::PROVIDER
    }
}

#[tokio::test]
async fn the_stripe_adapter_passes_the_conformance_kit() {
    run(&Stripe).await;
}
