//! Fuzz the `POST /v1/refunds` body: the API's parsing and validation
//! (`refund_gateway::api::refunds::parse_create`), then each adapter's `validate` on the
//! request it would get (its `provider_options` included). Nothing panics; a refusal is a
//! 4xx, never an internal error; an accepted amount is in the request's currency.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use refund_gateway::api::extract::IdempotencyKeyHeader;
use refund_gateway::api::refunds::parse_create;
use refund_provider::{ProviderRefundRequest, RefundId, RefundProvider, SecretString};

fn adapters() -> &'static [Box<dyn RefundProvider>] {
    static ADAPTERS: OnceLock<Vec<Box<dyn RefundProvider>>> = OnceLock::new();
    ADAPTERS.get_or_init(|| {
        let mut adapters: Vec<Box<dyn RefundProvider>> = Vec::new();
        let timeout = Duration::from_secs(1);
        let base = "http://127.0.0.1:9";
        if let Ok(p) = provider_authms::AuthMsProvider::new(base, SecretString::from("t"), timeout)
        {
            adapters.push(Box::new(p.with_transfer_source_user_id("usr_merchant")));
        }
        if let Ok(p) = provider_ebuy::EbuyProvider::new(
            base,
            "10001",
            SecretString::from("s"),
            "zh_CN",
            timeout,
        ) {
            adapters.push(Box::new(p));
        }
        if let Ok(p) = provider_efundpay::EfundpayProvider::new(
            base,
            SecretString::from("t"),
            "default",
            SecretString::from("w"),
            "http://127.0.0.1:8080/v1/webhooks/efundpay",
            timeout,
        ) {
            adapters.push(Box::new(p));
        }
        adapters
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
        let req = ProviderRefundRequest {
            refund_id,
            provider_reference: adapter.provider_reference(&refund_id),
            payment_id: command.payment_id.clone(),
            currency: command.currency,
            amount: command.amount,
            reason: command.reason.clone(),
            customer_id: command.customer_id.clone(),
            options: command
                .provider_options
                .get(provider.as_str())
                .cloned()
                .unwrap_or(serde_json::Value::Null),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            merchant_id: Some("fuzz".into()),
            metadata: Default::default(),
            provider_refund_id: None,
        };
        if let Err(invalid) = adapter.validate(&req) {
            assert!(!invalid.code.is_empty() && !invalid.message.is_empty());
        }
    }
});
