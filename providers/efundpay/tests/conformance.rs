//! The shared conformance kit, run against the eFundPay adapter: every table, with eFundPay's
//! documented answers.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use provider_efundpay::EfundpayProvider;
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

const WEBHOOK_SECRET: &str = "whsec";

struct Efundpay;

/// eFundPay's refund object about `req`, in `status`.
fn refund_object(req: &ProviderRefundRequest, status: &str) -> Value {
    json!({
        "type": "refund",
        "id": "6a1d4e46-14ed-4fe1-a45f-eff4e025d211",
        "transaction_id": req.payment_id.as_str(),
        "status": status,
        "currency": req.currency.code(),
        "amount": req.amount.map(|m| m.minor_units().get()),
        "reason": "requested_by_customer",
        "external_identifier": req.provider_reference,
        "transaction_external_identifier": "transaction-12345",
        "created_at": "2013-07-16T19:23:00.000+00:00"
    })
}

fn error(status: u16, code: &str) -> WireAnswer {
    WireAnswer::json(
        status,
        &json!({"type": "error", "code": code, "message": "refused"}),
    )
}

impl ConformanceTarget for Efundpay {
    fn build(&self, base_url: &str, timeout: Duration) -> Arc<dyn RefundProvider> {
        Arc::new(
            EfundpayProvider::new(
                base_url,
                SecretString::from("tok"),
                "default",
                SecretString::from(WEBHOOK_SECRET),
                "https://gateway.example/v1/webhooks/efundpay",
                timeout,
            )
            .expect("provider"),
        )
    }

    fn sample_request(&self) -> ProviderRefundRequest {
        RequestBuilder::new("7099948d-7286-47e4-aad8-b68f7eb44591", "EUR")
            .amount("12.99")
            .build()
    }

    fn statuses(&self, req: &ProviderRefundRequest) -> Vec<StatusCase> {
        [
            ("processing", ProviderRefundStatus::Processing, None),
            ("succeeded", ProviderRefundStatus::Succeeded, None),
            (
                "failed",
                ProviderRefundStatus::Failed,
                Some(FailureCode::ProviderFailed),
            ),
            (
                "declined",
                ProviderRefundStatus::Failed,
                Some(FailureCode::ProviderDeclined),
            ),
            ("voided", ProviderRefundStatus::Canceled, None),
        ]
        .into_iter()
        .map(|(word, expected, failure_code)| StatusCase {
            word: word.into(),
            create: WireAnswer::json(201, &refund_object(req, word)),
            query: WireAnswer::json(200, &json!({"items": [refund_object(req, word)]})),
            expected,
            failure_code,
        })
        .collect()
    }

    fn refusals(&self, _req: &ProviderRefundRequest) -> Vec<RefusalCase> {
        [
            (400, "invalid_json"),
            (404, "transaction_not_found"),
            (422, "amount_exceeds_refundable"),
        ]
        .into_iter()
        .map(|(status, code)| RefusalCase {
            name: code.into(),
            answer: error(status, code),
            code: FailureCode::ProviderRejected,
        })
        .collect()
    }

    fn success_without_amount(&self, req: &ProviderRefundRequest) -> WireAnswer {
        let mut refund = refund_object(req, "succeeded");
        if let Some(refund) = refund.as_object_mut() {
            refund.remove("amount");
        }
        WireAnswer::json(201, &refund)
    }

    fn success_in_currency(
        &self,
        req: &ProviderRefundRequest,
        currency: refund_provider::Currency,
    ) -> Option<WireAnswer> {
        let mut refund = refund_object(req, "succeeded");
        refund["currency"] = currency.code().into();
        Some(WireAnswer::json(201, &refund))
    }

    fn not_found_answer(&self, _req: &ProviderRefundRequest) -> WireAnswer {
        WireAnswer::json(200, &json!({"items": []}))
    }

    fn reference_limit(&self) -> usize {
        50
    }

    fn signed_webhook(
        &self,
        req: &ProviderRefundRequest,
        now: OffsetDateTime,
    ) -> Option<SignedWebhook> {
        let body = json!({
            "id": "evt_0123456789abcdef",
            "type": "refund.updated",
            "created_at": "2025-03-17T12:00:00.000+00:00",
            "data": refund_object(req, "succeeded"),
        })
        .to_string()
        .into_bytes();
        let mut headers = HeaderMap::new();
        let signature = sign_header(WEBHOOK_SECRET.as_bytes(), now.unix_timestamp(), &body);
        headers.insert(
            provider_efundpay::SIGNATURE_HEADER,
            signature.parse().expect("header value"),
        );
        Some(SignedWebhook { headers, body })
    }

    fn plugin(&self) -> &'static dyn ProviderPlugin {
        &provider_efundpay::PROVIDER
    }
}

#[tokio::test]
async fn the_efundpay_adapter_passes_the_conformance_kit() {
    run(&Efundpay).await;
}
