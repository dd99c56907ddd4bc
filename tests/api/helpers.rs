//! `spawn_app()`: the gateway on port 0 with a fresh database (a SQLite file, or a new
//! PostgreSQL database) and the test kit's `FakeProvider` (scripted answers, counted calls,
//! the requests it was sent).

use std::sync::Arc;
use std::time::Duration;

use refund_gateway::config::Config;
use refund_gateway::providers::ProviderRegistry;
use refund_gateway::startup::Application;
pub use refund_provider::testkit::{FakeProvider, Script};
use refund_provider::RefundProvider;
use serde_json::Value;

pub const ACME_KEY: &str = "sk_test_acme";
pub const GLOBEX_KEY: &str = "sk_test_globex";
pub const OPERATOR_KEY: &str = "sk_test_operator";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The test kit's in-memory provider, called `scripted` (the test config's route), answering
/// `default` to every refund not scripted otherwise; it counts calls and keeps the requests.
pub fn fake(default: Script) -> Arc<FakeProvider> {
    Arc::new(FakeProvider::new("scripted", default))
}

/// A `scripted` provider that succeeds after `delay`.
pub fn fake_slow(delay: Duration) -> Arc<FakeProvider> {
    Arc::new(FakeProvider::new("scripted", Script::Succeed).with_delay(delay))
}

/// A running gateway.
pub struct TestApp {
    pub address: String,
    /// The database the gateway runs on (empty for `spawn_config`).
    pub database_url: String,
    pub client: reqwest::Client,
    pub provider: Arc<FakeProvider>,
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
pub async fn spawn_on(database_url: String, provider: Arc<FakeProvider>) -> TestApp {
    spawn_on_with(database_url, provider, "", "").await
}

/// Starts the gateway on a fresh database with more `[server]` lines and `extra` sections
/// (e.g. `[retention]`); `None` when that backend is not available here.
pub async fn spawn_app_with(
    db: Db,
    provider: Arc<FakeProvider>,
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
    let unused = Arc::new(FakeProvider::new("unused", Script::Succeed));
    Some(spawn_registry(url, unused, custom, "", extra).await)
}

/// Starts the gateway on an existing database with the given provider and config lines.
pub async fn spawn_on_with(
    database_url: String,
    provider: Arc<FakeProvider>,
    server_lines: &str,
    extra: &str,
) -> TestApp {
    let registered: Arc<dyn RefundProvider> = provider.clone();
    spawn_registry(database_url, provider, registered, server_lines, extra).await
}

async fn spawn_registry(
    database_url: String,
    provider: Arc<FakeProvider>,
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
        provider: Arc::new(FakeProvider::new("unused", Script::Succeed)),
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
pub async fn spawn_app(db: Db, provider: Arc<FakeProvider>) -> Option<TestApp> {
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
