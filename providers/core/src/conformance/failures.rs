//! The failure-classification table: for `refund` and `refund_status`, what a broken
//! exchange must be concluded as (DESIGN §4).

use std::time::Duration;

use tokio::io::AsyncReadExt;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::harness::{call, sample_for, unused_port, Operation, TIMEOUT};
use super::target::{ConformanceTarget, Failures};
use crate::error::ProviderError;
use crate::outcome::ProviderRefund;
use crate::request::ProviderRefundRequest;

/// The kind of error a row expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
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

/// What a row serves.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Status(u16, &'static str),
    Delayed(Duration),
    Refused,
    ClosedAfterRequest,
}

const TABLE: &[(&str, Answer, Expected)] = &[
    (
        "a delay past the timeout",
        Answer::Delayed(Duration::from_millis(1500)),
        Expected::Unknown,
    ),
    ("a refused connection", Answer::Refused, Expected::NotSent),
    (
        "a connection closed after the request was sent",
        Answer::ClosedAfterRequest,
        Expected::Unknown,
    ),
    (
        "HTTP 401",
        Answer::Status(401, r#"{"code":401,"message":"unauthorized"}"#),
        Expected::Misconfigured,
    ),
    (
        "HTTP 500",
        Answer::Status(500, r#"{"code":500,"message":"internal error"}"#),
        Expected::Unknown,
    ),
    (
        "HTTP 502",
        Answer::Status(502, "<html>Bad Gateway</html>"),
        Expected::Unknown,
    ),
    ("HTTP 503", Answer::Status(503, ""), Expected::Unknown),
    (
        "malformed JSON",
        Answer::Status(200, r#"{"code": 0, "data": {"transaction": ,}}"#),
        Expected::Unknown,
    ),
    (
        "truncated JSON",
        Answer::Status(200, r#"{"code":0,"success":true,"data":{"stat"#),
        Expected::Unknown,
    ),
    (
        "an HTML page",
        Answer::Status(200, "<html><body>maintenance</body></html>"),
        Expected::Unknown,
    ),
    ("an empty body", Answer::Status(200, ""), Expected::Unknown),
    (
        "a JSON array",
        Answer::Status(200, "[1,2,3]"),
        Expected::Unknown,
    ),
];

pub(super) async fn check(target: &dyn ConformanceTarget) -> Failures {
    let mut failures = Failures::new();
    let offline = target.build("http://127.0.0.1:9", TIMEOUT);
    let sample = sample_for(target, offline.as_ref());
    if let Err(e) = offline.validate(&sample) {
        failures.push(format!("the sample request does not validate: {e}"));
    }
    for operation in [Operation::Refund, Operation::RefundStatus] {
        for (row, answer, expected) in TABLE {
            let result = exercise(target, &sample, operation, *answer).await;
            match result {
                Err(ref error) if expected.matches(error) => {}
                other => failures.push(format!(
                    "{operation:?} with {row}: expected {expected:?}, got {other:?}"
                )),
            }
        }
    }
    failures
}

async fn exercise(
    target: &dyn ConformanceTarget,
    sample: &ProviderRefundRequest,
    operation: Operation,
    answer: Answer,
) -> Result<ProviderRefund, ProviderError> {
    let at = |base_url: &str| target.build(base_url, TIMEOUT);
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
            call(at(&server.uri()).as_ref(), sample, operation).await
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
            call(at(&server.uri()).as_ref(), sample, operation).await
        }
        Answer::Refused => {
            let port = unused_port().await;
            call(
                at(&format!("http://127.0.0.1:{port}")).as_ref(),
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
            let result = call(at(&format!("http://{addr}")).as_ref(), sample, operation).await;
            server.abort();
            result
        }
    }
}
