//! The shared conformance kit, run against the e-Buy adapter, with e-Buy's documented
//! (signed) answers.

#[path = "support/helpers.rs"]
mod helpers;

use std::sync::Arc;
use std::time::Duration;

use provider_ebuy::EbuyProvider;
use refund_provider::conformance::{run, ConformanceTarget, RefusalCase, StatusCase, WireAnswer};
use refund_provider::{
    FailureCode, ProviderPlugin, ProviderRefundRequest, ProviderRefundStatus, RefundProvider,
    SecretString,
};
use serde_json::{json, Value};

const SECRET: &str = "conformance-secret";

struct Ebuy;

/// An e-Buy answer envelope around `content`, signed as e-Buy signs its answers.
fn answer(action: &str, success: bool, error_code: &str, content: Value) -> WireAnswer {
    let envelope = json!({
        "uuid": "20250317-k3x9q2m8v7b1n4c6z0a5s8d2f7g1h3j9",
        "success": success,
        "action": action,
        "timestamp": 1742226986532i64,
        "errorCode": error_code,
        "errorMessage": if success { "" } else { "拒绝" },
        "signType": "sha256",
        "content": content,
    });
    WireAnswer::json(200, &helpers::signed(envelope, SECRET))
}

/// The refund's `content`: 12.50 CNY cash in `status`.
fn content(req: &ProviderRefundRequest, status: &str) -> Value {
    let fen = req
        .amount
        .map(|m| m.minor_units().get().to_string())
        .unwrap_or_default();
    json!({
        "outTradeNo": req.payment_id.as_str(),
        "refundTime": "2025-03-17 23:56:26",
        "refundAmount": fen,
        "cashRefund": {"refundAmount": fen, "refundStatus": status},
    })
}

impl ConformanceTarget for Ebuy {
    fn build(&self, base_url: &str, timeout: Duration) -> Arc<dyn RefundProvider> {
        Arc::new(
            EbuyProvider::new(
                base_url,
                "10001",
                SecretString::from(SECRET.to_owned()),
                "zh_CN",
                timeout,
            )
            .expect("provider"),
        )
    }

    fn sample_request(&self) -> ProviderRefundRequest {
        helpers::request(Some("12.50"), json!({"asset_type": "cash"}))
    }

    fn statuses(&self, req: &ProviderRefundRequest) -> Vec<StatusCase> {
        [
            ("SUCCESS", ProviderRefundStatus::Succeeded, None),
            ("PROCESSING", ProviderRefundStatus::Processing, None),
            (
                "FAIL",
                ProviderRefundStatus::Failed,
                Some(FailureCode::ProviderFailed),
            ),
        ]
        .into_iter()
        .map(|(word, expected, failure_code)| StatusCase {
            word: word.into(),
            create: answer("refund", true, "", content(req, word)),
            query: answer("refundQuery", true, "", content(req, word)),
            expected,
            failure_code,
        })
        .collect()
    }

    fn refusals(&self, _req: &ProviderRefundRequest) -> Vec<RefusalCase> {
        [
            "REFUND_AMOUNT_EXCEEDED",
            "ORDER_NOT_FOUND",
            "REFUND_DECLINED",
        ]
        .into_iter()
        .map(|code| RefusalCase {
            name: format!("success: false, errorCode {code}"),
            answer: answer("refund", false, code, Value::Null),
            code: FailureCode::ProviderRejected,
        })
        .collect()
    }

    fn success_without_amount(&self, req: &ProviderRefundRequest) -> WireAnswer {
        let mut content = content(req, "SUCCESS");
        if let Some(content) = content.as_object_mut() {
            content.remove("refundAmount");
        }
        answer("refund", true, "", content)
    }

    /// e-Buy refunds in CNY only: its answers name no currency.
    fn success_in_currency(
        &self,
        _req: &ProviderRefundRequest,
        _currency: refund_provider::Currency,
    ) -> Option<WireAnswer> {
        None
    }

    fn not_found_answer(&self, _req: &ProviderRefundRequest) -> WireAnswer {
        answer("refundQuery", false, "REFUND_NOT_FOUND", Value::Null)
    }

    /// `refundTradeNo`: at most 32 characters.
    fn reference_limit(&self) -> usize {
        32
    }

    fn plugin(&self) -> &'static dyn ProviderPlugin {
        &provider_ebuy::PROVIDER
    }
}

#[tokio::test]
async fn the_ebuy_adapter_passes_the_conformance_kit() {
    run(&Ebuy).await;
}
