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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::config::{Config, ConfigErrors, EMBEDDED_DEFAULT};
use crate::startup::{Application, StartError};

/// The embedded default's merchant API key (merchant `demo`, DESIGN §12).
pub(crate) const SANDBOX_API_KEY: &str = "sk_sandbox_demo";

/// How long the webhook-driven completion may take before the step fails.
const WEBHOOK_WAIT: Duration = Duration::from_secs(10);
/// Upper bound on the whole tour.
const TOUR_LIMIT: Duration = Duration::from_secs(40);
/// The provider whose simulator the tour takes down, and for how long.
const OUTAGE_PROVIDER: &str = "authms";
const OUTAGE_SECONDS: u64 = 2;
/// How many refunds are asked while it is down.
const OUTAGE_REFUNDS: usize = 3;
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

/// One step of the tour: what was expected, what happened, whether that is right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub(crate) name: String,
    pub(crate) expected: String,
    pub(crate) got: String,
    pub(crate) ok: bool,
}

/// What the tour did.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub(crate) gateway_url: String,
    pub database_dir: PathBuf,
    pub steps: Vec<Step>,
    pub(crate) elapsed: Duration,
}

impl DemoReport {
    /// True when every step behaved.
    pub fn passed(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|s| s.ok)
    }

    /// The steps as a plain-text table, then a verdict line.
    pub fn render(&self) -> String {
        let headers = ["#", "step", "expected", "got", "ok"];
        let rows: Vec<[String; 5]> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                [
                    (i + 1).to_string(),
                    s.name.clone(),
                    s.expected.clone(),
                    s.got.clone(),
                    if s.ok { "ok" } else { "FAIL" }.to_owned(),
                ]
            })
            .collect();
        let mut widths = headers.map(|h| h.chars().count());
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: [&str; 5]| {
            let mut out = String::new();
            for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
                let pad = width.saturating_sub(cell.chars().count());
                if i + 1 == cells.len() {
                    out.push_str(cell);
                } else {
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad + 2));
                }
            }
            out.trim_end().to_owned()
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "refund-gateway demo: embedded default, SQLite in {}, gateway at {}",
            self.database_dir.display(),
            self.gateway_url
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", line(headers));
        let rule = widths.map(|w| "-".repeat(w));
        let _ = writeln!(
            out,
            "{}",
            line([&rule[0], &rule[1], &rule[2], &rule[3], &rule[4]])
        );
        for row in &rows {
            let _ = writeln!(
                out,
                "{}",
                line([&row[0], &row[1], &row[2], &row[3], &row[4]])
            );
        }
        let failed = self.steps.iter().filter(|s| !s.ok).count();
        let _ = writeln!(out);
        if self.passed() {
            let _ = writeln!(
                out,
                "all {} steps behaved ({} ms)",
                self.steps.len(),
                self.elapsed.as_millis()
            );
        } else {
            let _ = writeln!(
                out,
                "{failed} of {} steps did NOT behave ({} ms)",
                self.steps.len(),
                self.elapsed.as_millis()
            );
        }
        out
    }
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
    if let Some(breaker) = config.breakers.get_mut(OUTAGE_PROVIDER) {
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

/// A provider's sample refund, from its in-process simulator.
#[derive(Debug, Clone)]
struct Sample {
    provider: String,
    body: Value,
    /// The provider sends webhooks: a `processing` answer must be settled by one.
    webhooks: bool,
}

/// Each simulator's sample merchant request, in the registry's plugin order.
fn samples(app: &Application) -> Vec<Sample> {
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
struct Tally {
    succeeded: usize,
    failed: usize,
}

/// What one HTTP exchange with the gateway gave.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    replayed: bool,
    body: Value,
}

impl Answer {
    fn field(&self, name: &str) -> &str {
        self.body[name].as_str().unwrap_or("-")
    }

    fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("-")
    }

    /// `201 succeeded (authms)`, `201 failed insufficient_balance (authms)`, `400 amount_invalid`.
    fn summary(&self) -> String {
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

struct Tour {
    client: reqwest::Client,
    base: String,
    /// The in-process simulators' base URLs by provider.
    simulators: Vec<(String, String)>,
    steps: Vec<Step>,
    /// What the summary must show as succeeded: (provider, currency) → amount.
    succeeded: BTreeMap<(String, String), Decimal>,
    /// The refunds the list must show.
    recorded: Tally,
}

impl Tour {
    fn record(
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

    async fn call(
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

    async fn post_refund(&self, key: Option<&str>, body: &Value) -> Result<Answer, String> {
        self.call(Method::POST, "/v1/refunds", key, Some(body))
            .await
    }

    /// A create step whose answer must read exactly `expected` (see [`Answer::summary`]).
    /// Returns the answer when the step behaved.
    async fn create_step(
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

    /// Takes AuthMS's simulator down (refusing connections), asks for refunds meanwhile
    /// (queued, `201 pending`), then waits for each to be sent once and succeed.
    async fn outage_step(&mut self) {
        let name = format!("AuthMS down {OUTAGE_SECONDS} s: {OUTAGE_REFUNDS} refunds asked");
        let expected = format!("{OUTAGE_REFUNDS} × 201 pending, queued (provider_unavailable)");
        let Some(base) = self
            .simulators
            .iter()
            .find(|(id, _)| id == OUTAGE_PROVIDER)
            .map(|(_, url)| url.trim_end_matches('/').to_owned())
        else {
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

    /// Fetches `provider`'s statement from its simulator and imports it as the merchant:
    /// every line must match (read in the provider's own format).
    async fn statement_step(&mut self, provider: &str, content_type: &str) {
        let name = format!("{provider}'s own statement from its simulator, reconciled");
        let expected = "200, every line matched, no variance";
        let Some(base) = self
            .simulators
            .iter()
            .find(|(id, _)| id == provider)
            .map(|(_, url)| url.trim_end_matches('/').to_owned())
        else {
            self.record(&name, expected, "no simulator", false);
            return;
        };
        let fetched = async {
            let response = self
                .client
                .get(format!("{base}/_sandbox/statement"))
                .send()
                .await?
                .error_for_status()?;
            response.bytes().await
        }
        .await;
        let body = match fetched {
            Ok(body) => body,
            Err(error) => {
                self.record(&name, expected, format!("simulator: {error}"), false);
                return;
            }
        };
        let sent = self
            .client
            .post(format!(
                "{}/v1/reconciliation/statements/{provider}",
                self.base
            ))
            .bearer_auth(SANDBOX_API_KEY)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                self.record(&name, expected, format!("error: {error}"), false);
                return;
            }
        };
        let status = response.status();
        let report: Value = response.json().await.unwrap_or(Value::Null);
        let variances = report["variances"].as_array().map_or(0, Vec::len);
        let matched = report["matched"]["count"].as_u64().unwrap_or(0);
        let malformed = report["malformed_count"].as_u64().unwrap_or(0);
        let got = format!(
            "{}, {matched} refund(s) matched, {variances} variance(s), {malformed} malformed line(s)",
            status.as_u16()
        );
        let ok = status == StatusCode::OK && matched > 0 && variances == 0 && malformed == 0;
        self.record(&name, expected, got, ok);
    }

    /// Counts a refund expected to end `succeeded`, with its amount for the summary.
    fn expect_succeeded(&mut self, provider: &str, body: &Value) {
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

    /// Creates a provider's sample refund; returns its id and status when it was accepted
    /// (`succeeded`, or `processing` until its webhook or status query).
    async fn sample_step(&mut self, sample: &Sample, key: &str) -> Option<(String, String)> {
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

    async fn replay_step(&mut self, key: &str, body: &Value, first: Option<&str>) {
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
    async fn settle_step(&mut self, sample: &Sample, id: &str) {
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

    async fn list_step(&mut self) {
        let name = "List the refunds";
        let Tally { succeeded, failed } = self.recorded;
        let total = succeeded + failed;
        let expected = format!(
            "{total} recorded: {succeeded} succeeded, {failed} failed (none for the refused amount or the over-refund)"
        );
        match self
            .call(Method::GET, "/v1/refunds?limit=100", None, None)
            .await
        {
            Ok(answer) => {
                let data = answer.body["data"].as_array().cloned().unwrap_or_default();
                let count = |status: &str| data.iter().filter(|r| r["status"] == status).count();
                let got = format!(
                    "{} recorded: {} succeeded, {} failed, {} other",
                    data.len(),
                    count("succeeded"),
                    count("failed"),
                    data.len() - count("succeeded") - count("failed"),
                );
                let ok = answer.status == StatusCode::OK
                    && data.len() == total
                    && count("succeeded") == succeeded
                    && count("failed") == failed;
                self.record(name, expected, got, ok);
            }
            Err(error) => self.record(name, expected, error, false),
        }
    }

    async fn summary_step(&mut self) {
        let name = "Reconciliation summary";
        let expected = self.summary_expected();
        let expected = expected.as_str();
        let now = OffsetDateTime::now_utc();
        let (Ok(from), Ok(to)) = (
            (now - time::Duration::hours(1)).format(&Rfc3339),
            (now + time::Duration::hours(1)).format(&Rfc3339),
        ) else {
            self.record(name, expected, "cannot format the period", false);
            return;
        };
        let request = self
            .client
            .get(format!("{}/v1/reconciliation/summary", self.base))
            .bearer_auth(SANDBOX_API_KEY)
            .query(&[("from", from.as_str()), ("to", to.as_str())]);
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                self.record(name, expected, format!("error: {error}"), false);
                return;
            }
        };
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status == StatusCode::NOT_FOUND && body["error"]["code"] == "route_not_found" {
            self.record(
                name,
                "skipped: route not built yet",
                "404 route_not_found",
                true,
            );
            return;
        }
        let got = succeeded_totals(&body);
        let ok = status == StatusCode::OK && got == expected;
        let got = if status == StatusCode::OK {
            got
        } else {
            format!("{} {got}", status.as_u16())
        };
        self.record(name, expected, got, ok);
    }

    /// `succeeded: <provider> <amount> <currency>, …` of what the tour expects succeeded.
    fn summary_expected(&self) -> String {
        let mut totals: Vec<String> = self
            .succeeded
            .iter()
            .map(|((provider, currency), amount)| format!("{provider} {amount} {currency}"))
            .collect();
        totals.sort();
        format!("succeeded: {}", totals.join(", "))
    }
}

/// `succeeded: <provider> <amount> <currency>, …` from the summary's `by_status` rows.
fn succeeded_totals(summary: &Value) -> String {
    let Some(rows) = summary["by_status"].as_array() else {
        return "no by_status in the answer".to_owned();
    };
    let mut totals: Vec<String> = rows
        .iter()
        .filter(|row| row["status"] == "succeeded")
        .map(|row| {
            format!(
                "{} {} {}",
                row["provider"].as_str().unwrap_or("?"),
                row["amount"].as_str().unwrap_or("?"),
                row["currency"].as_str().unwrap_or("?")
            )
        })
        .collect();
    totals.sort();
    format!("succeeded: {}", totals.join(", "))
}

/// `got` followed by the refund id, when the answer carries one.
fn with_id(got: &str, answer: &Answer) -> String {
    match answer.body["id"].as_str() {
        Some(id) => format!("{got} {id}"),
        None => got.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(oks: &[bool]) -> DemoReport {
        DemoReport {
            gateway_url: "http://127.0.0.1:1".into(),
            database_dir: PathBuf::from("/tmp/x"),
            steps: oks
                .iter()
                .enumerate()
                .map(|(i, ok)| Step {
                    name: format!("step {i}"),
                    expected: "201 succeeded".into(),
                    got: if *ok {
                        "201 succeeded".into()
                    } else {
                        "201 failed".into()
                    },
                    ok: *ok,
                })
                .collect(),
            elapsed: Duration::from_millis(5),
        }
    }

    #[test]
    fn a_report_passes_only_when_every_step_behaved() {
        assert!(report(&[true, true]).passed());
        assert!(!report(&[true, false]).passed());
        assert!(!report(&[]).passed());
    }

    #[test]
    fn the_table_marks_each_step_and_says_how_many_failed() {
        let text = report(&[true, false]).render();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("1 ") && l.ends_with("ok")),
            "{text}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("2 ") && l.ends_with("FAIL")),
            "{text}"
        );
        assert!(text.contains("1 of 2 steps did NOT behave"), "{text}");
    }

    #[test]
    fn the_demo_config_keeps_the_embedded_default_but_uses_the_given_directory() {
        let config = demo_config(Path::new("/tmp/demo-dir")).expect("embedded default");
        assert_eq!(config.database.url, "sqlite:///tmp/demo-dir/demo.db");
        assert_eq!(config.server.listen.port(), 0);
        assert!(config.uses_sandbox());
        assert!(config.sync.first_retry >= Duration::from_secs(5));
    }
}
