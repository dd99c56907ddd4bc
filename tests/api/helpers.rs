//! `spawn_app()`: the gateway on port 0 with a fresh database (a SQLite file, or a new
//! PostgreSQL database) and the test kit's `FakeProvider` (scripted answers, counted calls,
//! the requests it was sent). Databases, temp dirs, shutdown and polling come from
//! `refund-test-support`.

use std::sync::Arc;
use std::time::Duration;

use refund_gateway::config::Config;
use refund_gateway::domain::RefundRecord;
use refund_gateway::domain::RefundStatus;
use refund_gateway::providers::ProviderRegistry;
use refund_gateway::startup::Application;
use refund_gateway::store::now_ms;
pub use refund_provider::testkit::{FakeProvider, Script};
use refund_provider::{Currency, MinorUnits, Money, RefundId, RefundProvider};
use refund_test_support::{
    config, fresh_postgres_database, poll_until, shutdown_signal, sqlite_url, temp_dir, Shutdown,
};
use serde_json::{json, Value};

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

/// A running gateway; dropping it stops the server.
pub struct TestApp {
    pub address: String,
    /// The database the gateway runs on (empty for `spawn_config`).
    pub database_url: String,
    pub client: reqwest::Client,
    pub provider: Arc<FakeProvider>,
    /// The running gateway's engine (to drive time-based passes at a chosen time).
    pub engine: refund_gateway::engine::Engine,
    shutdown: Shutdown,
}

/// A fresh database URL for one test: a SQLite file in a temp dir of its own, or a new
/// PostgreSQL database; `None` (having printed "skipped") when PostgreSQL tests cannot run.
pub async fn fresh_database(db: Db) -> Option<String> {
    match db {
        Db::Sqlite => Some(sqlite_url(&temp_dir("refund-gateway-test-"))),
        Db::Postgres => fresh_postgres_database().await,
    }
}

/// The test config, with more `[server]` lines and `extra` sections.
pub fn config_toml(database_url: &str, server_lines: &str, extra: &str) -> String {
    let server = config::server(
        "127.0.0.1:0",
        &format!(
            "public_base_url = \"http://127.0.0.1:9\"\nrequest_timeout_ms = 10000\n{server_lines}"
        ),
    );
    let database = config::database(database_url, "max_connections = 8");
    let acme = config::merchant("acme", ACME_KEY, "");
    let globex = config::merchant("globex", GLOBEX_KEY, "");
    format!(
        r#"
{server}
{database}
{acme}
{globex}
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
    let engine = app.engine().clone();
    let (shutdown, signal) = shutdown_signal();
    tokio::spawn(app.run_until(signal));
    TestApp {
        address,
        database_url: url,
        client: reqwest::Client::new(),
        provider,
        engine,
        shutdown,
    }
}

/// Starts the gateway with the real adapters from `tail` (provider sections, routes, sync
/// settings) and merchant `acme` with `merchant_extra` lines (e.g. its webhook_url).
pub async fn spawn_live(db: Db, merchant_extra: &str, tail: &str) -> Option<TestApp> {
    spawn_live_with(db, "", merchant_extra, tail).await
}

/// [`spawn_live`] with more `[server]` lines; the app knows its database URL.
pub async fn spawn_live_with(
    db: Db,
    server_lines: &str,
    merchant_extra: &str,
    tail: &str,
) -> Option<TestApp> {
    let database_url = fresh_database(db).await?;
    let server = config::server(
        "127.0.0.1:0",
        &format!("request_timeout_ms = 10000\n{server_lines}"),
    );
    let database = config::database(&database_url, "");
    let acme = config::merchant("acme", ACME_KEY, merchant_extra);
    // globex uses no provider here: the providers' default accounts are acme's alone.
    let globex = config::merchant("globex", GLOBEX_KEY, "providers = []");
    let toml = format!("{server}\n{database}\n{acme}\n{globex}\n{tail}\n");
    let mut app = spawn_config(&toml).await;
    app.database_url = database_url;
    Some(app)
}

/// Starts the gateway on a whole config file's text, with the real adapters it names.
pub async fn spawn_config(toml: &str) -> TestApp {
    let config = Config::from_toml(toml).unwrap_or_else(|e| panic!("test config: {e}"));
    let app = Application::build(config).await.expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let engine = app.engine().clone();
    let (shutdown, signal) = shutdown_signal();
    tokio::spawn(app.run_until(signal));
    TestApp {
        address,
        database_url: String::new(),
        client: reqwest::Client::new(),
        provider: Arc::new(FakeProvider::new("unused", Script::Succeed)),
        engine,
        shutdown,
    }
}

/// Starts the gateway on a whole config file's text with a reload handle (DESIGN §18) and
/// the engine (to look at the live snapshot).
pub async fn spawn_reloadable(
    toml: &str,
) -> (
    TestApp,
    refund_gateway::reload::Reloader,
    refund_gateway::engine::Engine,
) {
    let config = Config::from_toml(toml).unwrap_or_else(|e| panic!("test config: {e}"));
    let app = Application::build(config).await.expect("build app");
    let reloader = app.reloader(refund_gateway::reload::ConfigSource::text(toml));
    let engine = app.engine().clone();
    let address = format!("http://127.0.0.1:{}", app.port());
    let (shutdown, signal) = shutdown_signal();
    tokio::spawn(app.run_until(signal));
    let test = TestApp {
        address,
        database_url: String::new(),
        client: reqwest::Client::new(),
        provider: Arc::new(FakeProvider::new("unused", Script::Succeed)),
        engine: engine.clone(),
        shutdown,
    };
    (test, reloader, engine)
}

/// Polls a refund until `done` holds or `timeout` passes; returns the last refund seen.
pub async fn wait_for_refund(
    app: &TestApp,
    id: &str,
    timeout: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let path = format!("/v1/refunds/{id}");
    let read = || app.get_json(ACME_KEY, &path);
    poll_until(timeout, Duration::from_millis(50), read, done).await
}

/// Starts the gateway on a fresh database; `None` when that backend is not available here.
pub async fn spawn_app(db: Db, provider: Arc<FakeProvider>) -> Option<TestApp> {
    let url = fresh_database(db).await?;
    Some(spawn_on(url, provider).await)
}

impl TestApp {
    /// Asks the server to stop (graceful: requests in flight are finished).
    pub fn begin_shutdown(&mut self) {
        self.shutdown.trigger();
    }

    /// A request to `path` on this gateway, without a key.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
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

    /// POSTs a refund and returns the answer's JSON, whatever its status.
    pub async fn create(&self, key: &str, idempotency: Option<&str>, body: &Value) -> Value {
        self.post_refund(key, idempotency, body)
            .await
            .json()
            .await
            .expect("json")
    }

    /// GETs `path` with `key` and returns the answer's JSON, whatever its status.
    pub async fn get_json(&self, key: &str, path: &str) -> Value {
        self.get(key, path).await.json().await.expect("json")
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
    assert_error_named(&format!("status for {code}"), response, status, code).await
}

/// [`assert_error`] for a named case (a table's row): the name leads every failure message.
pub async fn assert_error_named(
    case: &str,
    response: reqwest::Response,
    status: u16,
    code: &str,
) -> Value {
    assert_eq!(response.status().as_u16(), status, "{case}");
    assert!(
        response.headers().contains_key("x-request-id"),
        "{case}: x-request-id"
    );
    let body: Value = response.json().await.expect("json error body");
    let error = &body["error"];
    assert_eq!(error["code"], code, "{case}: {body}");
    assert!(error["type"].is_string(), "{case}: {body}");
    assert!(error["message"].is_string(), "{case}: {body}");
    assert!(
        error["request_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{case}: {body}"
    );
    error.clone()
}

/// A pending refund of merchant `acme` as the store holds it: `minor` in `currency` at
/// `provider`, with a new id as its reference and `prov_<id>` as the provider's id.
pub fn pending_record(
    provider: &str,
    currency: &str,
    minor: i64,
    payment_id: &str,
) -> RefundRecord {
    let id = RefundId::generate();
    let now = now_ms();
    let money = Money::from_minor(
        MinorUnits::new(minor).unwrap_or_else(|| panic!("positive amount")),
        Currency::parse(currency).unwrap_or_else(|e| panic!("{e}")),
    );
    RefundRecord {
        id,
        merchant_id: "acme".into(),
        provider: provider.into(),
        account: "default".into(),
        provider_refund_id: Some(format!("prov_{id}")),
        provider_reference: id.to_string(),
        payment_id: payment_id.into(),
        amount: Some(money.to_major_string()),
        amount_minor: Some(minor),
        currency: currency.into(),
        status: RefundStatus::Pending,
        failure_code: None,
        failure_message: None,
        reason: None,
        reference: None,
        customer_id: None,
        metadata: json!({}),
        provider_options: json!(null),
        breakdown: json!([]),
        requires_attention: false,
        idempotency_key: None,
        version: 0,
        created_at: now,
        updated_at: now,
        next_sync_at: None,
        sync_attempts: 0,
        pending_reason: None,
        queued_at: None,
    }
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
