//! How a check drives an adapter: the timeout it is built with, the sample request with
//! the adapter's reference, a wiremock server answering one [`WireAnswer`], the call a row
//! exercises, and a port nothing listens on.

use std::time::Duration;

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::target::{ConformanceTarget, WireAnswer};
use crate::error::ProviderError;
use crate::outcome::ProviderRefund;
use crate::provider::RefundProvider;
use crate::request::ProviderRefundRequest;

/// The adapter's timeout in the wiremock checks.
pub(super) const TIMEOUT: Duration = Duration::from_millis(300);

/// The target's sample request with the reference `provider` derives for it.
pub(super) fn sample_for(
    target: &dyn ConformanceTarget,
    provider: &dyn RefundProvider,
) -> ProviderRefundRequest {
    let mut sample = target.sample_request();
    sample.provider_reference = provider.provider_reference(&sample.refund_id);
    sample
}

/// A wiremock server answering `answer` to every request.
pub(super) async fn serve(answer: &WireAnswer) -> MockServer {
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

pub(super) async fn call(
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
