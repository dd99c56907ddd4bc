//! The conformance kit (feature `testkit`): one battery of failure-classification checks that
//! every adapter must pass against a wiremock server, so that a fourth provider gets the same
//! guarantees as the first three by implementing [`ConformanceTarget`] and calling [`run`].
//!
//! What it proves, for both `refund` and `refund_status`:
//! - an answer slower than the timeout is `Unknown` (the request may have been applied);
//! - a refused connection is `NotSent` (it provably never left);
//! - a connection closed after the request was sent is `Unknown`;
//! - 401 is `Misconfigured`; 500, 502 and 503 are `Unknown`;
//! - a malformed, truncated, non-JSON or empty answer is `Unknown`;
//! - and a webhook with no signature is `InvalidWebhook`.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{ProviderError, ProviderRefund, ProviderRefundRequest, RefundProvider};

/// How the kit builds the adapter under test.
pub trait ConformanceTarget: Send + Sync {
    /// The adapter, talking to `base_url` with the given timeout.
    fn build(&self, base_url: &str, timeout: Duration) -> Arc<dyn RefundProvider>;
    /// A request the adapter accepts (it passes `validate`).
    fn sample_request(&self) -> ProviderRefundRequest;
}

/// Which call a check exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Refund,
    RefundStatus,
}

/// The kind of error a check expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Unknown,
    NotSent,
    Misconfigured,
}

impl Expected {
    fn matches(self, error: &ProviderError) -> bool {
        matches!(
            (self, error),
            (Self::Unknown, ProviderError::Unknown { .. })
                | (Self::NotSent, ProviderError::NotSent { .. })
                | (Self::Misconfigured, ProviderError::Misconfigured { .. })
        )
    }
}

/// A canned answer a check serves.
#[derive(Debug, Clone)]
enum Answer {
    Status(u16, &'static str),
    Delayed(Duration),
    Refused,
    ClosedAfterRequest,
}

const CHECKS: &[(&str, Expected)] = &[
    ("a delay past the timeout", Expected::Unknown),
    ("a refused connection", Expected::NotSent),
    (
        "a connection closed after the request was sent",
        Expected::Unknown,
    ),
    ("HTTP 401", Expected::Misconfigured),
    ("HTTP 500", Expected::Unknown),
    ("HTTP 502", Expected::Unknown),
    ("HTTP 503", Expected::Unknown),
    ("malformed JSON", Expected::Unknown),
    ("truncated JSON", Expected::Unknown),
    ("an HTML page", Expected::Unknown),
    ("an empty body", Expected::Unknown),
    ("a JSON array", Expected::Unknown),
];

fn answer_for(check: &str) -> Answer {
    match check {
        "a delay past the timeout" => Answer::Delayed(Duration::from_millis(1500)),
        "a refused connection" => Answer::Refused,
        "a connection closed after the request was sent" => Answer::ClosedAfterRequest,
        "HTTP 401" => Answer::Status(401, r#"{"code":401,"message":"unauthorized"}"#),
        "HTTP 500" => Answer::Status(500, r#"{"code":500,"message":"internal error"}"#),
        "HTTP 502" => Answer::Status(502, "<html>Bad Gateway</html>"),
        "HTTP 503" => Answer::Status(503, ""),
        "malformed JSON" => Answer::Status(200, r#"{"code": 0, "data": {"transaction": ,}}"#),
        "truncated JSON" => Answer::Status(200, r#"{"code":0,"success":true,"data":{"stat"#),
        "an HTML page" => Answer::Status(200, "<html><body>maintenance</body></html>"),
        "an empty body" => Answer::Status(200, ""),
        "a JSON array" => Answer::Status(200, "[1,2,3]"),
        other => panic!("conformance kit has no answer for {other}"),
    }
}

const TIMEOUT: Duration = Duration::from_millis(300);

/// Runs the whole battery and panics with every failed check listed.
pub async fn run(target: &dyn ConformanceTarget) {
    let mut failures = Vec::new();
    let sample = target.sample_request();
    {
        let provider = target.build("http://127.0.0.1:9", TIMEOUT);
        if let Err(e) = provider.validate(&sample) {
            failures.push(format!("the sample request does not validate: {e}"));
        }
        match provider.parse_webhook(&HeaderMap::new(), b"{}", OffsetDateTime::now_utc()) {
            Err(ProviderError::InvalidWebhook { .. }) => {}
            other => failures.push(format!(
                "an unsigned webhook should be InvalidWebhook, got {other:?}"
            )),
        }
    }
    for operation in [Operation::Refund, Operation::RefundStatus] {
        for (check, expected) in CHECKS {
            let result = exercise(target, &sample, operation, answer_for(check)).await;
            match result {
                Err(ref error) if expected.matches(error) => {}
                other => failures.push(format!(
                    "{operation:?} with {check}: expected {expected:?}, got {other:?}"
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "conformance failures:\n  {}",
        failures.join("\n  ")
    );
}

async fn exercise(
    target: &dyn ConformanceTarget,
    sample: &ProviderRefundRequest,
    operation: Operation,
    answer: Answer,
) -> Result<ProviderRefund, ProviderError> {
    match answer {
        Answer::Status(code, body) => {
            let server = MockServer::start().await;
            Mock::given(any())
                .respond_with(
                    ResponseTemplate::new(code)
                        .insert_header("content-type", "application/json")
                        .set_body_string(body),
                )
                .mount(&server)
                .await;
            call(target, &server.uri(), sample, operation).await
        }
        Answer::Delayed(delay) => {
            let server = MockServer::start().await;
            Mock::given(any())
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_delay(delay)
                        .set_body_string("{}"),
                )
                .mount(&server)
                .await;
            call(target, &server.uri(), sample, operation).await
        }
        Answer::Refused => {
            let port = unused_port().await;
            call(
                target,
                &format!("http://127.0.0.1:{port}"),
                sample,
                operation,
            )
            .await
        }
        Answer::ClosedAfterRequest => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            let addr = listener.local_addr().expect("local addr");
            let server = tokio::spawn(async move {
                // Read until the request's headers have arrived, then hang up without a word.
                if let Ok((mut socket, _)) = listener.accept().await {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    drop(socket);
                }
            });
            let result = call(target, &format!("http://{addr}"), sample, operation).await;
            server.abort();
            result
        }
    }
}

async fn call(
    target: &dyn ConformanceTarget,
    base_url: &str,
    sample: &ProviderRefundRequest,
    operation: Operation,
) -> Result<ProviderRefund, ProviderError> {
    let provider = target.build(base_url, TIMEOUT);
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
