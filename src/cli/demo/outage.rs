//! The tour's provider outage (DESIGN §17): AuthMS's simulator refuses connections for a
//! while; the refunds asked meanwhile are queued, then sent once each when it is back.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::tour::{Tour, WEBHOOK_WAIT};

/// The provider whose simulator the tour takes down, and for how long.
pub(super) const OUTAGE_PROVIDER: &str = "authms";
const OUTAGE_SECONDS: u64 = 2;
/// How many refunds are asked while it is down.
const OUTAGE_REFUNDS: usize = 3;

impl Tour {
    /// Takes AuthMS's simulator down (refusing connections), asks for refunds meanwhile
    /// (queued, `201 pending`), then waits for each to be sent once and succeed.
    pub(super) async fn outage_step(&mut self) {
        let name = format!("AuthMS down {OUTAGE_SECONDS} s: {OUTAGE_REFUNDS} refunds asked");
        let expected = format!("{OUTAGE_REFUNDS} × 201 pending, queued (provider_unavailable)");
        let Some(base) = self.simulator_url(OUTAGE_PROVIDER) else {
            self.record(&name, expected, "no simulator", false);
            return;
        };
        let down = self
            .client
            .post(format!("{base}/_sandbox/faults"))
            .json(&json!({"outage": {"mode": "refuse", "seconds": OUTAGE_SECONDS}}))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status);
        if let Err(error) = down {
            self.record(&name, expected, format!("simulator: {error}"), false);
            return;
        }
        // The simulator closes its socket as the outage starts.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut queued = Vec::new();
        let mut got = Vec::new();
        for n in 0..OUTAGE_REFUNDS {
            let body = json!({"payment_id": format!("txn_demo_outage_{n}"), "amount": "5.00",
                              "currency": "CNY", "customer_id": "usr_demo"});
            match self.post_refund(None, &body).await {
                Ok(answer) => {
                    let reason = answer.body["pending_reason"].as_str().unwrap_or("null");
                    got.push(format!("{} {reason}", answer.status.as_u16()));
                    if answer.status == StatusCode::CREATED
                        && answer.field("status") == "pending"
                        && reason == "provider_unavailable"
                    {
                        queued.push(answer.field("id").to_owned());
                    }
                }
                Err(error) => got.push(error),
            }
        }
        let ok = queued.len() == OUTAGE_REFUNDS;
        self.record(&name, expected, got.join(", "), ok);

        let name = "AuthMS back: the queue drains, oldest first";
        let expected = format!("{OUTAGE_REFUNDS} succeeded, each applied once by AuthMS");
        let deadline = Instant::now() + Duration::from_secs(OUTAGE_SECONDS) + WEBHOOK_WAIT;
        let mut settled = 0;
        while Instant::now() < deadline {
            settled = 0;
            for id in &queued {
                let path = format!("/v1/refunds/{id}");
                if let Ok(answer) = self.call(Method::GET, &path, None, None).await {
                    settled += usize::from(answer.field("status") == "succeeded");
                }
            }
            if settled == queued.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // What the provider applied: each refund exactly once (a probe refused while it was
        // still down never reached it).
        let effects: Vec<Value> = match self
            .client
            .get(format!("{base}/_sandbox/effects"))
            .send()
            .await
        {
            Ok(response) => response.json().await.unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let sent_once = queued
            .iter()
            .filter(|id| {
                effects
                    .iter()
                    .filter(|e| e["reference"].as_str() == Some(id.as_str()))
                    .count()
                    == 1
            })
            .count();
        let got = format!("{settled} succeeded, {sent_once} applied once by AuthMS");
        let ok = ok && settled == OUTAGE_REFUNDS && sent_once == OUTAGE_REFUNDS;
        self.record(name, expected, got, ok);
    }
}
