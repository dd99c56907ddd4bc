//! The shared conformance battery, run against the eFundPay adapter.

use std::sync::Arc;
use std::time::Duration;

use provider_efundpay::EfundpayProvider;
use refund_provider::conformance::{run, ConformanceTarget};
use refund_provider::{
    Currency, Money, PaymentId, ProviderRefundRequest, RefundId, RefundProvider, SecretString,
};
use time::OffsetDateTime;

struct Efundpay;

impl ConformanceTarget for Efundpay {
    fn build(&self, base_url: &str, timeout: Duration) -> Arc<dyn RefundProvider> {
        Arc::new(
            EfundpayProvider::new(
                base_url,
                SecretString::from("tok"),
                "default",
                SecretString::from("whsec"),
                "https://gateway.example/v1/webhooks/efundpay",
                timeout,
            )
            .expect("provider"),
        )
    }

    fn sample_request(&self) -> ProviderRefundRequest {
        let refund_id = RefundId::generate();
        let currency = Currency::parse("EUR").expect("EUR");
        ProviderRefundRequest {
            refund_id,
            provider_reference: refund_id.to_string(),
            payment_id: PaymentId::parse("7099948d-7286-47e4-aad8-b68f7eb44591").expect("id"),
            currency,
            amount: Some(Money::parse("12.99", currency).expect("money")),
            reason: None,
            customer_id: None,
            options: serde_json::Value::Null,
            created_at: OffsetDateTime::now_utc(),
        }
    }
}

#[tokio::test]
async fn the_efundpay_adapter_passes_the_conformance_kit() {
    run(&Efundpay).await;
}
