//! Webhooks as a simulator sends them: signed afresh with the shared `t=,v1=` scheme at every
//! attempt, retried with doubling waits until a 2xx answer or the last attempt, every attempt
//! handed back to be recorded, and no wait outliving the sandbox.

use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::signature::sign_header;

/// Sleeps for `delay`; `false` when the sandbox stops first (or has already stopped), so the
/// caller gives up instead of acting after its sandbox is gone.
pub async fn pause(stopped: &watch::Receiver<bool>, delay: Duration) -> bool {
    let mut stopped = stopped.clone();
    if *stopped.borrow() {
        return false;
    }
    tokio::select! {
        _ = tokio::time::sleep(delay) => true,
        _ = stopped.wait_for(|stop| *stop) => false,
    }
}

/// How a simulator posts its signed webhooks.
#[derive(Debug, Clone, Copy)]
pub struct WebhookPost<'a> {
    pub http: &'a reqwest::Client,
    /// The header the signature goes in (`eFundPay-Signature`, `Stripe-Signature`).
    pub signature_header: &'static str,
    /// The `Content-Type` of the body, as the provider writes it.
    pub content_type: &'static str,
    /// The secret the simulator signs with.
    pub secret: &'a [u8],
    /// At most this many attempts (at least one).
    pub attempts: u32,
    /// The wait after the first failed attempt, doubled after each further one.
    pub retry: Duration,
    /// The sandbox's stop signal: a retry wait ends the delivery when it turns true.
    pub stopped: &'a watch::Receiver<bool>,
}

impl WebhookPost<'_> {
    /// Posts `body` to `url` until an attempt is answered 2xx, the attempts run out or the
    /// sandbox stops. `record` gets every attempt: its number (from 1) and the answer's
    /// status (`None` when no answer came).
    pub async fn deliver(&self, url: &str, body: &[u8], mut record: impl FnMut(u32, Option<u16>)) {
        let attempts = self.attempts.max(1);
        let mut wait = self.retry;
        for attempt in 1..=attempts {
            let signature = sign_header(
                self.secret,
                OffsetDateTime::now_utc().unix_timestamp(),
                body,
            );
            let answer = self
                .http
                .post(url)
                .header(self.signature_header, signature)
                .header("content-type", self.content_type)
                .body(body.to_vec())
                .send()
                .await
                .ok()
                .map(|response| response.status().as_u16());
            record(attempt, answer);
            if matches!(answer, Some(200..=299)) || attempt == attempts {
                return;
            }
            if !pause(self.stopped, wait).await {
                return;
            }
            wait = wait.saturating_mul(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::{header_exists, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    /// The attempts of one delivery (at most 3) to a receiver that answers `first` once,
    /// then `then`, from a sandbox that has `stopped` or not.
    async fn attempts(first: u16, then: u16, stopped: bool) -> Vec<(u32, Option<u16>)> {
        let receiver = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header_exists("Demo-Signature"))
            .respond_with(ResponseTemplate::new(first))
            .up_to_n_times(1)
            .mount(&receiver)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(then))
            .mount(&receiver)
            .await;
        let (_stop, stopped) = watch::channel(stopped);
        let post = WebhookPost {
            http: &reqwest::Client::new(),
            signature_header: "Demo-Signature",
            content_type: "application/json",
            secret: b"whsec",
            attempts: 3,
            retry: Duration::from_millis(1),
            stopped: &stopped,
        };
        let mut seen = Vec::new();
        post.deliver(&receiver.uri(), b"{}", |n, answer| seen.push((n, answer)))
            .await;
        seen
    }

    #[tokio::test]
    async fn a_refused_webhook_is_retried_until_it_is_taken() {
        assert_eq!(
            attempts(500, 200, false).await,
            [(1, Some(500)), (2, Some(200))]
        );
    }

    #[tokio::test]
    async fn retries_stop_after_the_last_attempt() {
        let all_refused = attempts(503, 503, false).await;
        assert_eq!(
            all_refused,
            [(1, Some(503)), (2, Some(503)), (3, Some(503))]
        );
    }

    #[tokio::test]
    async fn a_stopped_sandbox_makes_one_attempt_and_waits_no_more() {
        assert_eq!(attempts(503, 503, true).await, [(1, Some(503))]);
        let (_stop, stopped) = watch::channel(true);
        assert!(!pause(&stopped, Duration::from_secs(60)).await);
    }
}
