//! The tour's plumbing: the demo merchant's client to the gateway, the simulators' sample
//! requests, what one answer says, and the record of the steps taken with what the later
//! steps (the list and the summary) must find.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::Value;

use super::report::Step;
use crate::startup::Application;

/// The embedded default's merchant API key (merchant `demo`, DESIGN §12).
pub(crate) const SANDBOX_API_KEY: &str = "sk_sandbox_demo";

/// How long the webhook-driven completion may take before the step fails.
pub(super) const WEBHOOK_WAIT: Duration = Duration::from_secs(10);

/// A provider's sample refund, from its in-process simulator.
#[derive(Debug, Clone)]
pub(super) struct Sample {
    pub(super) provider: String,
    pub(super) body: Value,
    /// The provider sends webhooks: a `processing` answer must be settled by one.
    pub(super) webhooks: bool,
}

/// Each simulator's sample merchant request, in the registry's plugin order.
pub(super) fn samples(app: &Application) -> Vec<Sample> {
    let providers = app.engine().providers();
    providers
        .simulators()
        .map(|simulator| {
            let webhooks = refund_provider::ProviderId::parse(simulator.provider())
                .ok()
                .and_then(|id| providers.get(&id).map(|p| p.capabilities().webhooks))
                .unwrap_or(false);
            Sample {
                provider: simulator.provider().to_owned(),
                body: simulator.sample_merchant_body("demo1"),
                webhooks,
            }
        })
        .collect()
}

/// How many refunds the tour expects recorded, by final outcome.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Tally {
    pub(super) succeeded: usize,
    pub(super) failed: usize,
}

/// What one HTTP exchange with the gateway gave.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) replayed: bool,
    pub(super) body: Value,
}

impl Answer {
    pub(super) fn field(&self, name: &str) -> &str {
        self.body[name].as_str().unwrap_or("-")
    }

    fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("-")
    }

    /// `201 succeeded (authms)`, `201 failed insufficient_balance (authms)`, `400 amount_invalid`.
    pub(super) fn summary(&self) -> String {
        let code = self.status.as_u16();
        if self.body.get("error").is_some() {
            return format!("{code} {}", self.error_code());
        }
        match self.body["failure_code"].as_str() {
            Some(failure) => format!(
                "{code} {} {failure} ({})",
                self.field("status"),
                self.field("provider")
            ),
            None => format!(
                "{code} {} ({})",
                self.field("status"),
                self.field("provider")
            ),
        }
    }
}

/// The tour under way: the demo merchant's client, where the gateway and the simulators
/// listen, the steps so far and what the list and the summary must show.
pub(super) struct Tour {
    pub(super) client: reqwest::Client,
    pub(super) base: String,
    /// The in-process simulators' base URLs by provider.
    pub(super) simulators: Vec<(String, String)>,
    pub(super) steps: Vec<Step>,
    /// What the summary must show as succeeded: (provider, currency) → amount.
    pub(super) succeeded: BTreeMap<(String, String), Decimal>,
    /// The refunds the list must show.
    pub(super) recorded: Tally,
}

impl Tour {
    pub(super) fn record(
        &mut self,
        name: &str,
        expected: impl Into<String>,
        got: impl Into<String>,
        ok: bool,
    ) {
        self.steps.push(Step {
            name: name.to_owned(),
            expected: expected.into(),
            got: got.into(),
            ok,
        });
    }

    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        idempotency_key: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(SANDBOX_API_KEY);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| format!("error: {e}"))?;
        let status = response.status();
        let replayed = response
            .headers()
            .get("idempotent-replayed")
            .is_some_and(|v| v.as_bytes() == b"true");
        let text = response.text().await.map_err(|e| format!("error: {e}"))?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Answer {
            status,
            replayed,
            body,
        })
    }

    pub(super) async fn post_refund(
        &self,
        key: Option<&str>,
        body: &Value,
    ) -> Result<Answer, String> {
        self.call(Method::POST, "/v1/refunds", key, Some(body))
            .await
    }

    /// A create step whose answer must read exactly `expected` (see [`Answer::summary`]).
    /// Returns the answer when the step behaved.
    pub(super) async fn create_step(
        &mut self,
        name: &str,
        expected: &str,
        key: Option<&str>,
        body: Value,
    ) -> Option<Answer> {
        match self.post_refund(key, &body).await {
            Ok(answer) => {
                let got = answer.summary();
                let ok = got == expected;
                self.record(name, expected, with_id(&got, &answer), ok);
                ok.then_some(answer)
            }
            Err(error) => {
                self.record(name, expected, error, false);
                None
            }
        }
    }

    /// `provider`'s in-process simulator's base URL, without a trailing slash.
    pub(super) fn simulator_url(&self, provider: &str) -> Option<String> {
        self.simulators
            .iter()
            .find(|(id, _)| id == provider)
            .map(|(_, url)| url.trim_end_matches('/').to_owned())
    }

    /// Counts a refund expected to end `succeeded`, with its amount for the summary.
    pub(super) fn expect_succeeded(&mut self, provider: &str, body: &Value) {
        self.recorded.succeeded += 1;
        let amount = body["amount"]
            .as_str()
            .and_then(|text| text.parse::<Decimal>().ok())
            .unwrap_or_default();
        let currency = body["currency"].as_str().unwrap_or("?").to_owned();
        *self
            .succeeded
            .entry((provider.to_owned(), currency))
            .or_default() += amount;
    }
}

/// `got` followed by the refund id, when the answer carries one.
pub(super) fn with_id(got: &str, answer: &Answer) -> String {
    match answer.body["id"].as_str() {
        Some(id) => format!("{got} {id}"),
        None => got.to_owned(),
    }
}
