//! Fuzz the `POST /v1/refunds` body: the API's parsing and validation
//! (`refund_gateway::api::refunds::parse_create`), then every registered adapter's `validate`
//! on the request it would get (its `provider_options`, the merchant and its metadata
//! included). Nothing panics; a refusal is a 4xx, never an internal error; an accepted amount
//! is in the request's currency.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use refund_gateway::api::extract::IdempotencyKeyHeader;
use refund_gateway::api::refunds::parse_create;
use refund_gateway::providers::PLUGINS;
use refund_provider::{BuildContext, ProviderRefundRequest, RefundId, RefundProvider};

/// Every provider the gateway knows, built from its sandbox section (nothing is sent).
fn adapters() -> &'static [Arc<dyn RefundProvider>] {
    static ADAPTERS: OnceLock<Vec<Arc<dyn RefundProvider>>> = OnceLock::new();
    ADAPTERS.get_or_init(|| {
        PLUGINS
            .iter()
            .filter_map(|plugin| {
                let ctx = BuildContext::new(
                    format!("providers.{}", plugin.id()),
                    "http://127.0.0.1:8080",
                );
                plugin
                    .build(plugin.sandbox_section("http://127.0.0.1:9"), &ctx)
                    .ok()
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(serde_json::Value::Object(body)) = serde_json::from_slice(data) else {
        return;
    };
    let command = match parse_create(body, IdempotencyKeyHeader(None)) {
        Ok(command) => command,
        Err(error) => {
            let status = error.code.describe().0.as_u16();
            assert!((400..500).contains(&status), "a body refused with {status}");
            return;
        }
    };
    if let Some(amount) = command.amount {
        assert_eq!(amount.currency(), command.currency);
    }
    let Ok(refund_id) = RefundId::parse("rf_0195a4d214107a3e9d5c2f1a0b3c4d5e") else {
        return;
    };
    for adapter in adapters() {
        let provider = adapter.id();
        let mut req =
            ProviderRefundRequest::new(refund_id, command.payment_id.clone(), command.currency);
        req.provider_reference = adapter.provider_reference(&refund_id);
        req.amount = command.amount;
        req.reason = command.reason.clone();
        req.customer_id = command.customer_id.clone();
        req.options = command
            .provider_options
            .get(provider.as_str())
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        req.created_at = time::OffsetDateTime::UNIX_EPOCH;
        req.merchant_id = Some("fuzz".into());
        req.metadata = command
            .metadata
            .as_object()
            .map(|object| {
                object
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        if let Err(invalid) = adapter.validate(&req) {
            assert!(!invalid.code.as_str().is_empty() && !invalid.message.is_empty());
        }
    }
});
