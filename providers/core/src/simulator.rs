//! The `Simulator` abstraction (feature `sandbox-kit`): a running provider simulator as the
//! gateway's sandbox, bench, demo and end-to-end helpers see it, whichever provider it
//! simulates. Started through [`crate::plugin::ProviderPlugin::start_simulator`].

use std::any::Any;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{PaymentId, RefundId};
use crate::money::{Currency, Money};
use crate::request::ProviderRefundRequest;
use crate::sandbox_kit::FaultCounters;

/// The knobs every simulator has, for starting one without naming its `SandboxConfig`.
/// `None` keeps the simulator's own default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimulatorOptions {
    /// Delay before every answer.
    pub latency_ms: Option<u64>,
    /// How long `timeout_next` and `apply_then_hang_next` requests hang.
    pub hang_ms: Option<u64>,
    /// How long a refund stays in its first, unsettled status before it settles (and, for
    /// providers that send them, before its webhook).
    pub settle_after_ms: Option<u64>,
    /// The cap on retained refunds (see [`crate::sandbox_kit::Retention`]); default
    /// [`crate::sandbox_kit::DEFAULT_MAX_REFUNDS`].
    pub max_refunds: Option<usize>,
    /// Where a provider whose webhook endpoint is configured on its side (Stripe's dashboard)
    /// sends its webhooks, e.g. `{public_base_url}/v1/webhooks/stripe`. Providers that take
    /// the URL with each refund (eFundPay) ignore it.
    pub webhook_url: Option<String>,
}

/// Implements `with_options(&SimulatorOptions)` for a simulator's `SandboxConfig`, the same
/// in every simulator: its `Default`, with each option given set over it. The config has the
/// fields `latency_ms`, `hang_ms` and `max_refunds`; `$settle` names the field the option
/// `settle_after_ms` sets (how long a refund stays unsettled, whatever the simulator calls
/// it). Add `webhook_url` for a config with that field (an endpoint configured on the
/// provider's side, which the option replaces).
#[macro_export]
macro_rules! with_simulator_options {
    ($config:ty, $settle:ident $(, $webhook_url:ident)?) => {
        impl $config {
            /// The defaults with the shared simulator options applied.
            pub fn with_options(options: &$crate::SimulatorOptions) -> Self {
                let defaults = Self::default();
                Self {
                    latency_ms: options.latency_ms.unwrap_or(defaults.latency_ms),
                    hang_ms: options.hang_ms.unwrap_or(defaults.hang_ms),
                    $settle: options.settle_after_ms.unwrap_or(defaults.$settle),
                    max_refunds: options.max_refunds.unwrap_or(defaults.max_refunds),
                    $($webhook_url: options.$webhook_url.clone(),)?
                    ..defaults
                }
            }
        }
    };
}

/// What a simulator applied for one refund, in a shape shared by every simulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedEffect {
    /// The reference the provider saw: the gateway's `provider_reference` of the refund.
    pub reference: String,
    /// The provider's id of the refunded payment.
    pub payment_id: String,
    /// What was refunded, in the provider's minor units.
    pub amount_minor: i64,
    /// ISO 4217 code, upper case.
    pub currency: String,
    /// The refund's current status in the provider's own words.
    pub status: String,
}

/// A running simulator. Dropping it stops it.
pub trait Simulator: Send + Sync + fmt::Debug {
    /// The provider it simulates, e.g. `"stripe"`.
    fn provider(&self) -> &'static str;

    /// `http://127.0.0.1:PORT`.
    fn base_url(&self) -> String;

    /// Replaces the counted faults and the extra latency; switches of the provider's own
    /// (webhook faults) stay as they are.
    fn set_faults(&self, faults: FaultCounters);

    /// The counted faults in force, counters as consumed so far.
    fn faults(&self) -> FaultCounters;

    /// Every refund it applied and still retains, oldest first.
    fn effects(&self) -> Vec<AppliedEffect>;

    /// How many effects carry `reference`: 1 for a refund applied once, whatever the
    /// retries.
    fn effects_for(&self, reference: &str) -> usize {
        self.effects()
            .iter()
            .filter(|effect| effect.reference == reference)
            .count()
    }

    /// A refund this simulator accepts and settles normally (no magic value), on a payment
    /// unique to `tag` (short printable ASCII: it becomes part of a payment id), with the
    /// `provider_reference` this provider's adapter derives from its refund id.
    fn sample_request(&self, tag: &str) -> ProviderRefundRequest;

    /// A merchant `POST /v1/refunds` body that goes to this provider (`provider` is named)
    /// and succeeds in its simulator, on a payment unique to `tag`: by default, the body
    /// asking for [`Simulator::sample_request`] ([`merchant_body`]).
    fn sample_merchant_body(&self, tag: &str) -> Value {
        merchant_body(self.provider(), &self.sample_request(tag))
    }

    /// Changes where a provider whose webhook endpoint is configured on its side sends its
    /// webhooks (see [`SimulatorOptions::webhook_url`]); `None` sends none. Providers that take
    /// the URL with each refund ignore it (the default).
    fn set_webhook_url(&self, url: Option<String>) {
        let _ = url;
    }

    /// The simulator as `Any`, so a test of one provider's own behaviour can reach its
    /// concrete type (`as_any().downcast_ref::<provider_x::sandbox::Sandbox>()`).
    fn as_any(&self) -> &dyn Any;
}

/// The counters of `faults` that are still to be drawn; zero when every injected fault has
/// met a request.
pub fn pending_faults(faults: &FaultCounters) -> u32 {
    faults
        .fail_next
        .saturating_add(faults.timeout_next)
        .saturating_add(faults.apply_then_hang_next)
        .saturating_add(faults.drop_after_apply_next)
}

/// What every simulator's `sample_request` starts from: a refund of `amount` (major units,
/// `"12.99"`) in `currency` of payment `payment_id`, with a fresh refund id. The values are
/// the simulator's own, so one that does not parse is a bug in it: it panics naming it.
pub fn sample_refund(payment_id: &str, amount: &str, currency: &str) -> ProviderRefundRequest {
    let currency =
        Currency::parse(currency).unwrap_or_else(|e| panic!("sample currency `{currency}`: {e}"));
    let payment_id = PaymentId::parse(payment_id)
        .unwrap_or_else(|e| panic!("sample payment id `{payment_id}`: {e}"));
    let mut request = ProviderRefundRequest::new(RefundId::generate(), payment_id, currency);
    request.amount = Some(
        Money::parse(amount, currency)
            .unwrap_or_else(|e| panic!("sample amount `{amount}` {currency}: {e}")),
    );
    request
}

/// The merchant `POST /v1/refunds` body asking `provider` for `request`: its payment, amount
/// (in major units) and currency, its reason and customer when set, and its options as
/// `provider_options.<provider>` when any.
pub fn merchant_body(provider: &str, request: &ProviderRefundRequest) -> Value {
    let mut body = serde_json::json!({
        "provider": provider,
        "payment_id": request.payment_id.as_str(),
        "currency": request.currency.code(),
    });
    if let Some(amount) = &request.amount {
        body["amount"] = amount.to_major_string().into();
    }
    if let Some(reason) = &request.reason {
        body["reason"] = reason.as_str().into();
    }
    if let Some(customer) = &request.customer_id {
        body["customer_id"] = customer.as_str().into();
    }
    if !request.options.is_null() {
        body["provider_options"] = serde_json::json!({ provider: request.options });
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_merchant_body_of_a_sample_carries_its_amount_in_major_units_and_its_options() {
        let mut request = sample_refund("ORDER1", "8.00", "CNY");
        request.options = serde_json::json!({"asset_type": "cash"});
        assert_eq!(
            merchant_body("ebuy", &request),
            serde_json::json!({
                "provider": "ebuy",
                "payment_id": "ORDER1",
                "amount": "8.00",
                "currency": "CNY",
                "provider_options": {"ebuy": {"asset_type": "cash"}},
            })
        );
    }
}
