//! The shared conformance kit, run against the AuthMS adapter for both of its methods, with
//! AuthMS's documented answers.

use std::sync::Arc;
use std::time::Duration;

use provider_authms::AuthMsProvider;
use refund_provider::conformance::{run, ConformanceTarget, RefusalCase, StatusCase, WireAnswer};
use refund_provider::testkit::RequestBuilder;
use refund_provider::{
    FailureCode, ProviderPlugin, ProviderRefundRequest, ProviderRefundStatus, RefundProvider,
    SecretString,
};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    WalletRefund,
    Transfer,
}

struct AuthMs {
    method: Method,
}

/// The customer's transaction about `req`, in `status`, as AuthMS writes it.
fn transaction(req: &ProviderRefundRequest, method: Method, status: &str) -> Value {
    let amount = req.amount.map(|m| m.to_major_string());
    let (kind, reference, description) = match method {
        Method::WalletRefund => (
            "refund",
            req.provider_reference.clone(),
            "conformance".into(),
        ),
        Method::Transfer => (
            "transfer_in",
            String::new(),
            format!("refund {}: conformance", req.provider_reference),
        ),
    };
    json!({
        "amount": amount, "balance_before": "900.00", "balance_after": "912.34",
        "counterparty_id": "usr_merchant", "created_at": "2026-04-15T10:30:00Z",
        "currency": "CNY", "description": description, "id": "txn_rfd789",
        "reference_id": reference, "status": status, "type": kind, "wallet_id": "wlt_abc123"
    })
}

fn envelope(data: Value) -> Value {
    json!({"code": 200, "data": data, "message": "success", "timestamp": "2026-04-15T10:30:00Z"})
}

/// `answer` with `edit` applied to each transaction in it (both legs of a transfer).
fn each_transaction(mut answer: Value, edit: impl Fn(&mut Value)) -> Value {
    for leg in ["transaction", "from_transaction", "to_transaction"] {
        if let Some(tx) = answer["data"].get_mut(leg) {
            edit(tx);
        }
    }
    answer
}

/// The create call's answer: a wallet refund's `{transaction, wallet}`, or a transfer's two
/// balanced legs between the source and the customer.
fn created(req: &ProviderRefundRequest, method: Method, status: &str) -> Value {
    match method {
        Method::WalletRefund => envelope(json!({"transaction": transaction(req, method, status)})),
        Method::Transfer => {
            let mut from = transaction(req, method, status);
            from["type"] = "transfer_out".into();
            from["balance_before"] = "1000.00".into();
            from["balance_after"] = "987.66".into();
            envelope(json!({
                "from_transaction": from,
                "from_wallet": {"user_id": "usr_merchant"},
                "to_transaction": transaction(req, method, status),
                "to_wallet": {"user_id": req.customer_id},
            }))
        }
    }
}

impl ConformanceTarget for AuthMs {
    fn build(&self, base_url: &str, timeout: Duration) -> Arc<dyn RefundProvider> {
        let provider =
            AuthMsProvider::new(base_url, SecretString::from("conformance-token"), timeout)
                .expect("provider")
                .with_transfer_source_user_id("usr_merchant");
        Arc::new(provider)
    }

    fn sample_request(&self) -> ProviderRefundRequest {
        let options = match self.method {
            Method::WalletRefund => Value::Null,
            Method::Transfer => json!({"method": "transfer"}),
        };
        RequestBuilder::new("txn_conformance", "CNY")
            .amount("12.34")
            .reason("conformance")
            .customer("usr_conformance")
            .options(options)
            .build()
    }

    fn statuses(&self, req: &ProviderRefundRequest) -> Vec<StatusCase> {
        [
            ("completed", ProviderRefundStatus::Succeeded, None),
            ("pending", ProviderRefundStatus::Processing, None),
            ("processing", ProviderRefundStatus::Processing, None),
            (
                "failed",
                ProviderRefundStatus::Failed,
                Some(FailureCode::ProviderFailed),
            ),
        ]
        .into_iter()
        .map(|(word, expected, failure_code)| StatusCase {
            word: word.into(),
            create: WireAnswer::json(200, &created(req, self.method, word)),
            query: WireAnswer::json(200, &envelope(json!([transaction(req, self.method, word)]))),
            expected,
            failure_code,
        })
        .collect()
    }

    fn refusals(&self, _req: &ProviderRefundRequest) -> Vec<RefusalCase> {
        [
            (400, "请求参数错误", FailureCode::ProviderRejected),
            (404, "钱包不存在", FailureCode::ProviderRejected),
            (409, "余额不足", FailureCode::InsufficientBalance),
            (422, "金额无效", FailureCode::AmountInvalid),
        ]
        .into_iter()
        .map(|(status, message, code)| RefusalCase {
            name: message.into(),
            answer: WireAnswer::json(
                status,
                &json!({"code": status, "message": message, "timestamp": "2026-04-15T10:30:00Z"}),
            ),
            code,
        })
        .collect()
    }

    fn success_without_amount(&self, req: &ProviderRefundRequest) -> WireAnswer {
        let answer = each_transaction(created(req, self.method, "completed"), |tx| {
            if let Some(tx) = tx.as_object_mut() {
                tx.remove("amount");
            }
        });
        WireAnswer::json(200, &answer)
    }

    fn success_in_currency(
        &self,
        req: &ProviderRefundRequest,
        currency: refund_provider::Currency,
    ) -> Option<WireAnswer> {
        let answer = each_transaction(created(req, self.method, "completed"), |tx| {
            tx["currency"] = currency.code().into();
        });
        Some(WireAnswer::json(200, &answer))
    }

    fn not_found_answer(&self, _req: &ProviderRefundRequest) -> WireAnswer {
        WireAnswer::json(200, &envelope(json!([])))
    }

    /// `reference_id` has no documented limit; the refund id (35 characters) is sent, and a
    /// transfer's `description` carries it in a sentence.
    fn reference_limit(&self) -> usize {
        64
    }

    fn plugin(&self) -> &'static dyn ProviderPlugin {
        &provider_authms::PROVIDER
    }
}

#[tokio::test]
async fn the_wallet_refund_passes_the_shared_conformance_kit() {
    run(&AuthMs {
        method: Method::WalletRefund,
    })
    .await;
}

#[tokio::test]
async fn the_transfer_method_passes_the_shared_conformance_kit() {
    run(&AuthMs {
        method: Method::Transfer,
    })
    .await;
}
