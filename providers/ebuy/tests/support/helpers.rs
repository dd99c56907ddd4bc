//! Shared test helpers: fixtures, a sample request and an adapter pointed at a test server.
#![allow(dead_code)]

use std::time::Duration;

use provider_ebuy::EbuyProvider;
use refund_provider::testkit::RequestBuilder;
use refund_provider::{Currency, ProviderRefundRequest, RefundId, SecretString};
use serde_json::Value;

/// The secret the documented example envelopes are signed with (see fixtures/ebuy/README.md).
pub const FIXTURE_SECRET: &str = "ebuy-fixture-secret";
/// The app id of the documented examples.
pub const FIXTURE_APP_ID: &str = "10001";
/// The refund id whose `refundTradeNo` the examples carry.
pub const FIXTURE_REFUND_ID: &str = "rf_0195a4d214107a3e9d5c2f1a0b3c4d5e";
pub const FIXTURE_PAYMENT_ID: &str = "ORDER20250317001";

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/../../fixtures/ebuy/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn cny() -> Currency {
    Currency::parse("CNY").expect("CNY")
}

pub fn provider(base_url: &str, secret: &str) -> EbuyProvider {
    EbuyProvider::new(
        base_url,
        FIXTURE_APP_ID,
        SecretString::from(secret.to_owned()),
        "zh_CN",
        Duration::from_secs(5),
    )
    .expect("provider")
}

/// A request for the fixtures' refund id and payment; `amount` in major units.
pub fn request(amount: Option<&str>, options: Value) -> ProviderRefundRequest {
    request_for(
        RefundId::parse(FIXTURE_REFUND_ID).expect("refund id"),
        FIXTURE_PAYMENT_ID,
        amount,
        options,
    )
}

pub fn request_for(
    refund_id: RefundId,
    payment_id: &str,
    amount: Option<&str>,
    options: Value,
) -> ProviderRefundRequest {
    let builder = RequestBuilder::new(payment_id, "CNY")
        .refund_id(&refund_id.to_string())
        .options(options)
        .reference_of(&provider("http://127.0.0.1:9", FIXTURE_SECRET));
    match amount {
        Some(amount) => builder.amount(amount).build(),
        None => builder.build(),
    }
}

/// `value` with its `sign` recomputed with `secret`, as e-Buy would answer.
pub fn signed(mut value: Value, secret: &str) -> Value {
    if let Value::Object(map) = &mut value {
        provider_ebuy::sign::sign_in_place(map, secret);
    }
    value
}
