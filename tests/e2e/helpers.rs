//! The gateway with its real adapters against every provider's simulator, all in this
//! process on loopback: `spawn()` starts each registered provider's simulator through its
//! plugin (short hangs, quick settlement and webhooks), builds a `Config` from the plugins'
//! sandbox sections pointing at them (short provider timeouts, a status sync pushed far out
//! so an unknown outcome stays visibly `pending`), serves the gateway on a free port, and
//! points the simulators whose webhook endpoint is set on the provider's side (Stripe) at it.
//!
//! Nothing here names a provider crate: tests name a provider by its id, get its sample
//! refund from its simulator, and reach a simulator's own type (`Sims::concrete`) only to test
//! that provider's own behaviour.

use std::time::Duration;

use refund_gateway::config::Config;
use refund_gateway::providers::PLUGINS;
use refund_gateway::startup::Application;
use refund_provider::sandbox_kit::FaultCounters;
use refund_provider::simulator::pending_faults;
use refund_provider::{BuildContext, Simulator, SimulatorOptions};
use refund_test_support::{config, poll_until, shutdown_signal, sqlite_url, Shutdown, TempDir};
use serde_json::Value;

pub const KEY: &str = "sk_e2e_acme";

/// The adapters' whole-request timeout: long enough for a debug build under parallel tests,
/// short enough that the hang faults stay cheap.
pub const PROVIDER_TIMEOUT_MS: u64 = 1_000;
/// How long a hanging simulator request hangs (well past the adapters' timeout).
pub const HANG_MS: u64 = 3_000;

/// Every provider the gateway knows, by id, in registry order.
pub fn providers() -> Vec<&'static str> {
    PLUGINS.iter().map(|plugin| plugin.id()).collect()
}

/// Whether `provider` sends webhooks (its adapter's capability).
pub fn sends_webhooks(provider: &str) -> bool {
    let plugin = PLUGINS
        .iter()
        .find(|plugin| plugin.id() == provider)
        .unwrap_or_else(|| panic!("unknown provider {provider}"));
    let ctx = BuildContext::new(format!("providers.{provider}"), "http://127.0.0.1:9");
    plugin
        .build(plugin.sandbox_section("http://127.0.0.1:9"), &ctx)
        .unwrap_or_else(|p| panic!("{provider}: {p:?}"))
        .capabilities()
        .webhooks
}

/// The simulators' settings for the end-to-end tests: no latency, short hangs, and quick
/// settlement and webhooks.
pub fn options() -> SimulatorOptions {
    SimulatorOptions {
        hang_ms: Some(HANG_MS),
        settle_after_ms: Some(100),
        ..SimulatorOptions::default()
    }
}

/// Every provider's simulator, in registry order.
pub struct Sims {
    sims: Vec<Box<dyn Simulator>>,
}

impl Sims {
    pub async fn start() -> Sims {
        Sims::start_with(&[]).await
    }

    /// The simulators, those named in `overrides` with the given settings instead of
    /// [`options`].
    pub async fn start_with(overrides: &[(&str, SimulatorOptions)]) -> Sims {
        let mut sims = Vec::new();
        for plugin in PLUGINS {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind a loopback port");
            let options = overrides
                .iter()
                .find(|(id, _)| *id == plugin.id())
                .map_or_else(options, |(_, options)| options.clone());
            let sim = plugin
                .start_simulator(listener, options)
                .await
                .unwrap_or_else(|e| panic!("{} simulator: {e}", plugin.id()));
            sims.push(sim);
        }
        Sims { sims }
    }

    /// The simulator of `provider`.
    pub fn get(&self, provider: &str) -> &dyn Simulator {
        self.sims
            .iter()
            .find(|sim| sim.provider() == provider)
            .map(|sim| sim.as_ref())
            .unwrap_or_else(|| panic!("no simulator of {provider}"))
    }

    /// The simulator of `provider` as its own type, for a test of that provider's behaviour.
    pub fn concrete<T: 'static>(&self, provider: &str) -> &T {
        self.get(provider)
            .as_any()
            .downcast_ref::<T>()
            .unwrap_or_else(|| panic!("the {provider} simulator is not of that type"))
    }

    /// A refund the provider's simulator accepts and settles normally, on a payment of `tag`.
    pub fn sample(&self, provider: &str, tag: &str) -> Value {
        self.get(provider).sample_merchant_body(tag)
    }

    /// How many effects the simulator recorded for this provider reference (`rf_…` for
    /// most providers, the `refundTradeNo` for e-Buy).
    pub fn effects_for(&self, provider: &str, reference: &str) -> usize {
        self.get(provider).effects_for(reference)
    }

    /// Total effects the simulator recorded.
    pub fn all_effects(&self, provider: &str) -> usize {
        self.get(provider).effects().len()
    }

    pub fn inject(&self, provider: &str, fault: Fault) {
        let mut counters = FaultCounters::default();
        match fault {
            Fault::Fail => counters.fail_next = 1,
            Fault::Timeout => counters.timeout_next = 1,
            Fault::ApplyThenHang => counters.apply_then_hang_next = 1,
            Fault::DropAfterApply => counters.drop_after_apply_next = 1,
        }
        self.get(provider).set_faults(counters);
    }

    /// Sets the extra latency of every simulator.
    pub fn set_latency(&self, latency_ms: u64) {
        for sim in &self.sims {
            sim.set_faults(FaultCounters {
                latency_ms,
                ..FaultCounters::default()
            });
        }
    }

    /// True when the injected counted fault has been drawn (a request reached the simulator).
    pub fn fault_consumed(&self, provider: &str) -> bool {
        pending_faults(&self.get(provider).faults()) == 0
    }
}

/// Which faults to inject into one simulator's next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 503, not applied.
    Fail,
    /// Hangs past the adapter's timeout, not applied.
    Timeout,
    /// Applied, then hangs past the adapter's timeout.
    ApplyThenHang,
    /// Applied, then the answer breaks off.
    DropAfterApply,
}

impl Fault {
    /// Whether the provider applied the refund under this fault.
    pub fn applies(self) -> bool {
        matches!(self, Fault::ApplyThenHang | Fault::DropAfterApply)
    }
}

/// The gateway config: SQLite in `dir`, merchant `acme`, each provider's sandbox section at
/// its URL with the short timeout, the embedded default's routes, and a status sync that
/// will not run during a test.
pub fn gateway_toml(dir: &std::path::Path, urls: &[(&str, String)]) -> String {
    let sections: String = PLUGINS
        .iter()
        .filter_map(|plugin| {
            let (_, url) = urls.iter().find(|(id, _)| *id == plugin.id())?;
            Some(format!(
                "{}timeout_ms = {PROVIDER_TIMEOUT_MS}\n\n",
                plugin.sandbox_section_toml(url)
            ))
        })
        .collect();
    let server = config::server("127.0.0.1:0", "request_timeout_ms = 10000");
    let database = config::database(&sqlite_url(dir), "");
    let acme = config::merchant("acme", KEY, "");
    format!(
        r#"
{server}
{database}
{acme}
{sections}
[[routes]]
provider = "authms"
payment_id_prefix = "txn_"

[[routes]]
provider = "ebuy"
currency = ["CNY"]

[[routes]]
provider = "efundpay"

[sync]
poll_interval_ms = 60000
first_retry_ms = 600000
"#
    )
}

/// A running gateway and its simulators; dropping it stops both and removes the database.
pub struct E2e {
    pub address: String,
    pub client: reqwest::Client,
    pub sims: Sims,
    _shutdown: Shutdown,
    _dir: TempDir,
}

/// The simulators and the gateway in front of them.
pub async fn spawn() -> E2e {
    spawn_on(Sims::start().await, &[]).await
}

/// The simulators (those named with the given settings) and the gateway in front of them.
pub async fn spawn_with(overrides: &[(&str, SimulatorOptions)]) -> E2e {
    spawn_on(Sims::start_with(overrides).await, &[]).await
}

/// The gateway with the providers at their simulators, except those in `elsewhere` (provider
/// id, URL); `sims` is kept alive beside it.
pub async fn spawn_on(sims: Sims, elsewhere: &[(&str, &str)]) -> E2e {
    let dir = TempDir::new("refund-gateway-e2e-");
    let urls: Vec<(&str, String)> = sims
        .sims
        .iter()
        .map(|sim| {
            let url = elsewhere
                .iter()
                .find(|(id, _)| *id == sim.provider())
                .map_or_else(|| sim.base_url(), |(_, url)| (*url).to_owned());
            (sim.provider(), url)
        })
        .collect();
    let toml = gateway_toml(dir.path(), &urls);
    let config = Config::from_toml(&toml).unwrap_or_else(|e| panic!("e2e config: {e}"));
    let app = Application::build(config).await.expect("build the gateway");
    let address = format!("http://127.0.0.1:{}", app.port());
    // Providers whose webhook endpoint is set on their side (Stripe) post to this gateway.
    for sim in &sims.sims {
        sim.set_webhook_url(Some(format!("{address}/v1/webhooks/{}", sim.provider())));
    }
    let (shutdown, signal) = shutdown_signal();
    tokio::spawn(app.run_until(signal));
    E2e {
        address,
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
        sims,
        _shutdown: shutdown,
        _dir: dir,
    }
}

impl E2e {
    /// POSTs a refund; returns the HTTP status and the body.
    pub async fn create(&self, body: &Value) -> (u16, Value) {
        self.create_with_key(None, body).await
    }

    pub async fn create_with_key(&self, key: Option<&str>, body: &Value) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}/v1/refunds", self.address))
            .bearer_auth(KEY)
            .json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("POST /v1/refunds");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON answer"))
    }

    /// GETs a path with the merchant's key and returns the JSON body.
    pub async fn get(&self, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.address))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON answer")
    }

    pub async fn refund(&self, id: &str) -> Value {
        self.get(&format!("/v1/refunds/{id}")).await
    }

    /// The refund's history, oldest first.
    pub async fn events(&self, id: &str) -> Vec<Value> {
        self.get(&format!("/v1/refunds/{id}/events")).await["data"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Polls the refund until its status is `status` or `timeout` passes; returns the last read.
    pub async fn wait_for_status(&self, id: &str, status: &str, timeout: Duration) -> Value {
        self.wait_for(id, timeout, |refund| refund["status"] == status)
            .await
    }

    /// Polls the refund until `done` holds or `timeout` passes; returns the last read.
    pub async fn wait_for(
        &self,
        id: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let read = || self.refund(id);
        poll_until(timeout, Duration::from_millis(25), read, done).await
    }
}

/// The sources of the `status_changed` events that moved the refund into `status`.
pub fn transitions_to<'a>(events: &'a [Value], status: &str) -> Vec<&'a str> {
    events
        .iter()
        .filter(|e| e["kind"] == "status_changed" && e["status"] == status)
        .map(|e| e["source"].as_str().unwrap_or("?"))
        .collect()
}

/// A unique tag for payment ids within one test.
pub fn tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}
