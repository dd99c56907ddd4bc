//! `refund-gateway demo`: a scripted tour of the gateway on the embedded default (DESIGN §12).
//!
//! It builds the embedded default configuration with two changes: the SQLite database lives
//! in a fresh temporary directory (removed afterwards) and the gateway listens on a free
//! loopback port. Every provider's simulator runs in-process, so nothing leaves loopback.
//! Every step talks to the gateway over HTTP, as a merchant would, and compares what came
//! back with what the contract promises; the report renders as a table and says whether
//! everything behaved.
//!
//! The tour: one refund through each provider (the simulator's own sample request, so a new
//! provider is toured without editing this file), an idempotent retry, refusals before any
//! provider call, a partial refund and an over-refund, provider refusals by sandbox magic
//! values, the completion by signed webhook of every refund a provider answered
//! `processing`, the listing and the reconciliation summary, whose expected figures are
//! computed from what the tour sent; then each provider's own statement: fetched from its
//! simulator (`GET /_sandbox/statement`, eFundPay's with its batches and fees, e-Buy's in
//! GBK) and posted to the statement import, where the embedded default's
//! `[statements.<provider>]` formats read them; every line must match.
//!
//! Last, a provider outage (DESIGN §17): AuthMS's simulator refuses connections for 2 s;
//! the refunds asked meanwhile are answered `201 pending` and queued (`pending_reason`
//! `provider_unavailable`), then sent, once each, when it is back.
//!
//! Two deliberate changes to the embedded default: the status sync worker's first query is
//! pushed back to 5 s, so that refunds of providers that send webhooks are visibly completed
//! by the simulator's signed webhook (sent about 200 ms after it answers) and not by a status
//! query; and AuthMS's circuit breaker opens at the first failure and probes after 500 ms, so
//! the outage takes seconds instead of the defaults' minutes.

mod finance;
mod outage;
mod refunds;
mod report;
mod tour;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::config::{Config, ConfigErrors, EMBEDDED_DEFAULT};
use crate::startup::{Application, StartError};
pub use report::{DemoReport, Step};
pub(crate) use tour::SANDBOX_API_KEY;
use tour::{samples, Sample, Tally, Tour};

/// Upper bound on the whole tour.
const TOUR_LIMIT: Duration = Duration::from_secs(40);
/// Upper bound on one HTTP request to the gateway.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the tour could not run at all (a step that misbehaves is a failed step, not this).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot create the temporary directory: {0}")]
    TempDir(std::io::Error),
    #[error("the embedded default does not load: {0}")]
    Config(#[from] ConfigErrors),
    #[error("the gateway did not start: {0}")]
    Start(#[from] StartError),
    #[error("cannot build the HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("the tour took longer than {} s", TOUR_LIMIT.as_secs())]
    Timeout,
}

/// A temporary directory removed when dropped.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "refund-gateway-demo-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The embedded default, pointed at `dir` and a free loopback port.
fn demo_config(dir: &Path) -> Result<Config, ConfigErrors> {
    let mut config = Config::from_toml(EMBEDDED_DEFAULT)?;
    config.server.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    config.server.public_base_url = None;
    config.database.url = format!("sqlite://{}/demo.db", dir.display());
    config.sync.first_retry = config.sync.first_retry.max(Duration::from_secs(5));
    if let Some(breaker) = config.breakers.get_mut(outage::OUTAGE_PROVIDER) {
        breaker.failures = 1;
        breaker.open = Duration::from_millis(500);
        breaker.max_open = Duration::from_millis(1_000);
    }
    Ok(config)
}

/// Runs the tour: starts the gateway, walks the steps, stops it and removes the directory.
pub async fn run() -> Result<DemoReport, DemoError> {
    let started = Instant::now();
    let dir = TempDir::new().map_err(DemoError::TempDir)?;
    let app = Application::build(demo_config(dir.path())?).await?;
    let samples = samples(&app);
    let gateway_url = format!("http://127.0.0.1:{}", app.port());
    let simulators = app
        .engine()
        .providers()
        .sandbox_urls()
        .into_iter()
        .map(|(id, url)| (id.to_string(), url))
        .collect();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(DemoError::Client)?;
    let tour = Tour {
        client,
        base: gateway_url.clone(),
        simulators,
        steps: Vec::new(),
        succeeded: BTreeMap::new(),
        recorded: Tally::default(),
    };
    let steps = tokio::time::timeout(TOUR_LIMIT, tour.walk(samples)).await;
    let _ = stop.send(());
    let _ = server.await;
    let steps = steps.map_err(|_| DemoError::Timeout)?;
    Ok(DemoReport {
        gateway_url,
        database_dir: dir.path().to_path_buf(),
        steps,
        elapsed: started.elapsed(),
    })
}

impl Tour {
    /// The tour itself, step by step, in the order the module doc tells it.
    async fn walk(mut self, samples: Vec<Sample>) -> Vec<Step> {
        // A refund through each provider: its simulator's sample request.
        let mut created = Vec::new();
        for sample in &samples {
            let key = format!("demo-{}-refund-1", sample.provider);
            if let Some((id, status)) = self.sample_step(sample, &key).await {
                created.push((sample, key, id, status));
            }
        }

        // The first of them again with the same Idempotency-Key.
        match created.first() {
            Some((sample, key, id, _)) => self.replay_step(key, &sample.body, Some(id)).await,
            None => self.replay_step("-", &Value::Null, None).await,
        }

        // Refused before any provider is called.
        self.create_step(
            "Amount with too many decimals",
            "400 amount_invalid",
            None,
            json!({"payment_id": "7099948d-7286-47e4-aad8-b68f7eb44591", "amount": "12.999",
                   "currency": "EUR"}),
        )
        .await;

        // What is left of a payment (DESIGN §14): 60.00 of a 100.00 payment, then 50.00
        // more is refused before any provider is called.
        let partial = json!({"payment_id": "txn_demo_2002", "amount": "60.00",
                             "payment_amount": "100.00", "currency": "CNY",
                             "customer_id": "usr_demo"});
        if self
            .create_step(
                "Partial refund: 60.00 of a 100.00 CNY payment",
                "201 succeeded (authms)",
                None,
                partial.clone(),
            )
            .await
            .is_some()
        {
            self.expect_succeeded("authms", &partial);
        }
        self.create_step(
            "Over-refund: 50.00 more of that payment",
            "400 amount_exceeds_refundable",
            None,
            json!({"payment_id": "txn_demo_2002", "amount": "50.00", "currency": "CNY",
                   "customer_id": "usr_demo"}),
        )
        .await;

        // Refused by the providers (sandbox magic values).
        for (name, expected, body) in [
            (
                "AuthMS: wallet cannot cover it",
                "201 failed insufficient_balance (authms)",
                json!({"payment_id": "txn_insufficient", "amount": "20.00", "currency": "CNY",
                       "customer_id": "usr_demo"}),
            ),
            (
                "eFundPay: declined (40.40 EUR)",
                "201 failed provider_declined (efundpay)",
                json!({"payment_id": "pay_demo_declined", "amount": "40.40", "currency": "EUR"}),
            ),
        ] {
            if self.create_step(name, expected, None, body).await.is_some() {
                self.recorded.failed += 1;
            }
        }

        // Refunds answered `processing` settle by the simulator's signed webhook.
        for (sample, _, id, status) in &created {
            if status == "processing" {
                self.settle_step(sample, id).await;
            }
        }

        self.list_step().await;
        self.summary_step().await;

        // Each provider's statement as it would send it, from its simulator.
        self.statement_step("efundpay", "text/csv").await;
        self.statement_step("ebuy", "application/octet-stream")
            .await;
        self.outage_step().await;
        self.steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_keeps_the_embedded_default_but_uses_the_given_directory() {
        let config = demo_config(Path::new("/tmp/demo-dir")).expect("embedded default");
        assert_eq!(config.database.url, "sqlite:///tmp/demo-dir/demo.db");
        assert_eq!(config.server.listen.port(), 0);
        assert!(config.uses_sandbox());
        assert!(config.sync.first_retry >= Duration::from_secs(5));
    }
}
