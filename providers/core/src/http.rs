//! The HTTP plumbing adapters share: a client with timeouts, and the classification of
//! transport failures and status codes every provider has in common.
//!
//! The rule that matters: once a request may have left, a failure is `Unknown`, never
//! `NotSent`. Only a failure to connect proves the provider saw nothing.

use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ProviderError;

/// Default provider timeout (`timeout_ms`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(10_000);

/// A reqwest client for one provider: whole-request timeout `timeout`, connect timeout at
/// most the same, no redirects (a provider that redirects a payment call is misconfigured).
pub fn client(timeout: Duration) -> Result<reqwest::Client, ProviderError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| ProviderError::misconfigured(format!("cannot build HTTP client: {e}")))
}

/// A provider's HTTP answer, read whole.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl HttpAnswer {
    /// The body as text for error messages, shortened.
    pub fn body_excerpt(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        text.chars().take(200).collect()
    }

    /// Parses the body as JSON; an unparseable answer is an unknown outcome.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ProviderError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ProviderError::unknown(format!(
                "unparseable answer (HTTP {}): {e}",
                self.status.as_u16()
            ))
        })
    }
}

/// Sends a request and reads the whole answer, classifying transport failures.
pub async fn send(request: RequestBuilder) -> Result<HttpAnswer, ProviderError> {
    let response = request.send().await.map_err(classify_transport)?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| {
        ProviderError::unknown(format!(
            "answer lost while reading the body (HTTP {}): {}",
            status.as_u16(),
            describe(&e)
        ))
    })?;
    Ok(HttpAnswer {
        status,
        body: body.to_vec(),
    })
}

/// Transport failure → what may be concluded. A failed connection (refused, DNS, TLS
/// handshake) means nothing was sent; anything after that may have been applied.
pub fn classify_transport(error: reqwest::Error) -> ProviderError {
    if error.is_builder() {
        return ProviderError::misconfigured(format!("cannot build request: {}", describe(&error)));
    }
    if error.is_connect() {
        return ProviderError::not_sent(format!("connection failed: {}", describe(&error)));
    }
    if error.is_timeout() {
        return ProviderError::unknown(format!("timed out: {}", describe(&error)));
    }
    ProviderError::unknown(format!("transport error: {}", describe(&error)))
}

/// Statuses whose meaning is the same at every provider: 401/403 mean our credentials are
/// wrong, 5xx means the outcome is unknown. Returns `None` for statuses the adapter maps.
pub fn classify_common_status(answer: &HttpAnswer) -> Option<ProviderError> {
    let status = answer.status;
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Some(ProviderError::misconfigured(format!(
            "provider answered HTTP {}: check the credentials",
            status.as_u16()
        )));
    }
    if status.is_server_error() {
        return Some(ProviderError::unknown(format!(
            "provider answered HTTP {}: {}",
            status.as_u16(),
            answer.body_excerpt()
        )));
    }
    None
}

/// An error's message with its sources; the provider URL is replaced by a placeholder so
/// payment ids in paths do not spread through logs.
fn describe(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = match error.url() {
        Some(url) => error.to_string().replace(url.as_str(), "<provider>"),
        None => error.to_string(),
    };
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
