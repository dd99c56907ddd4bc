//! The test kit (feature `testkit`): a valid `ProviderRefundRequest` in one line
//! ([`RequestBuilder`]) and an in-memory provider that answers from a script and counts its
//! calls ([`FakeProvider`]), for the gateway's API tests and benches and for adapters' tests;
//! a simulator's control endpoints read and set over HTTP ([`get_json`], [`post_json`]).
//!
//! Test helpers panic on a malformed literal (a bad currency code in a test is a bug in the
//! test); nothing here reads outside input.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use http::HeaderMap;
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::ProviderError;
use crate::ids::{PaymentId, ProviderId, RefundId};
use crate::money::{Currency, Money};
use crate::outcome::{ProviderRefund, ProviderRefundStatus};
use crate::plugin::ProviderPlugin;
use crate::proof::Proofs;
use crate::provider::{Capabilities, RefundProvider};
use crate::request::ProviderRefundRequest;
use crate::settings::BuildContext;
use crate::webhook::ProviderWebhook;

/// Builds a `ProviderRefundRequest`: a new refund id (its string as the reference), no
/// reason, customer or options, created now.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    request: ProviderRefundRequest,
}

impl RequestBuilder {
    /// A full refund (no amount) of `payment_id` in `currency` (an ISO code).
    pub fn new(payment_id: &str, currency: &str) -> Self {
        Self {
            request: ProviderRefundRequest::new(
                RefundId::generate(),
                PaymentId::parse(payment_id).unwrap_or_else(|e| panic!("test payment id: {e}")),
                Currency::parse(currency).unwrap_or_else(|e| panic!("test currency: {e}")),
            ),
        }
    }

    /// This refund id (and its string as the reference), e.g. a fixture's.
    pub fn refund_id(mut self, refund_id: &str) -> Self {
        let id = RefundId::parse(refund_id).unwrap_or_else(|e| panic!("test refund id: {e}"));
        self.request.refund_id = id;
        self.request.provider_reference = id.to_string();
        self
    }

    /// This reference, whatever the refund id.
    pub fn reference(mut self, reference: &str) -> Self {
        self.request.provider_reference = reference.to_owned();
        self
    }

    /// The amount, in major units as the API takes it (`"12.99"`).
    pub fn amount(mut self, major: &str) -> Self {
        let money = Money::parse(major, self.request.currency)
            .unwrap_or_else(|e| panic!("test amount: {e}"));
        self.request.amount = Some(money);
        self
    }

    pub fn reason(mut self, reason: &str) -> Self {
        self.request.reason = Some(reason.to_owned());
        self
    }

    pub fn customer(mut self, customer_id: &str) -> Self {
        self.request.customer_id = Some(customer_id.to_owned());
        self
    }

    /// `provider_options.<provider>`.
    pub fn options(mut self, options: Value) -> Self {
        self.request.options = options;
        self
    }

    /// The merchant the refund is made for.
    pub fn merchant(mut self, merchant_id: &str) -> Self {
        self.request.merchant_id = Some(merchant_id.to_owned());
        self
    }

    /// One pair of the merchant's metadata.
    pub fn metadata(mut self, key: &str, value: &str) -> Self {
        self.request
            .metadata
            .insert(key.to_owned(), value.to_owned());
        self
    }

    /// The provider's refund id, as known from an earlier answer.
    pub fn provider_refund_id(mut self, id: &str) -> Self {
        self.request.provider_refund_id = Some(id.to_owned());
        self
    }

    /// When the gateway recorded the refund (default: now).
    pub fn created_at(mut self, created_at: OffsetDateTime) -> Self {
        self.request.created_at = created_at;
        self
    }

    /// The reference the adapter derives (`provider.provider_reference(&refund_id)`).
    pub fn reference_of(mut self, provider: &dyn RefundProvider) -> Self {
        self.request.provider_reference = provider.provider_reference(&self.request.refund_id);
        self
    }

    pub fn build(self) -> ProviderRefundRequest {
        self.request
    }
}

/// What a [`FakeProvider`] answers to one `refund` call.
#[derive(Debug, Clone)]
pub enum Script {
    /// `succeeded`, with the asked amount, `prov_<refund id>` and our reference.
    Succeed,
    /// `processing`, likewise.
    Processing,
    /// This error.
    Fail(ProviderError),
    /// This refund as it is.
    Answer(ProviderRefund),
}

/// An in-memory provider: `refund` answers the next queued [`Script`] (else its default)
/// after an optional delay; `refund_status` answers the next queued status answer (else
/// `NotFound`); webhooks are refused. It counts both calls and keeps every request `refund`
/// was given.
#[derive(Debug)]
pub struct FakeProvider {
    id: ProviderId,
    capabilities: Capabilities,
    proofs: Proofs,
    default: Script,
    delay: Duration,
    script: Mutex<VecDeque<Script>>,
    status_script: Mutex<VecDeque<Result<ProviderRefund, ProviderError>>>,
    calls: AtomicUsize,
    status_calls: AtomicUsize,
    requests: Mutex<Vec<ProviderRefundRequest>>,
}

impl FakeProvider {
    /// A provider called `id` (a literal such as `"scripted"`), answering `default` to every
    /// refund: any currency, partial refunds, amount required, status query, no webhooks.
    pub fn new(id: &'static str, default: Script) -> Self {
        Self {
            id: ProviderId::from_static(id),
            capabilities: Capabilities {
                currencies: None,
                partial: true,
                full_without_amount: false,
                status_query: true,
                webhooks: false,
            },
            proofs: Proofs {
                not_found_proves_absence: false,
                resend_is_deduplicated: false,
                answers_carry_amount: true,
            },
            default,
            delay: Duration::ZERO,
            script: Mutex::new(VecDeque::new()),
            status_script: Mutex::new(VecDeque::new()),
            calls: AtomicUsize::new(0),
            status_calls: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// Every `refund` answers after `delay`.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// What this fake's answers prove (by default: nothing beyond carrying amounts).
    pub fn with_proofs(mut self, proofs: Proofs) -> Self {
        self.proofs = proofs;
        self
    }

    /// Queues the answer of the next `refund` call not yet scripted.
    pub fn then(&self, script: Script) {
        lock(&self.script).push_back(script);
    }

    /// Queues the answer of the next `refund_status` call not yet scripted.
    pub fn then_status(&self, answer: Result<ProviderRefund, ProviderError>) {
        lock(&self.status_script).push_back(answer);
    }

    /// How many times `refund` was called.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// How many times `refund_status` was called.
    pub fn status_calls(&self) -> usize {
        self.status_calls.load(Ordering::SeqCst)
    }

    /// Every request `refund` was given, in call order.
    pub fn requests(&self) -> Vec<ProviderRefundRequest> {
        lock(&self.requests).clone()
    }

    /// The amount of every `refund` call in major units, in call order (`None`: a full
    /// refund).
    pub fn sent_amounts(&self) -> Vec<Option<String>> {
        lock(&self.requests)
            .iter()
            .map(|req| req.amount.map(|m| m.to_major_string()))
            .collect()
    }

    fn answer(req: &ProviderRefundRequest, status: ProviderRefundStatus) -> ProviderRefund {
        let mut refund = ProviderRefund::with_status(status, status.as_str());
        refund.provider_refund_id = Some(format!("prov_{}", req.refund_id));
        refund.provider_reference = Some(req.provider_reference.clone());
        refund.amount = req.amount;
        refund
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait]
impl RefundProvider for FakeProvider {
    fn id(&self) -> ProviderId {
        self.id.clone()
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    fn proofs(&self) -> Proofs {
        self.proofs
    }

    async fn refund(&self, req: &ProviderRefundRequest) -> Result<ProviderRefund, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        lock(&self.requests).push(req.clone());
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let next = lock(&self.script).pop_front();
        match next.unwrap_or_else(|| self.default.clone()) {
            Script::Succeed => Ok(Self::answer(req, ProviderRefundStatus::Succeeded)),
            Script::Processing => Ok(Self::answer(req, ProviderRefundStatus::Processing)),
            Script::Fail(error) => Err(error),
            Script::Answer(refund) => Ok(refund),
        }
    }

    async fn refund_status(
        &self,
        _req: &ProviderRefundRequest,
    ) -> Result<ProviderRefund, ProviderError> {
        self.status_calls.fetch_add(1, Ordering::SeqCst);
        let next = lock(&self.status_script).pop_front();
        next.unwrap_or_else(|| Ok(ProviderRefund::not_found()))
    }

    fn parse_webhook(
        &self,
        _headers: &HeaderMap,
        _body: &[u8],
        _now: OffsetDateTime,
    ) -> Result<ProviderWebhook, ProviderError> {
        Err(ProviderError::invalid_webhook(format!(
            "{} sends no webhooks",
            self.id
        )))
    }
}

/// What every provider's plugin test checks: its sandbox section (simulator at
/// `sandbox_url`) builds an adapter with the plugin's id, and `bad_section` (one unknown or
/// missing key) is refused with exactly one problem at the section's key path
/// (`providers.<id>`). Panics with what differed.
pub fn assert_plugin_sections(plugin: &dyn ProviderPlugin, sandbox_url: &str, bad_section: Value) {
    let id = plugin.id();
    let section_key = format!("providers.{id}");
    let ctx = BuildContext::new(&section_key, "http://127.0.0.1:8080");
    let built = plugin.build(plugin.sandbox_section(sandbox_url), &ctx);
    assert_eq!(
        built.map(|p| p.id().to_string()).ok().as_deref(),
        Some(id),
        "the sandbox section builds the adapter"
    );
    let problems = plugin.build(bad_section, &ctx).err().unwrap_or_default();
    assert_eq!(problems.len(), 1, "one problem: {problems:?}");
    assert_eq!(problems[0].key, section_key);
}

/// `GET url` with `client`, its body read as JSON: what a simulator test reads back from
/// `/_sandbox/effects` and its kin. Panics, naming `url`, when the request fails or the body
/// is not a `T`.
pub async fn get_json<T: serde::de::DeserializeOwned>(client: &reqwest::Client, url: &str) -> T {
    let answer = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    answer
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: the body is not the JSON expected: {e}"))
}

/// `POST url` with `client` and the JSON `body`: what a simulator test sends to
/// `/_sandbox/faults` and its kin. Panics, naming `url`, when no answer comes.
pub async fn post_json(client: &reqwest::Client, url: &str, body: &Value) -> reqwest::Response {
    client
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_makes_a_valid_request_in_one_line() {
        let req = RequestBuilder::new("pi_123", "EUR")
            .amount("12.99")
            .reason("Product return")
            .customer("cus_1")
            .options(serde_json::json!({"reason": "duplicate"}))
            .build();
        assert_eq!(req.payment_id.as_str(), "pi_123");
        assert_eq!(req.amount.map(|m| m.minor_units().get()), Some(1299));
        assert_eq!(req.provider_reference, req.refund_id.to_string());
        assert_eq!(req.options["reason"], "duplicate");
        assert!(RequestBuilder::new("pi_1", "JPY").build().amount.is_none());
    }

    #[test]
    fn the_builder_sets_the_merchant_metadata_and_known_provider_refund_id() {
        let req = RequestBuilder::new("pi_123", "EUR")
            .refund_id("rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e")
            .merchant("acme")
            .metadata("order", "A-1001")
            .provider_refund_id("re_1")
            .build();
        assert_eq!(
            req.provider_reference,
            "rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e"
        );
        assert_eq!(req.merchant_id.as_deref(), Some("acme"));
        assert_eq!(
            req.metadata.get("order").map(String::as_str),
            Some("A-1001")
        );
        assert_eq!(req.provider_refund_id.as_deref(), Some("re_1"));
        let plain = RequestBuilder::new("pi_123", "EUR")
            .reference("REF-1")
            .build();
        assert_eq!(plain.provider_reference, "REF-1");
        assert!(plain.merchant_id.is_none() && plain.metadata.is_empty());
    }

    #[tokio::test]
    async fn the_fake_answers_its_script_then_its_default_and_counts_calls() {
        let fake = FakeProvider::new("fake", Script::Succeed);
        fake.then(Script::Fail(ProviderError::unknown("timed out")));
        fake.then(Script::Processing);
        let req = RequestBuilder::new("pay_1", "EUR").amount("1.00").build();
        assert!(matches!(
            fake.refund(&req).await,
            Err(ProviderError::Unknown { .. })
        ));
        let processing = fake.refund(&req).await.map(|r| r.status);
        assert_eq!(processing, Ok(ProviderRefundStatus::Processing));
        let succeeded = fake.refund(&req).await.expect("default answer");
        assert_eq!(succeeded.status, ProviderRefundStatus::Succeeded);
        assert_eq!(succeeded.amount, req.amount);
        assert_eq!(
            succeeded.provider_reference.as_deref(),
            Some(req.provider_reference.as_str())
        );
        assert_eq!(fake.calls(), 3);
        assert_eq!(
            fake.sent_amounts(),
            [
                Some("1.00".to_owned()),
                Some("1.00".to_owned()),
                Some("1.00".to_owned())
            ]
        );
        assert_eq!(fake.requests()[0].refund_id, req.refund_id);
    }

    #[tokio::test]
    async fn the_fake_status_query_answers_its_queue_then_not_found() {
        let fake = FakeProvider::new("fake", Script::Succeed);
        let req = RequestBuilder::new("pay_1", "EUR").amount("1.00").build();
        fake.then_status(Ok(ProviderRefund::with_status(
            ProviderRefundStatus::Succeeded,
            "succeeded",
        )));
        let first = fake.refund_status(&req).await.map(|r| r.status);
        let second = fake.refund_status(&req).await.map(|r| r.status);
        assert_eq!(first, Ok(ProviderRefundStatus::Succeeded));
        assert_eq!(second, Ok(ProviderRefundStatus::NotFound));
        assert_eq!(fake.status_calls(), 2);
        assert!(fake
            .parse_webhook(&HeaderMap::new(), b"{}", OffsetDateTime::now_utc())
            .is_err());
    }
}
