//! What a provider hands the conformance kit: its [`ConformanceTarget`] (the adapter, the
//! simulator, the wire bodies built from a request) and the documented cases its tables
//! run, with the [`Failures`] a check returns.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use time::OffsetDateTime;

use crate::error::FailureCode;
use crate::money::Currency;
use crate::outcome::ProviderRefundStatus;
use crate::plugin::ProviderPlugin;
use crate::provider::RefundProvider;
use crate::request::ProviderRefundRequest;

/// An HTTP answer a check serves to every request it receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireAnswer {
    pub status: u16,
    pub body: String,
    /// Extra headers (`content-type: application/json` is always sent).
    pub headers: Vec<(String, String)>,
}

impl WireAnswer {
    /// A JSON answer.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            body: body.to_string(),
            headers: Vec::new(),
        }
    }
}

/// A documented status word and what it must become.
#[derive(Debug, Clone)]
pub struct StatusCase {
    /// The provider's word, for messages.
    pub word: String,
    /// The create call's answer reporting it.
    pub create: WireAnswer,
    /// The status query's answer reporting it.
    pub query: WireAnswer,
    pub expected: ProviderRefundStatus,
    /// The failure code a `failed` refund must carry.
    pub failure_code: Option<FailureCode>,
}

/// A documented refusal of the create call and the code it must become.
#[derive(Debug, Clone)]
pub struct RefusalCase {
    /// What the provider refuses, for messages.
    pub name: String,
    pub answer: WireAnswer,
    /// The `Rejected` failure code.
    pub code: FailureCode,
}

/// A webhook exactly as the provider would send it about the request's refund.
#[derive(Debug, Clone)]
pub struct SignedWebhook {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// How the kit builds the adapter under test, and the provider's documented answers.
pub trait ConformanceTarget: Send + Sync {
    /// The adapter, talking to `base_url` with the given timeout.
    fn build(&self, base_url: &str, timeout: Duration) -> Arc<dyn RefundProvider>;

    /// A request the adapter accepts (it passes `validate`). The kit replaces its
    /// `provider_reference` with the adapter's own.
    fn sample_request(&self) -> ProviderRefundRequest;

    /// Every status word the provider documents, as answers about `req`.
    fn statuses(&self, req: &ProviderRefundRequest) -> Vec<StatusCase>;

    /// Every documented refusal of the create call, as answers about `req`.
    fn refusals(&self, req: &ProviderRefundRequest) -> Vec<RefusalCase>;

    /// The status query's answer when the provider has no such refund as `req`.
    fn not_found_answer(&self, req: &ProviderRefundRequest) -> WireAnswer;

    /// The create answer reporting `req`'s refund succeeded, with the amount left out (or
    /// empty, as the wire format allows).
    fn success_without_amount(&self, req: &ProviderRefundRequest) -> WireAnswer;

    /// The create answer reporting `req`'s refund succeeded for its amount in `currency`;
    /// `None` when the wire format carries no currency (e-Buy: CNY only).
    fn success_in_currency(
        &self,
        req: &ProviderRefundRequest,
        currency: Currency,
    ) -> Option<WireAnswer>;

    /// The longest reference the provider takes (e.g. eFundPay's `external_identifier`: 50).
    fn reference_limit(&self) -> usize;

    /// A genuine webhook about `req`'s refund, signed at `now`; `None` (the default) for a
    /// provider that sends none (it must not claim the `webhooks` capability then: the kit
    /// checks it).
    fn signed_webhook(
        &self,
        req: &ProviderRefundRequest,
        now: OffsetDateTime,
    ) -> Option<SignedWebhook> {
        let _ = (req, now);
        None
    }

    /// The provider's plugin, whose simulator the fault table runs against.
    fn plugin(&self) -> &'static dyn ProviderPlugin;
}

/// What a check expected and what it got, when they differ.
pub type Failures = Vec<String>;
