//! The shared conformance battery, run against the AuthMS adapter for both of its methods.

use std::sync::Arc;
use std::time::Duration;

use provider_authms::AuthMsProvider;
use refund_provider::conformance::{run, ConformanceTarget};
use refund_provider::{
    Currency, Money, PaymentId, ProviderRefundRequest, RefundId, RefundProvider, SecretString,
};
use serde_json::{json, Value};
use time::OffsetDateTime;

struct AuthMs {
    options: Value,
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
        let refund_id = RefundId::generate();
        let cny = Currency::parse("CNY").expect("cny");
        ProviderRefundRequest {
            refund_id,
            provider_reference: refund_id.to_string(),
            payment_id: PaymentId::parse("txn_conformance").expect("payment id"),
            currency: cny,
            amount: Some(Money::parse("12.34", cny).expect("amount")),
            reason: Some("conformance".into()),
            customer_id: Some("usr_conformance".into()),
            options: self.options.clone(),
            created_at: OffsetDateTime::now_utc(),
        }
    }
}

#[tokio::test]
async fn the_wallet_refund_passes_the_shared_conformance_kit() {
    run(&AuthMs {
        options: Value::Null,
    })
    .await;
}

#[tokio::test]
async fn the_transfer_method_passes_the_shared_conformance_kit() {
    run(&AuthMs {
        options: json!({"method": "transfer"}),
    })
    .await;
}
