//! Shared test helpers: fixtures, a request for the documented refund, and an adapter.
#![allow(dead_code)]

use std::time::Duration;

use provider_stripe::adapter::{StripeAccount, StripeProvider};
use refund_provider::testkit::RequestBuilder;
use refund_provider::{ProviderRefundRequest, RefundId, SecretString};
use serde_json::Value;

pub const SECRET_KEY: &str = "sk_test_fixture";
pub const WEBHOOK_SECRET: &str = "whsec_sandbox_stripe";
/// The refund id the fixtures' `metadata[gateway_refund_id]` carries.
pub const FIXTURE_REFUND_ID: &str = "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e";
/// The documented refund's PaymentIntent and charge.
pub const PAYMENT_INTENT: &str = "pi_1GszsK2eZvKYlo2CfhZyoZLp";
pub const CHARGE: &str = "ch_1NirD82eZvKYlo2CIvbtLWuY";

pub fn fixture_text(name: &str) -> String {
    let path = format!(
        "{}/../../fixtures/stripe/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn fixture(name: &str) -> Value {
    serde_json::from_str(&fixture_text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// An adapter at `base_url`; `merchant` names a merchant's own account.
pub fn provider(
    base_url: &str,
    merchant: Option<&str>,
    api_version: Option<&str>,
) -> StripeProvider {
    let account = StripeAccount {
        secret_key: SecretString::from(SECRET_KEY),
        webhook_secret: SecretString::from(WEBHOOK_SECRET),
        merchant_id: merchant.map(str::to_owned),
    };
    StripeProvider::new(base_url, account, api_version, Duration::from_secs(5)).expect("provider")
}

/// The fixtures' refund: 10.00 USD of the documented PaymentIntent, reason
/// `requested_by_customer`.
pub fn documented_request() -> ProviderRefundRequest {
    let mut req = RequestBuilder::new(PAYMENT_INTENT, "USD")
        .amount("10.00")
        .reason("Product return")
        .options(serde_json::json!({"reason": "requested_by_customer"}))
        .build();
    req.refund_id = RefundId::parse(FIXTURE_REFUND_ID).expect("refund id");
    req.provider_reference = FIXTURE_REFUND_ID.to_owned();
    req
}
