//! Merchant webhooks (DESIGN §9) from the transactional outbox: every event was written in
//! the same transaction as the status change it reports, so none is lost. Delivery is at
//! least once, in order per refund (a refund's next event waits for the previous one),
//! signed `Refund-Gateway-Signature: t=…,v1=…` with the merchant's secret, retried with
//! exponential backoff for 3 days; each attempt is a line in the refund's history.

use std::time::Duration;

use refund_provider::signature::sign_header_with_all;
use refund_provider::ExposeSecret;

use super::{millis, Engine, EngineError};
use crate::store::work::{Delivery, OutboxRow, Queue};

/// The header carrying the signature of a merchant webhook.
pub(crate) const SIGNATURE_HEADER: &str = "Refund-Gateway-Signature";

/// How long an event is retried before it is given up on.
pub(crate) const DELIVERY_WINDOW: Duration = Duration::from_secs(3 * 24 * 3600);

const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(3600);
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
const BATCH: i64 = 32;

/// The delay before retry number `attempts` (1-based): 1 s, 2 s, 4 s, … at most an hour.
pub(crate) fn retry_delay(attempts: i64) -> Duration {
    let factor = 2u32.saturating_pow(u32::try_from((attempts - 1).clamp(0, 20)).unwrap_or(20));
    FIRST_RETRY.saturating_mul(factor).min(MAX_RETRY)
}

impl Engine {
    /// Runs the delivery loop forever; the application aborts it on shutdown.
    pub(crate) async fn run_outbox(self) {
        let client = match reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "cannot build the webhook client; merchant webhooks are not delivered");
                return;
            }
        };
        let mut ticker = super::ticker::Ticker::new(|engine| {
            engine
                .config()
                .sync
                .poll_interval
                .min(Duration::from_secs(1))
        });
        loop {
            let engine = ticker.tick(&self).await;
            if let Err(e) = engine.outbox_pass(&client).await {
                tracing::warn!(error = %e, "outbox pass failed");
            }
        }
    }

    /// Delivers the events that are due; returns how many were attempted.
    #[doc(hidden)]
    pub async fn outbox_pass(&self, client: &reqwest::Client) -> Result<usize, EngineError> {
        let now = self.store.now();
        let lease = now + millis(DELIVERY_TIMEOUT) + 5_000;
        let rows = self.store.claim_due_outbox(now, lease, BATCH).await?;
        let mut count = 0;
        for row in rows {
            // Deliver only while the lease is still ours (see `Store::renew_lease`): two
            // processes never deliver one event at once.
            let now = self.store.now();
            let until = now + millis(DELIVERY_TIMEOUT) + 5_000;
            if !self
                .store
                .renew_lease(Queue::Outbox, &row.id.to_string(), lease, now, until)
                .await?
            {
                tracing::info!(event_id = %row.event_id, "outbox lease expired before its turn; left for a later pass");
                continue;
            }
            count += 1;
            let outcome = self.deliver(client, &row).await;
            self.store
                .record_delivery(&row, &outcome, self.store.now())
                .await?;
        }
        Ok(count)
    }

    async fn deliver(&self, client: &reqwest::Client, row: &OutboxRow) -> Delivery {
        let now = self.store.now();
        let retry_or_give_up = |error: String| {
            if now - row.created_at > millis(DELIVERY_WINDOW) {
                Delivery::GaveUp { error }
            } else {
                Delivery::Retry {
                    error,
                    next_attempt_at: now + millis(retry_delay(row.attempts + 1)),
                }
            }
        };
        let Some(merchant) = self.config().merchant(&row.merchant_id) else {
            return Delivery::GaveUp {
                error: "merchant no longer configured".into(),
            };
        };
        let Some(url) = merchant
            .webhook_url
            .as_ref()
            .filter(|_| !merchant.webhook_secrets.is_empty())
        else {
            return Delivery::GaveUp {
                error: "merchant has no webhook_url or webhook_secret".into(),
            };
        };
        let timestamp = now / 1000;
        // One `v1` per configured secret: a merchant rotating its secret verifies with either.
        let secrets: Vec<&[u8]> = merchant
            .webhook_secrets
            .iter()
            .map(|s| s.expose_secret().as_bytes())
            .collect();
        let signature = sign_header_with_all(&secrets, timestamp, row.payload.as_bytes());
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(row.payload.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => Delivery::Delivered {
                status: response.status().as_u16(),
            },
            Ok(response) => retry_or_give_up(format!(
                "merchant answered HTTP {}",
                response.status().as_u16()
            )),
            Err(e) => retry_or_give_up(format!("delivery failed: {}", e.without_url())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        assert_eq!(retry_delay(1), Duration::from_secs(1));
        assert_eq!(retry_delay(2), Duration::from_secs(2));
        assert_eq!(retry_delay(5), Duration::from_secs(16));
        assert_eq!(retry_delay(40), Duration::from_secs(3600));
    }
}
