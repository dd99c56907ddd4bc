//! The gateway with its real adapters against the three provider simulators, all in this
//! process on loopback: `spawn()` starts the simulators with small delays, builds a `Config`
//! from TOML pointing at them (short provider timeouts, a status sync pushed far out so an
//! unknown outcome stays visibly `pending`), and serves the gateway on a free port.

use std::time::Duration;

use refund_gateway::config::Config;
use refund_gateway::startup::Application;
use serde_json::Value;

pub const KEY: &str = "sk_e2e_acme";

/// The adapters' whole-request timeout: long enough for a debug build under parallel tests,
/// short enough that the hang faults stay cheap.
pub const PROVIDER_TIMEOUT_MS: u64 = 1_000;
/// How long a hanging simulator request hangs (well past the adapters' timeout).
pub const HANG_MS: u64 = 3_000;

/// The simulators' settings for the end-to-end tests: no latency, short hangs, and quick
/// settlement and webhooks.
pub fn authms_config() -> provider_authms::sandbox::SandboxConfig {
    provider_authms::sandbox::SandboxConfig {
        hang_ms: HANG_MS,
        settle_after_ms: 100,
        ..Default::default()
    }
}

pub fn ebuy_config() -> provider_ebuy::sandbox::SandboxConfig {
    provider_ebuy::sandbox::SandboxConfig {
        hang_ms: HANG_MS,
        settle_after_ms: 100,
        ..Default::default()
    }
}

pub fn efundpay_config() -> provider_efundpay::sandbox::SandboxConfig {
    provider_efundpay::sandbox::SandboxConfig {
        hang_ms: HANG_MS,
        webhook_delay_ms: 100,
        webhook_retry_ms: 50,
        ..Default::default()
    }
}

/// The three simulators.
pub struct Sims {
    pub authms: provider_authms::sandbox::Sandbox,
    pub ebuy: provider_ebuy::sandbox::Sandbox,
    pub efundpay: provider_efundpay::sandbox::Sandbox,
}

/// Which simulator a refund went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    AuthMs,
    Ebuy,
    EfundPay,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::AuthMs, Provider::Ebuy, Provider::EfundPay];

    pub fn id(self) -> &'static str {
        match self {
            Provider::AuthMs => "authms",
            Provider::Ebuy => "ebuy",
            Provider::EfundPay => "efundpay",
        }
    }

    /// A valid refund routed to this provider, on a payment id unique to `tag`.
    pub fn refund_body(self, tag: &str) -> Value {
        match self {
            Provider::AuthMs => serde_json::json!({
                "payment_id": format!("txn_{tag}"), "amount": "50.00", "currency": "CNY",
                "customer_id": format!("usr_{tag}"), "reason": "Product return"}),
            Provider::Ebuy => serde_json::json!({
                "payment_id": format!("ORDER{tag}"), "amount": "8.00", "currency": "CNY",
                "provider_options": {"ebuy": {"asset_type": "cash", "trade_date": "20250317"}}}),
            Provider::EfundPay => serde_json::json!({
                "payment_id": format!("pay_{tag}"), "amount": "12.99", "currency": "EUR",
                "reason": "Product return"}),
        }
    }
}

impl Sims {
    pub async fn start() -> Sims {
        Sims::start_with(efundpay_config()).await
    }

    /// The simulators, eFundPay's with the given settings.
    pub async fn start_with(efundpay: provider_efundpay::sandbox::SandboxConfig) -> Sims {
        let bind = || async {
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind a loopback port")
        };
        Sims {
            authms: provider_authms::sandbox::Sandbox::start(bind().await, authms_config())
                .await
                .expect("AuthMS simulator"),
            ebuy: provider_ebuy::sandbox::Sandbox::start(bind().await, ebuy_config())
                .await
                .expect("e-Buy simulator"),
            efundpay: provider_efundpay::sandbox::Sandbox::start(bind().await, efundpay)
                .await
                .expect("eFundPay simulator"),
        }
    }

    /// How many effects the simulator recorded for this provider reference (`rf_…` for
    /// AuthMS and eFundPay, the `refundTradeNo` for e-Buy).
    pub fn effects_for(&self, provider: Provider, reference: &str) -> usize {
        match provider {
            Provider::AuthMs => self
                .authms
                .effects()
                .iter()
                .filter(|e| e.reference == reference)
                .count(),
            Provider::Ebuy => self
                .ebuy
                .effects()
                .iter()
                .filter(|e| e.reference == reference)
                .count(),
            Provider::EfundPay => self
                .efundpay
                .effects()
                .iter()
                .filter(|e| e.reference == reference)
                .count(),
        }
    }

    /// Total effects the simulator recorded.
    pub fn all_effects(&self, provider: Provider) -> usize {
        match provider {
            Provider::AuthMs => self.authms.effects().len(),
            Provider::Ebuy => self.ebuy.effects().len(),
            Provider::EfundPay => self.efundpay.effects().len(),
        }
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

impl Sims {
    pub fn inject(&self, provider: Provider, fault: Fault) {
        let (fail, timeout, hang, drop) = match fault {
            Fault::Fail => (1, 0, 0, 0),
            Fault::Timeout => (0, 1, 0, 0),
            Fault::ApplyThenHang => (0, 0, 1, 0),
            Fault::DropAfterApply => (0, 0, 0, 1),
        };
        match provider {
            Provider::AuthMs => self.authms.set_faults(provider_authms::sandbox::Faults {
                fail_next: fail,
                timeout_next: timeout,
                apply_then_hang_next: hang,
                drop_after_apply_next: drop,
                ..Default::default()
            }),
            Provider::Ebuy => self.ebuy.set_faults(provider_ebuy::sandbox::Faults {
                fail_next: fail,
                timeout_next: timeout,
                apply_then_hang_next: hang,
                drop_after_apply_next: drop,
                ..Default::default()
            }),
            Provider::EfundPay => self
                .efundpay
                .set_faults(provider_efundpay::sandbox::Faults {
                    fail_next: fail,
                    timeout_next: timeout,
                    apply_then_hang_next: hang,
                    drop_after_apply_next: drop,
                    ..Default::default()
                }),
        }
    }

    /// True when the injected counted fault has been drawn (a request reached the simulator).
    pub fn fault_consumed(&self, provider: Provider) -> bool {
        let counters = match provider {
            Provider::AuthMs => {
                let f = self.authms.faults();
                [
                    f.fail_next,
                    f.timeout_next,
                    f.apply_then_hang_next,
                    f.drop_after_apply_next,
                ]
            }
            Provider::Ebuy => {
                let f = self.ebuy.faults();
                [
                    f.fail_next,
                    f.timeout_next,
                    f.apply_then_hang_next,
                    f.drop_after_apply_next,
                ]
            }
            Provider::EfundPay => {
                let f = self.efundpay.faults();
                [
                    f.fail_next,
                    f.timeout_next,
                    f.apply_then_hang_next,
                    f.drop_after_apply_next,
                ]
            }
        };
        counters.iter().all(|c| *c == 0)
    }
}

/// The gateway config: SQLite in `dir`, merchant `acme`, each provider at its URL with the
/// short timeout, the embedded default's routes, and a status sync that will not run during
/// a test.
pub fn gateway_toml(dir: &std::path::Path, authms: &str, ebuy: &str, efundpay: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
request_timeout_ms = 10000

[database]
url = "sqlite://{dir}/gateway.db"

[[merchants]]
id = "acme"
api_key = "{KEY}"

[providers.authms]
base_url = "{authms}"
token = "sandbox-authms-token"
transfer_source_user_id = "usr_merchant"
timeout_ms = {PROVIDER_TIMEOUT_MS}

[providers.ebuy]
base_url = "{ebuy}"
app_id = "sandbox-app"
app_secret = "sandbox-ebuy-secret"
timeout_ms = {PROVIDER_TIMEOUT_MS}

[providers.efundpay]
base_url = "{efundpay}"
token = "sandbox-efundpay-token"
merchant_account_id = "sandbox-merchant"
webhook_secret = "sandbox-efundpay-whsec"
timeout_ms = {PROVIDER_TIMEOUT_MS}

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
"#,
        dir = dir.display()
    )
}

/// A running gateway and its simulators; dropping it stops both and removes the database.
pub struct E2e {
    pub address: String,
    pub client: reqwest::Client,
    pub sims: Sims,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The simulators and the gateway in front of them.
pub async fn spawn() -> E2e {
    let sims = Sims::start().await;
    let (authms, ebuy, efundpay) = (
        sims.authms.base_url(),
        sims.ebuy.base_url(),
        sims.efundpay.base_url(),
    );
    spawn_on(sims, &authms, &ebuy, &efundpay).await
}

/// The simulators (eFundPay's with the given settings) and the gateway in front of them.
pub async fn spawn_with(efundpay: provider_efundpay::sandbox::SandboxConfig) -> E2e {
    let sims = Sims::start_with(efundpay).await;
    let (authms, ebuy, efundpay) = (
        sims.authms.base_url(),
        sims.ebuy.base_url(),
        sims.efundpay.base_url(),
    );
    spawn_on(sims, &authms, &ebuy, &efundpay).await
}

/// The gateway with the providers at the given URLs (`sims` is kept alive beside it).
pub async fn spawn_on(sims: Sims, authms: &str, ebuy: &str, efundpay: &str) -> E2e {
    let dir = std::env::temp_dir().join(format!(
        "refund-gateway-e2e-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let toml = gateway_toml(&dir, authms, ebuy, efundpay);
    let config = Config::from_toml(&toml).unwrap_or_else(|e| panic!("e2e config: {e}"));
    let app = Application::build(config).await.expect("build the gateway");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    E2e {
        address,
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
        sims,
        _shutdown: tx,
        _dir: TempDir(dir),
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
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let refund = self.refund(id).await;
            if refund["status"] == status || tokio::time::Instant::now() > deadline {
                return refund;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// How many `status_changed` events moved the refund into `status`, and from which sources.
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
