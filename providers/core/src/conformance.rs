//! The conformance kit (feature `testkit`): the whole `RefundProvider` contract as tables of
//! checks that every adapter must pass, so that a new provider gets the same guarantees as
//! the first ones by implementing [`ConformanceTarget`] and calling [`run`]. One module per
//! table:
//!
//! - [`failures`]: for `refund` and `refund_status`, a delay past the timeout, a connection
//!   closed after sending, 5xx and unreadable answers are `Unknown`; a refused connection is
//!   `NotSent`; 401 is `Misconfigured`.
//! - [`statuses`]: every documented status word maps to its gateway status and failure code,
//!   from the create answer and from the status query; the provider's "no such refund" is
//!   `NotFound` from `refund_status`.
//! - [`refusals`]: every documented 4xx of the create call is `Rejected` with its code.
//! - [`references`]: `provider_reference` is deterministic, distinct per refund id, printable
//!   ASCII and within the provider's length limit.
//! - [`webhooks`]: an unsigned webhook is refused; a genuine one is accepted and names our
//!   reference; the same body with one byte changed is refused.
//! - [`faults`]: against the provider's own simulator, each injected fault gives the
//!   documented classification, and a refund applied then dropped is applied exactly once.
//! - [`proofs`]: what the engine concludes from an answer lost then not found, a success
//!   without an amount and a success in another currency follows from the adapter's declared
//!   proofs (DESIGN §16), never from an assumption.
//!
//! The target supplies the wire bodies (it knows the wire format, the kit does not), built
//! from the request it is given so that they echo its reference and payment.

mod failures;
mod faults;
mod proofs;
mod references;
mod refusals;
mod statuses;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use time::OffsetDateTime;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::error::ProviderError;
use crate::outcome::{ProviderRefund, ProviderRefundStatus};
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
    pub failure_code: Option<crate::error::FailureCode>,
}

/// A documented refusal of the create call and the code it must become.
#[derive(Debug, Clone)]
pub struct RefusalCase {
    /// What the provider refuses, for messages.
    pub name: String,
    pub answer: WireAnswer,
    /// The `Rejected` failure code.
    pub code: crate::error::FailureCode,
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
        currency: crate::money::Currency,
    ) -> Option<WireAnswer>;

    /// The longest reference the provider takes (e.g. eFundPay's `external_identifier`: 50).
    fn reference_limit(&self) -> usize;

    /// A genuine webhook about `req`'s refund, signed at `now`; `None` for a provider that
    /// sends none (it must not claim the `webhooks` capability then).
    fn signed_webhook(
        &self,
        req: &ProviderRefundRequest,
        now: OffsetDateTime,
    ) -> Option<SignedWebhook>;

    /// The provider's plugin, whose simulator the fault table runs against.
    fn plugin(&self) -> &'static dyn ProviderPlugin;
}

/// What a check expected and what it got, when they differ.
pub type Failures = Vec<String>;

/// Runs every table and panics with every failed row listed.
pub async fn run(target: &dyn ConformanceTarget) {
    let mut failures = Failures::new();
    failures.extend(failures::check(target).await);
    failures.extend(statuses::check(target).await);
    failures.extend(refusals::check(target).await);
    failures.extend(references::check(target));
    failures.extend(webhooks::check(target));
    failures.extend(faults::check(target).await);
    failures.extend(proofs::check(target).await);
    assert!(
        failures.is_empty(),
        "conformance failures:\n  {}",
        failures.join("\n  ")
    );
}

/// The adapter's timeout in the wiremock checks.
const TIMEOUT: Duration = Duration::from_millis(300);

/// The target's sample request with the reference `provider` derives for it.
fn sample_for(
    target: &dyn ConformanceTarget,
    provider: &dyn RefundProvider,
) -> ProviderRefundRequest {
    let mut sample = target.sample_request();
    sample.provider_reference = provider.provider_reference(&sample.refund_id);
    sample
}

/// A wiremock server answering `answer` to every request.
async fn serve(answer: &WireAnswer) -> MockServer {
    let server = MockServer::start().await;
    let mut template = ResponseTemplate::new(answer.status)
        .insert_header("content-type", "application/json")
        .set_body_string(answer.body.clone());
    for (name, value) in &answer.headers {
        template = template.insert_header(name.as_str(), value.as_str());
    }
    Mock::given(any())
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

/// Which call a check exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Refund,
    RefundStatus,
}

async fn call(
    provider: &dyn RefundProvider,
    sample: &ProviderRefundRequest,
    operation: Operation,
) -> Result<ProviderRefund, ProviderError> {
    match operation {
        Operation::Refund => provider.refund(sample).await,
        Operation::RefundStatus => provider.refund_status(sample).await,
    }
}

/// A loopback port nothing listens on: bound, then released.
pub async fn unused_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    port
}
