//! The shared conformance kit, run against the e-Buy adapter.

#[path = "support/helpers.rs"]
mod helpers;

use std::sync::Arc;
use std::time::Duration;

use provider_ebuy::EbuyProvider;
use refund_provider::conformance::{run, ConformanceTarget};
use refund_provider::{ProviderRefundRequest, RefundProvider, SecretString};

struct Ebuy;

impl ConformanceTarget for Ebuy {
    fn build(&self, base_url: &str, timeout: Duration) -> Arc<dyn RefundProvider> {
        Arc::new(
            EbuyProvider::new(
                base_url,
                "10001",
                SecretString::from("conformance-secret".to_owned()),
                "zh_CN",
                timeout,
            )
            .expect("provider"),
        )
    }

    fn sample_request(&self) -> ProviderRefundRequest {
        helpers::request(Some("12.50"), serde_json::json!({"asset_type": "cash"}))
    }
}

#[tokio::test]
async fn the_ebuy_adapter_passes_the_conformance_kit() {
    run(&Ebuy).await;
}
