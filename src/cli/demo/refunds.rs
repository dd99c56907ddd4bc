//! The tour's refunds through each provider: the simulator's sample request, the retry
//! with the same Idempotency-Key, and the completion of a `processing` refund by the
//! provider's signed webhook (or, for a provider without webhooks, the status query).

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::tour::{with_id, Sample, Tour, WEBHOOK_WAIT};

impl Tour {
    /// Creates a provider's sample refund; returns its id and status when it was accepted
    /// (`succeeded`, or `processing` until its webhook or status query).
    pub(super) async fn sample_step(
        &mut self,
        sample: &Sample,
        key: &str,
    ) -> Option<(String, String)> {
        let name = format!(
            "Refund through {}, {} {}",
            sample.provider,
            sample.body["amount"].as_str().unwrap_or("whole"),
            sample.body["currency"].as_str().unwrap_or("?")
        );
        let expected = format!("201 succeeded|processing ({})", sample.provider);
        match self.post_refund(Some(key), &sample.body).await {
            Ok(answer) => {
                let got = answer.summary();
                let status = answer.field("status").to_owned();
                let ok = answer.status == StatusCode::CREATED
                    && answer.field("provider") == sample.provider
                    && matches!(status.as_str(), "succeeded" | "processing");
                self.record(&name, expected, with_id(&got, &answer), ok);
                if !ok {
                    return None;
                }
                self.expect_succeeded(&sample.provider, &sample.body);
                Some((answer.field("id").to_owned(), status))
            }
            Err(error) => {
                self.record(&name, expected, error, false);
                None
            }
        }
    }

    /// The first sample refund again with its Idempotency-Key: the same refund, replayed.
    pub(super) async fn replay_step(&mut self, key: &str, body: &Value, first: Option<&str>) {
        let name = "Retry with the same Idempotency-Key";
        let expected = "200 + Idempotent-Replayed, same refund";
        let Some(first) = first else {
            self.record(name, expected, "skipped: no refund to replay", false);
            return;
        };
        match self.post_refund(Some(key), body).await {
            Ok(answer) => {
                let same = answer.field("id") == first;
                let got = format!(
                    "{}{}, {}",
                    answer.status.as_u16(),
                    if answer.replayed {
                        " + Idempotent-Replayed"
                    } else {
                        " (no replay header)"
                    },
                    if same {
                        "same refund".to_owned()
                    } else {
                        format!("refund {}", answer.field("id"))
                    }
                );
                let ok = answer.status == StatusCode::OK && answer.replayed && same;
                self.record(name, expected, got, ok);
            }
            Err(error) => self.record(name, expected, error, false),
        }
    }

    /// Waits for a refund answered `processing` to succeed: by the provider's signed webhook
    /// when it sends them, else by the status sync.
    pub(super) async fn settle_step(&mut self, sample: &Sample, id: &str) {
        let (how, source_expected) = if sample.webhooks {
            ("signed webhook", "webhook")
        } else {
            ("status query", "sync")
        };
        let name = format!("{} settles by {how}", sample.provider);
        let expected = format!(
            "succeeded via {source_expected} within {} s",
            WEBHOOK_WAIT.as_secs()
        );
        let started = Instant::now();
        let mut last = String::from("never read");
        while started.elapsed() < WEBHOOK_WAIT {
            match self
                .call(Method::GET, &format!("/v1/refunds/{id}"), None, None)
                .await
            {
                Ok(answer) => {
                    let status = answer.field("status").to_owned();
                    if matches!(status.as_str(), "succeeded" | "failed" | "canceled") {
                        let source = self.settled_by(id, &status).await;
                        let got = format!(
                            "{status} via {source} after {} ms",
                            started.elapsed().as_millis()
                        );
                        let ok = status == "succeeded" && source == source_expected;
                        self.record(&name, expected, got, ok);
                        return;
                    }
                    last = status;
                }
                Err(error) => last = error,
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.record(
            &name,
            expected,
            format!("still {last} after {} s", WEBHOOK_WAIT.as_secs()),
            false,
        );
    }

    /// Which source moved the refund into `status`, from its history.
    async fn settled_by(&self, id: &str, status: &str) -> String {
        let Ok(history) = self
            .call(Method::GET, &format!("/v1/refunds/{id}/events"), None, None)
            .await
        else {
            return "unknown source".to_owned();
        };
        history.body["data"]
            .as_array()
            .and_then(|events| {
                events
                    .iter()
                    .find(|e| e["kind"] == "status_changed" && e["status"] == status)
            })
            .and_then(|e| e["source"].as_str())
            .unwrap_or("unknown source")
            .to_owned()
    }
}
