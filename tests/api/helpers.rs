//! `spawn_app()`: the gateway on port 0 with a fresh database (a SQLite file, or a new
//! PostgreSQL database) and scripted providers that count their calls.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use refund_gateway::config::Config;
use refund_gateway::providers::ProviderRegistry;
use refund_gateway::startup::Application;
use refund_provider::{
    async_trait, Capabilities, Money, ProviderError, ProviderId, ProviderRefund,
    ProviderRefundRequest, ProviderRefundStatus, ProviderWebhook, RefundProvider,
};
use serde_json::Value;

pub const ACME_KEY: &str = "sk_test_acme";
pub const GLOBEX_KEY: &str = "sk_test_globex";
pub const OPERATOR_KEY: &str = "sk_test_operator";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// What a scripted provider answers.
#[derive(Debug, Clone)]
pub enum Script {
    /// Succeeds with the asked amount.
    Succeed,
    Processing,
    Fail(ProviderError),
}

/// A provider that answers from a script and counts calls.
#[derive(Debug)]
pub struct ScriptedProvider {
    id: &'static str,
    pub calls: AtomicUsize,
    /// The amount of every refund call, in call order (`None`: a full refund).
    pub sent_amounts: Mutex<Vec<Option<String>>>,
    script: Mutex<VecDeque<Script>>,
    default: Script,
    delay: Duration,
}

impl ScriptedProvider {
    pub fn new(id: &'static str, default: Script) -> Arc<Self> {
        Arc::new(Self {
            id,
            calls: AtomicUsize::new(0),
            sent_amounts: Mutex::new(Vec::new()),
            script: Mutex::new(VecDeque::new()),
            default,
            delay: Duration::ZERO,
        })
    }

    pub fn slow(id: &'static str, delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            id,
            calls: AtomicUsize::new(0),
            sent_amounts: Mutex::new(Vec::new()),
            script: Mutex::new(VecDeque::new()),
            default: Script::Succeed,
            delay,
        })
    }

    pub fn then(&self, script: Script) {
        self.script.lock().expect("script lock").push_back(script);
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn sent_amounts(&self) -> Vec<Option<String>> {
        self.sent_amounts.lock().expect("amounts lock").clone()
    }
}

#[async_trait]
impl RefundProvider for ScriptedProvider {
    fn id(&self) -> ProviderId {
        ProviderId::from_static(self.id)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            currencies: None,
            partial: true,
            full_without_amount: false,
            status_query: true,
            webhooks: false,
            deduplicates_by_reference: false,
        }
    }

    async fn refund(&self, req: &ProviderRefundRequest) -> Result<ProviderRefund, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.sent_amounts
            .lock()
            .expect("amounts lock")
            .push(req.amount.map(|m| m.to_major_string()));
        tokio::time::sleep(self.delay).await;
        let next = self.script.lock().expect("script lock").pop_front();
        let answer = |status| {
            let mut r = ProviderRefund::with_status(status, status.as_str());
            r.provider_refund_id = Some(format!("prov_{}", req.refund_id));
            r.provider_reference = Some(req.provider_reference.clone());
            r.amount = req.amount;
            Ok(r)
        };
        match next.unwrap_or_else(|| self.default.clone()) {
            Script::Succeed => answer(ProviderRefundStatus::Succeeded),
            Script::Processing => answer(ProviderRefundStatus::Processing),
            Script::Fail(e) => Err(e),
        }
    }

    async fn refund_status(
        &self,
        _req: &ProviderRefundRequest,
    ) -> Result<ProviderRefund, ProviderError> {
        Ok(ProviderRefund::not_found())
    }

    fn parse_webhook(
        &self,
        _h: &http::HeaderMap,
        _b: &[u8],
        _n: time::OffsetDateTime,
    ) -> Result<ProviderWebhook, ProviderError> {
        Err(ProviderError::invalid_webhook("no webhooks"))
    }
}

#[allow(dead_code)]
fn _money_is_used(_: Money) {}

/// A running gateway.
pub struct TestApp {
    pub address: String,
    /// The database the gateway runs on (empty for `spawn_config`).
    pub database_url: String,
    pub client: reqwest::Client,
    pub provider: Arc<ScriptedProvider>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// The PostgreSQL URL for tests; `None` skips PostgreSQL tests outside CI.
pub fn postgres_base_url() -> Option<String> {
    match std::env::var("REFUND_GATEWAY_TEST_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but REFUND_GATEWAY_TEST_POSTGRES_URL is not set")
        }
        Err(_) => None,
    }
}

/// A fresh database URL for one test.
pub async fn fresh_database(db: Db) -> Option<String> {
    match db {
        Db::Sqlite => {
            let dir = std::env::temp_dir().join(unique("refund-gateway-test-"));
            std::fs::create_dir_all(&dir).expect("temp dir");
            Some(format!("sqlite://{}/gateway.db", dir.display()))
        }
        Db::Postgres => {
            let base = postgres_base_url()?;
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&base)
                .await
                .expect("PostgreSQL must be reachable for the PostgreSQL tests");
            let name = unique("rg_test_");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&pool)
                .await
                .expect("create test database");
            pool.close().await;
            let (prefix, _) = base.rsplit_once('/').expect("database url with a path");
            Some(format!("{prefix}/{name}"))
        }
    }
}

/// The test config, with more `[server]` lines and `extra` sections.
pub fn config_toml(database_url: &str, server_lines: &str, extra: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
public_base_url = "http://127.0.0.1:9"
request_timeout_ms = 10000
{server_lines}

[database]
url = "{database_url}"
max_connections = 8

[[merchants]]
id = "acme"
api_key = "{ACME_KEY}"

[[merchants]]
id = "globex"
api_key = "{GLOBEX_KEY}"

[[operators]]
id = "finance"
api_key = "{OPERATOR_KEY}"

# The scripted providers answer at once; a short timeout lets tests shorten the sync grace.
[providers.scripted]
base_url = "http://127.0.0.1:9"
timeout_ms = 100

[[routes]]
provider = "scripted"
currency = ["EUR", "USD", "JPY", "KWD", "CNY"]
{extra}
"#
    )
}

/// Starts the gateway on an existing database with the given provider.
pub async fn spawn_on(database_url: String, provider: Arc<ScriptedProvider>) -> TestApp {
    spawn_on_with(database_url, provider, "", "").await
}

/// Starts the gateway on a fresh database with more `[server]` lines and `extra` sections
/// (e.g. `[retention]`); `None` when that backend is not available here.
pub async fn spawn_app_with(
    db: Db,
    provider: Arc<ScriptedProvider>,
    server_lines: &str,
    extra: &str,
) -> Option<TestApp> {
    let url = fresh_database(db).await?;
    Some(spawn_on_with(url, provider, server_lines, extra).await)
}

/// Starts the gateway on a fresh database with a provider of the test's own (its id must be
/// `scripted`, the provider the test config routes to) and `extra` sections.
pub async fn spawn_custom(db: Db, custom: Arc<dyn RefundProvider>, extra: &str) -> Option<TestApp> {
    let url = fresh_database(db).await?;
    let unused = ScriptedProvider::new("unused", Script::Succeed);
    Some(spawn_registry(url, unused, custom, "", extra).await)
}

/// Starts the gateway on an existing database with the given provider and config lines.
pub async fn spawn_on_with(
    database_url: String,
    provider: Arc<ScriptedProvider>,
    server_lines: &str,
    extra: &str,
) -> TestApp {
    let registered: Arc<dyn RefundProvider> = provider.clone();
    spawn_registry(database_url, provider, registered, server_lines, extra).await
}

async fn spawn_registry(
    database_url: String,
    provider: Arc<ScriptedProvider>,
    registered: Arc<dyn RefundProvider>,
    server_lines: &str,
    extra: &str,
) -> TestApp {
    let text = config_toml(&database_url, server_lines, extra);
    let config = Config::from_toml(&text).expect("test config");
    let url = database_url.clone();
    let mut registry = ProviderRegistry::default();
    registry.insert(registered);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let app = Application::build_with(config, listener, registry)
        .await
        .expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        address,
        database_url: url,
        client: reqwest::Client::new(),
        provider,
        shutdown: Some(tx),
    }
}

/// Starts the gateway with the real adapters from `tail` (provider sections, routes, sync
/// settings) and merchant `acme` with `merchant_extra` lines (e.g. its webhook_url).
pub async fn spawn_live(db: Db, merchant_extra: &str, tail: &str) -> Option<TestApp> {
    let database_url = fresh_database(db).await?;
    let toml = format!(
        r#"
[server]
listen = "127.0.0.1:0"
request_timeout_ms = 10000

[database]
url = "{database_url}"

[[merchants]]
id = "acme"
api_key = "{ACME_KEY}"
{merchant_extra}

# globex uses no provider here: the providers' default accounts are acme's alone.
[[merchants]]
id = "globex"
api_key = "{GLOBEX_KEY}"
providers = []

{tail}
"#
    );
    Some(spawn_config(&toml).await)
}

/// Starts the gateway on a whole config file's text, with the real adapters it names.
pub async fn spawn_config(toml: &str) -> TestApp {
    let config = Config::from_toml(toml).unwrap_or_else(|e| panic!("test config: {e}"));
    let app = Application::build(config).await.expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        address,
        database_url: String::new(),
        client: reqwest::Client::new(),
        provider: ScriptedProvider::new("unused", Script::Succeed),
        shutdown: Some(tx),
    }
}

/// Polls a refund until `done` holds or `timeout` passes; returns the last refund seen.
pub async fn wait_for_refund(
    app: &TestApp,
    id: &str,
    timeout: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let refund: Value = app
            .get(ACME_KEY, &format!("/v1/refunds/{id}"))
            .await
            .json()
            .await
            .expect("json");
        if done(&refund) || tokio::time::Instant::now() > deadline {
            return refund;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts the gateway on a fresh database; `None` when that backend is not available here.
pub async fn spawn_app(db: Db, provider: Arc<ScriptedProvider>) -> Option<TestApp> {
    let url = fresh_database(db).await?;
    Some(spawn_on(url, provider).await)
}

impl TestApp {
    /// Asks the server to stop (graceful: requests in flight are finished).
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    pub async fn post_refund(
        &self,
        key: &str,
        idempotency: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/v1/refunds", self.address))
            .bearer_auth(key)
            .json(body);
        if let Some(idem) = idempotency {
            request = request.header("Idempotency-Key", idem);
        }
        request.send().await.expect("request")
    }

    pub async fn get(&self, key: &str, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .bearer_auth(key)
            .send()
            .await
            .expect("request")
    }
}

/// Asserts the documented error shape and returns the error object.
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status for {code}");
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.expect("json error body");
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    assert!(error["type"].is_string(), "{body}");
    assert!(error["message"].is_string(), "{body}");
    assert!(
        error["request_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{body}"
    );
    error.clone()
}

/// Runs a test body against SQLite and PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                let body = $body;
                body($crate::helpers::Db::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                let body = $body;
                body($crate::helpers::Db::Postgres).await
            }
        }
    };
}
