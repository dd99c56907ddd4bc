//! `refund-gateway bench`: the gateway's throughput as a ratio of the provider simulator's own,
//! both measured in the same run on the same machine (shared 2-core machines are too noisy
//! for absolute figures).
//!
//! One run: start the chosen provider's simulator in this process through its plugin (zero
//! added latency, webhooks on, as in the sandbox) and a webhook sink; drive the simulator's
//! sample refunds at it through the provider's adapter (`direct`); then start the gateway as a
//! child `serve` process on a fresh database (a temp SQLite file, or a new PostgreSQL
//! database) and drive the simulator's sample merchant requests at `POST /v1/refunds`
//! (`gateway`). Same concurrency, same duration, unique payment ids and idempotency keys,
//! loopback only. The gateway's peak RSS is the child's `VmHWM`, so the load generator's
//! memory is not counted. Nothing here names a provider: `--provider` is any id of
//! [`crate::providers::PLUGINS`].
//!
//! A request counts as an error unless it is answered 201 with a `processing` or `succeeded`
//! refund (the simulator's answer to its sample refund).

pub mod batch;
mod child;
pub mod load;
pub mod outage;
mod pgbench;
mod pgstats;
mod prefill;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use refund_provider::{
    ProviderId, ProviderPlugin, ProviderRefundStatus, RefundProvider, Simulator, SimulatorOptions,
};

use crate::config::Config;
use crate::providers::{plugin, ProviderRegistry, SandboxMode, PLUGINS};
use child::GatewayChild;
use load::{drive, Call, LoadStats};
use pgstats::{PgCost, PgProbe};

/// The bench's API key (merchant `bench`).
const API_KEY: &str = "sk_bench";

/// Which database the gateway under test uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BenchDb {
    Sqlite,
    Postgres,
}

impl BenchDb {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// `--provider`: any provider the gateway knows.
fn provider_ids() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(PLUGINS.iter().map(|plugin| plugin.id()))
}

/// Options of `refund-gateway bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// The gateway's database: a temp SQLite file, or a fresh PostgreSQL database.
    #[arg(long, value_enum, default_value_t = BenchDb::Sqlite)]
    pub(crate) db: BenchDb,
    /// PostgreSQL server to create the fresh database on (default:
    /// REFUND_GATEWAY_TEST_POSTGRES_URL).
    #[arg(long)]
    pub(crate) database_url: Option<String>,
    /// Requests in flight at once (1-1024).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(crate) concurrency: u16,
    /// Measured window of each phase: `10`, `10s` or `500ms` (at most 300 s).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) duration: Duration,
    /// Unmeasured warm-up before each phase's window.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub(crate) warmup: Duration,
    /// The provider refunds go to; its simulator is the direct reference.
    #[arg(long, default_value = "efundpay", value_parser = provider_ids())]
    pub(crate) provider: String,
    /// The gateway's database.max_connections (default: the gateway's own default).
    #[arg(long)]
    pub(crate) max_connections: Option<u32>,
    /// Gateway processes on the one database, requests alternating between them
    /// (PostgreSQL only: several processes share a database there, DESIGN §8).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub(crate) instances: u8,
    /// Export the gateway's traces to this OTLP/HTTP collector (`[telemetry]
    /// otlp_endpoint`), to measure what tracing costs; default: no export.
    #[arg(long)]
    pub(crate) otlp_endpoint: Option<String>,
    /// Instead of the throughput run: refunds at `--rate` while the provider refuses
    /// connections this long (`10s`), then the drain (DESIGN §17; see `bench/outage.rs`).
    #[arg(long, value_parser = parse_duration)]
    pub(crate) outage: Option<Duration>,
    /// With `--outage`: refunds asked per second, before and during the outage.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub(crate) rate: u32,
    /// With `--outage`: the breaker's `drain_per_second`.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub(crate) drain_per_second: u32,
    /// Instead of the throughput run: one bulk-refund batch of this many rows (1-10000),
    /// timed from its acceptance to its completion, with the gateway's peak RSS (DESIGN §19;
    /// see `bench/batch.rs`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub(crate) batch: Option<u32>,
    /// With `--batch`: the gateway's `[batches] rows_per_second`.
    #[arg(long, default_value_t = 10000, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub(crate) batch_rate: u32,
    /// PostgreSQL only: also run `pgbench -N` (same concurrency, same window) on a database
    /// of its own after the gateway phase, as the server's own ceiling.
    #[arg(long)]
    pub(crate) pgbench: bool,
    /// Settled refunds written into the store (with their history, payments, receipts,
    /// ledger lines and a day of idempotency keys) before the gateway phase.
    #[arg(long, default_value_t = 0)]
    pub(crate) prefill: u64,
}

/// `10`, `10s`, `1500ms`: at most 300 s.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit_ms) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1000)
    } else {
        (text, 1000)
    };
    let value: u64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 10s or 500ms"))?;
    let duration = Duration::from_millis(value.saturating_mul(unit_ms));
    if duration > Duration::from_secs(300) {
        return Err("at most 300s".into());
    }
    Ok(duration)
}

/// Why a bench run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot start the simulator: {0}")]
    Simulator(#[from] std::io::Error),
    #[error("gateway: {0}")]
    Gateway(String),
    #[error("database: {0}")]
    Database(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("http client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("unknown provider `{0}`")]
    UnknownProvider(String),
}

/// The result of one run.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub(crate) db: BenchDb,
    pub(crate) provider: &'static str,
    pub(crate) concurrency: u16,
    /// Gateway processes sharing the database.
    pub(crate) instances: u8,
    pub(crate) gateway: LoadStats,
    pub(crate) direct: LoadStats,
    /// The gateway children's largest peak RSS (VmHWM) in MiB, after their phase.
    pub(crate) peak_rss_mb: f64,
    /// The gateway child's RSS high-water mark once started, before any load.
    pub(crate) idle_rss_mb: f64,
    /// PostgreSQL's own count of the window's work (`Err`: why there is none).
    pub(crate) pg: Option<Result<PgCost, String>>,
    /// `pgbench -N` transactions/s of the same run (`Err`: why there is none).
    pub(crate) pgbench_tps: Option<Result<f64, String>>,
    /// Refunds written into the store before the load.
    pub(crate) prefill: u64,
    /// The store's size on disk after the load, in bytes.
    pub(crate) disk_bytes: Option<u64>,
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

impl BenchReport {
    /// Gateway throughput over direct throughput.
    pub(crate) fn ratio(&self) -> f64 {
        let direct = self.direct.rps();
        if direct > 0.0 {
            self.gateway.rps() / direct
        } else {
            0.0
        }
    }

    /// The gateway processes' CPU time per refund in the measured window, in ms: noise on a
    /// shared machine moves it much less than req/s.
    pub(crate) fn gateway_cpu_ms_per_refund(&self) -> Option<f64> {
        let ticks = self.gateway.cpu_ticks?;
        (self.gateway.completed > 0).then(|| {
            ticks as f64 * 1000.0 / child::TICKS_PER_SECOND as f64 / self.gateway.completed as f64
        })
    }

    /// Gateway p50 less direct p50: what the gateway adds to a refund's latency.
    pub(crate) fn added_p50_ms(&self) -> f64 {
        self.gateway.quantile_ms(0.50) - self.direct.quantile_ms(0.50)
    }

    /// PostgreSQL transactions that wrote (durable commits) per refund in the window.
    fn commits_per_refund(&self) -> Option<f64> {
        match &self.pg {
            Some(Ok(cost)) if self.gateway.completed > 0 => {
                Some(cost.write_transactions as f64 / self.gateway.completed as f64)
            }
            _ => None,
        }
    }

    /// gateway refunds/s × durable commits per refund ÷ pgbench transactions/s (each of
    /// which writes): the share of the server's commit rate the gateway reached.
    pub(crate) fn pgbench_ratio(&self) -> Option<f64> {
        let tps = self.pgbench_tps.as_ref()?.as_ref().ok()?;
        (*tps > 0.0).then(|| self.gateway.rps() * self.commits_per_refund().unwrap_or(0.0) / tps)
    }

    /// Disk per refund held: the store's size over the refunds in it.
    fn disk_bytes_per_refund(&self) -> Option<f64> {
        let refunds = self.prefill + self.gateway.completed;
        self.disk_bytes
            .filter(|_| refunds > 0)
            .map(|bytes| bytes as f64 / refunds as f64)
    }

    /// Errors of both phases (a clean run has none).
    pub(crate) fn errors(&self) -> u64 {
        self.gateway.errors + self.direct.errors
    }

    /// The one-line JSON summary.
    pub(crate) fn json(&self) -> Value {
        json!({
            "db": self.db.as_str(),
            "instances": self.instances,
            "concurrency": self.concurrency,
            "gateway_rps": round(self.gateway.rps(), 1),
            "direct_rps": round(self.direct.rps(), 1),
            "ratio": round(self.ratio(), 3),
            "p50_ms": round(self.gateway.quantile_ms(0.50), 2),
            "p99_ms": round(self.gateway.quantile_ms(0.99), 2),
            "direct_p50_ms": round(self.direct.quantile_ms(0.50), 2),
            "direct_p99_ms": round(self.direct.quantile_ms(0.99), 2),
            "added_p50_ms": round(self.added_p50_ms(), 2),
            "gateway_cpu_ms_per_refund": self.gateway_cpu_ms_per_refund().map(|ms| round(ms, 3)),
            "errors": self.errors(),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "prefill": self.prefill,
            "disk_bytes_per_refund": self.disk_bytes_per_refund().map(|b| round(b, 0)),
            "pg": match &self.pg {
                None => Value::Null,
                Some(Ok(cost)) => cost.per_refund(self.gateway.completed),
                Some(Err(why)) => json!({"missing": why}),
            },
            "pgbench_tps": self.pgbench_tps.as_ref().and_then(|t| t.as_ref().ok()).map(|t| round(*t, 1)),
            "pgbench_ratio": self.pgbench_ratio().map(|r| round(r, 3)),
        })
    }

    /// The table, then the JSON line.
    pub fn render(&self) -> String {
        let mut out = format!(
            "refund-gateway bench: provider {}, db {} ({} gateway process(es)), concurrency {}, window {:.1} s\n\n",
            self.provider,
            self.db.as_str(),
            self.instances,
            self.concurrency,
            self.gateway.window.as_secs_f64()
        );
        out.push_str(&format!(
            "{:<9} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>7}\n",
            "target", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"
        ));
        for (name, stats) in [("direct", &self.direct), ("gateway", &self.gateway)] {
            out.push_str(&format!(
                "{:<9} {:>9} {:>10.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7}\n",
                name,
                stats.completed,
                stats.rps(),
                stats.quantile_ms(0.50),
                stats.quantile_ms(0.90),
                stats.quantile_ms(0.99),
                stats.max_ms(),
                stats.errors
            ));
        }
        out.push_str(&format!(
            "\nratio gateway/direct {:.3}; gateway adds {:.2} ms at p50; gateway CPU {} ms per refund; RSS {:.1} MiB idle, {:.1} MiB peak\n",
            self.ratio(),
            self.added_p50_ms(),
            self.gateway_cpu_ms_per_refund()
                .map_or_else(|| "?".to_owned(), |ms| format!("{ms:.3}")),
            self.idle_rss_mb,
            self.peak_rss_mb
        ));
        if self.prefill > 0 || self.disk_bytes.is_some() {
            out.push_str(&format!(
                "store: {} prefilled refunds; {} on disk{}\n",
                self.prefill,
                self.disk_bytes.map_or_else(
                    || "?".to_owned(),
                    |b| format!("{:.1} MiB", b as f64 / 1048576.0)
                ),
                self.disk_bytes_per_refund()
                    .map_or_else(String::new, |b| format!(", {b:.0} bytes per refund")),
            ));
        }
        match &self.pg {
            Some(Ok(cost)) => out.push_str(&cost.render(self.gateway.completed)),
            Some(Err(why)) => out.push_str(&format!("PostgreSQL statistics: unknown: {why}\n")),
            None => {}
        }
        match &self.pgbench_tps {
            Some(Ok(tps)) => out.push_str(&format!(
                "pgbench -N (same concurrency and window): {tps:.1} transactions/s; gateway {:.1} refunds/s × {} durable commits per refund ÷ that = {}\n",
                self.gateway.rps(),
                self.commits_per_refund().map_or_else(|| "?".to_owned(), |c| format!("{c:.2}")),
                self.pgbench_ratio().map_or_else(|| "?".to_owned(), |r| format!("{r:.3}")),
            )),
            Some(Err(why)) => out.push_str(&format!("pgbench: unknown: {why}\n")),
            None => {}
        }
        for (name, stats) in [("direct", &self.direct), ("gateway", &self.gateway)] {
            if let Some(error) = &stats.first_error {
                out.push_str(&format!("first {name} error: {error}\n"));
            }
        }
        out.push('\n');
        out.push_str(&self.json().to_string());
        out.push('\n');
        out
    }
}

/// Starts `plugin`'s simulator on a free loopback port with its defaults (zero latency,
/// webhooks on), sending webhooks of providers configured on their side to `webhook_url`.
async fn start_simulator(
    plugin: &dyn ProviderPlugin,
    webhook_url: &str,
) -> std::io::Result<Arc<dyn Simulator>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let options = SimulatorOptions {
        webhook_url: Some(webhook_url.to_owned()),
        ..SimulatorOptions::default()
    };
    Ok(Arc::from(plugin.start_simulator(listener, options).await?))
}

/// The gateway's configuration for the run. Neither rate limit applies: the load generator is
/// one merchant key, and the simulator posts one webhook per refund, far above the default
/// 100 per second per provider account, so a limited run would measure 429s and the
/// simulator's re-deliveries instead of refunds.
fn gateway_toml(database_url: &str, provider_section: &str, args: &BenchArgs) -> String {
    let pool = args
        .max_connections
        .map(|n| format!("max_connections = {n}\n"))
        .unwrap_or_default();
    let telemetry = args
        .otlp_endpoint
        .as_ref()
        .map(|url| format!("\n[telemetry]\notlp_endpoint = \"{url}\"\n"))
        .unwrap_or_default();
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nrate_limit_per_second = 0\nwebhook_rate_limit_per_second = 0\n\n[database]\nurl = \"{database_url}\"\n{pool}\n\
         [[merchants]]\nid = \"bench\"\napi_key = \"{API_KEY}\"\n\n{provider_section}\n\
         [[routes]]\nprovider = \"{}\"\n{telemetry}",
        args.provider
    )
}

/// A fresh database for the gateway; dropped (PostgreSQL) by [`FreshDatabase::drop_it`].
struct FreshDatabase {
    url: String,
    postgres: Option<(String, String)>,
}

impl FreshDatabase {
    async fn create(
        args: &BenchArgs,
        dir: &std::path::Path,
        run: &str,
    ) -> Result<Self, BenchError> {
        match args.db {
            BenchDb::Sqlite => Ok(Self {
                url: format!("sqlite://{}/gateway.db", dir.display()),
                postgres: None,
            }),
            BenchDb::Postgres => {
                let base = args
                    .database_url
                    .clone()
                    .or_else(|| std::env::var("REFUND_GATEWAY_TEST_POSTGRES_URL").ok())
                    .ok_or_else(|| {
                        BenchError::Database(
                            "--db postgres needs --database-url or REFUND_GATEWAY_TEST_POSTGRES_URL"
                                .into(),
                        )
                    })?;
                let name = format!("rg_bench_{run}");
                sqlx::any::install_default_drivers();
                let pool = sqlx::AnyPool::connect(&base)
                    .await
                    .map_err(|e| BenchError::Database(e.to_string()))?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&pool)
                    .await
                    .map_err(|e| BenchError::Database(e.to_string()))?;
                pool.close().await;
                let (prefix, _) = base.rsplit_once('/').ok_or_else(|| {
                    BenchError::Database("the PostgreSQL URL has no database path".into())
                })?;
                Ok(Self {
                    url: format!("{prefix}/{name}"),
                    postgres: Some((base, name)),
                })
            }
        }
    }

    async fn drop_it(self) {
        if let Some((base, name)) = self.postgres {
            if let Ok(pool) = sqlx::AnyPool::connect(&base).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&pool)
                    .await;
                pool.close().await;
            }
        }
    }
}

/// A webhook receiver that accepts everything: where the simulator's webhooks go in the
/// direct phase (in the gateway phase they go to the gateway).
async fn start_sink() -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/webhooks", listener.local_addr()?);
    let app = axum::Router::new().fallback(|| async { axum::http::StatusCode::OK });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

/// Reads a 201 answer and checks the refund's `status` is one of `accepted`.
async fn expect_created(answer: reqwest::Response, accepted: &[&str]) -> Result<(), String> {
    let status = answer.status();
    let body = answer.bytes().await.map_err(|e| e.to_string())?;
    if status.as_u16() != 201 {
        let text = String::from_utf8_lossy(&body);
        return Err(format!(
            "HTTP {status}: {}",
            text.chars().take(200).collect::<String>()
        ));
    }
    let value: Value = serde_json::from_slice(&body).map_err(|e| format!("bad JSON: {e}"))?;
    match value.get("status").and_then(Value::as_str) {
        Some(s) if accepted.contains(&s) => Ok(()),
        other => Err(format!("refund status {other:?}")),
    }
}

/// Refunds through the gateway; request `n` goes to instance `n % instances`.
fn gateway_call(
    client: reqwest::Client,
    base_urls: &[String],
    simulator: Arc<dyn Simulator>,
    run: &str,
) -> Call {
    let urls: Arc<Vec<String>> = Arc::new(
        base_urls
            .iter()
            .map(|base| format!("{base}/v1/refunds"))
            .collect(),
    );
    let run = Arc::new(run.to_owned());
    Arc::new(move |n| {
        let client = client.clone();
        let urls = Arc::clone(&urls);
        let run = Arc::clone(&run);
        // The simulator's sample request, on a payment of its own.
        let body = simulator
            .sample_merchant_body(&format!("{run}{n}"))
            .to_string();
        Box::pin(async move {
            let index = usize::try_from(n).unwrap_or(0) % urls.len().max(1);
            let url = urls.get(index).cloned().unwrap_or_default();
            let answer = client
                .post(url.as_str())
                .header("authorization", format!("Bearer {API_KEY}"))
                .header("content-type", "application/json")
                .header("idempotency-key", format!("bench-{run}-{n}"))
                .body(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            expect_created(answer, &["processing", "succeeded"]).await
        })
    })
}

/// Refunds straight at the simulator through the provider's adapter (its own pooled
/// client): the simulator's sample requests, each on a payment of its own.
fn direct_call(adapter: Arc<dyn RefundProvider>, simulator: Arc<dyn Simulator>, run: &str) -> Call {
    let run = Arc::new(run.to_owned());
    Arc::new(move |n| {
        let adapter = Arc::clone(&adapter);
        let mut request = simulator.sample_request(&format!("d{run}{n}"));
        request.provider_reference = adapter.provider_reference(&request.refund_id);
        request.merchant_id = Some("bench".into());
        Box::pin(async move {
            match adapter.refund(&request).await {
                Ok(report)
                    if matches!(
                        report.status,
                        ProviderRefundStatus::Processing | ProviderRefundStatus::Succeeded
                    ) =>
                {
                    Ok(())
                }
                Ok(report) => Err(format!("provider answered {:?}", report.status)),
                Err(e) => Err(e.to_string()),
            }
        })
    })
}

/// Writes `--prefill` refunds into the fresh store (migrated by the gateway, still idle).
async fn prefill_store(database: &FreshDatabase, args: &BenchArgs) -> Result<(), BenchError> {
    let dialect = match args.db {
        BenchDb::Sqlite => prefill::Dialect::Sqlite,
        BenchDb::Postgres => prefill::Dialect::Postgres,
    };
    // On SQLite nothing in the bench process has used sqlx's Any drivers yet.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&database.url)
        .await
        .map_err(|e| BenchError::Database(e.to_string()))?;
    let result = prefill::prefill(&pool, dialect, &args.provider, args.prefill).await;
    pool.close().await;
    result.map_err(|e| BenchError::Database(format!("prefill: {e}")))
}

/// The SQLite store's files (database and WAL) in `dir`, in bytes.
fn sqlite_bytes(dir: &std::path::Path) -> Option<u64> {
    ["gateway.db", "gateway.db-wal"]
        .iter()
        .map(|name| std::fs::metadata(dir.join(name)).map(|m| m.len()).ok())
        .sum()
}

/// `pgbench -N` on a database of its own on the bench's server, dropped afterwards.
async fn pgbench_reference(
    database: &FreshDatabase,
    args: &BenchArgs,
    run: &str,
) -> Result<f64, String> {
    let Some((base, _)) = &database.postgres else {
        return Err("pgbench needs PostgreSQL".into());
    };
    let name = format!("rg_bench_{run}_pgbench");
    let pool = sqlx::AnyPool::connect(base)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .map_err(|e| e.to_string())?;
    let url = match base.rsplit_once('/') {
        Some((prefix, _)) => format!("{prefix}/{name}"),
        None => return Err("the PostgreSQL URL has no database path".into()),
    };
    let tps = pgbench::tps(&url, args.concurrency, args.duration).await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&pool)
        .await;
    pool.close().await;
    tps
}

/// A short random run id (database name, payment ids, keys).
fn run_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    id.chars().take(10).collect()
}

/// The run `args` ask for (the throughput run, or the outage run with `--outage`), rendered.
pub async fn run_and_render(args: &BenchArgs) -> Result<String, BenchError> {
    if let Some(rows) = args.batch {
        return Ok(batch::run(args, rows).await?.render());
    }
    match args.outage {
        Some(outage) => Ok(outage::run(args, outage).await?.render()),
        None => Ok(run(args).await?.render()),
    }
}

/// One bench run: the direct phase, then the gateway phase.
pub async fn run(args: &BenchArgs) -> Result<BenchReport, BenchError> {
    if args.instances > 1 && args.db == BenchDb::Sqlite {
        return Err(BenchError::Config(
            "several gateway processes share a PostgreSQL database, not SQLite: add --db postgres"
                .into(),
        ));
    }
    if args.pgbench && args.db == BenchDb::Sqlite {
        return Err(BenchError::Config(
            "--pgbench measures a PostgreSQL server: add --db postgres".into(),
        ));
    }
    let plugin =
        plugin(&args.provider).ok_or_else(|| BenchError::UnknownProvider(args.provider.clone()))?;
    let run = run_id();
    let dir: PathBuf = std::env::temp_dir().join(format!("refund-gateway-bench-{run}"));
    std::fs::create_dir_all(&dir)?;
    let concurrency = usize::from(args.concurrency);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?;
    let sink = start_sink().await?;
    let database = FreshDatabase::create(args, &dir, &run).await?;
    let config_path = dir.join("gateway.toml");
    let result = async {
        // Each phase gets a fresh simulator: its state grows with every refund (the eFundPay
        // one scans its refunds on each create), so sharing one would tax the later phase.
        let simulator = start_simulator(plugin, &sink).await?;
        let text = gateway_toml(
            &database.url,
            &plugin.sandbox_section_toml(&simulator.base_url()),
            args,
        );
        let config = Config::from_toml(&text).map_err(|e| BenchError::Config(e.to_string()))?;
        let registry = ProviderRegistry::build(&config, &sink, SandboxMode::CheckOnly)
            .await
            .map_err(|p| BenchError::Config(format!("{p:?}")))?;
        let id = ProviderId::parse(plugin.id()).map_err(|e| BenchError::Config(e.to_string()))?;
        let adapter = registry
            .get(&id)
            .cloned()
            .ok_or_else(|| BenchError::Config(format!("no {} adapter", plugin.id())))?;
        let direct_call = direct_call(adapter, Arc::clone(&simulator), &run);
        let direct = drive(direct_call, concurrency, args.warmup, args.duration, None).await;
        drop(simulator);
        // Let the direct phase's webhooks and connections wind down.
        tokio::time::sleep(Duration::from_millis(500)).await;

        let simulator = start_simulator(plugin, &sink).await?;
        let config_text = gateway_toml(
            &database.url,
            &plugin.sandbox_section_toml(&simulator.base_url()),
            args,
        );
        std::fs::write(&config_path, &config_text)?;
        let mut gateways = Vec::new();
        for instance in 0..args.instances {
            let log_dir = dir.join(format!("instance-{instance}"));
            std::fs::create_dir_all(&log_dir)?;
            gateways.push(GatewayChild::start(&config_path, &log_dir, &client).await?);
        }
        let peak = |gateways: &[GatewayChild]| {
            gateways
                .iter()
                .filter_map(GatewayChild::peak_rss_mb)
                .fold(0.0, f64::max)
        };
        let idle_rss_mb = peak(&gateways);
        if args.prefill > 0 {
            prefill_store(&database, args).await?;
        }
        let probe = match args.db {
            BenchDb::Postgres => Some(PgProbe::connect(&database.url).await),
            BenchDb::Sqlite => None,
        };
        let urls: Vec<String> = gateways.iter().map(|g| g.base_url.clone()).collect();
        // Providers whose webhook endpoint is set on their side (Stripe) post to the gateway.
        if let Some(first) = urls.first() {
            simulator.set_webhook_url(Some(format!("{first}/v1/webhooks/{}", plugin.id())));
        }
        let call = gateway_call(client.clone(), &urls, Arc::clone(&simulator), &run);
        let cpu = || {
            gateways
                .iter()
                .map(GatewayChild::cpu_ticks)
                .sum::<Option<u64>>()
        };
        // PostgreSQL's statistics at the window's start and end (the driver's own clock
        // starts now too).
        let window = probe
            .as_ref()
            .and_then(|p| p.as_ref().ok())
            .cloned()
            .map(|probe| {
                let (warmup, duration) = (args.warmup, args.duration);
                tokio::spawn(async move {
                    tokio::time::sleep(warmup).await;
                    let start = probe.snapshot().await;
                    tokio::time::sleep(duration).await;
                    let end = probe.snapshot().await;
                    start.and_then(|start| end.map(|end| PgCost::between(&start, &end)))
                })
            });
        let stats = drive(call, concurrency, args.warmup, args.duration, Some(&cpu)).await;
        let pg = match (window, &probe) {
            (Some(task), _) => Some(
                task.await
                    .unwrap_or_else(|e| Err(format!("statistics task failed: {e}"))),
            ),
            (None, Some(Err(why))) => Some(Err(why.clone())),
            (None, _) => None,
        };
        let peak_rss_mb = peak(&gateways);
        for gateway in gateways {
            gateway.stop().await;
        }
        drop(simulator);
        let disk_bytes = match &probe {
            Some(Ok(probe)) => {
                let bytes = probe.database_bytes().await;
                probe.close().await;
                bytes.and_then(|b| u64::try_from(b).ok())
            }
            Some(Err(_)) => None,
            None => sqlite_bytes(&dir),
        };
        let pgbench_tps = if args.pgbench {
            Some(pgbench_reference(&database, args, &run).await)
        } else {
            None
        };
        Ok::<_, BenchError>(BenchReport {
            db: args.db,
            provider: plugin.id(),
            concurrency: args.concurrency,
            instances: args.instances,
            gateway: stats,
            direct,
            peak_rss_mb,
            idle_rss_mb,
            pg,
            pgbench_tps,
            prefill: args.prefill,
            disk_bytes,
        })
    }
    .await;
    database.drop_it().await;
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_seconds_or_milliseconds_and_are_bounded() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("301s").is_err());
        assert!(parse_duration("ten").is_err());
    }

    #[test]
    fn the_json_line_has_exactly_the_documented_keys() {
        let report = BenchReport {
            db: BenchDb::Sqlite,
            provider: "efundpay",
            concurrency: 64,
            instances: 1,
            gateway: LoadStats::default(),
            direct: LoadStats::default(),
            peak_rss_mb: 12.34,
            idle_rss_mb: 10.0,
            pg: None,
            pgbench_tps: None,
            prefill: 0,
            disk_bytes: None,
        };
        let json = report.json();
        let mut keys: Vec<&str> = json
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "added_p50_ms",
                "concurrency",
                "db",
                "direct_p50_ms",
                "direct_p99_ms",
                "direct_rps",
                "disk_bytes_per_refund",
                "errors",
                "gateway_cpu_ms_per_refund",
                "gateway_rps",
                "instances",
                "p50_ms",
                "p99_ms",
                "peak_rss_mb",
                "pg",
                "pgbench_ratio",
                "pgbench_tps",
                "prefill",
                "ratio"
            ]
        );
        assert_eq!(json["db"], "sqlite");
        assert_eq!(json["concurrency"], 64);
        assert_eq!(json["peak_rss_mb"], 12.3);
        assert!(report.render().ends_with(&format!("{json}\n")));
    }

    #[test]
    fn the_gateway_config_routes_everything_to_the_chosen_provider() {
        let args = BenchArgs {
            db: BenchDb::Sqlite,
            database_url: None,
            concurrency: 64,
            duration: Duration::from_secs(1),
            warmup: Duration::from_secs(1),
            provider: "efundpay".into(),
            max_connections: Some(4),
            instances: 1,
            otlp_endpoint: Some("http://127.0.0.1:4318".into()),
            outage: None,
            batch: None,
            batch_rate: 10_000,
            rate: 50,
            drain_per_second: 50,
            pgbench: false,
            prefill: 0,
        };
        let section = "[providers.efundpay]\nbase_url = \"http://127.0.0.1:1\"\ntoken = \"t\"\n\
                       merchant_account_id = \"m\"\nwebhook_secret = \"s\"\n";
        let text = gateway_toml("sqlite:///tmp/x/gateway.db", section, &args);
        let config = Config::from_toml(&text).map_err(|e| e.to_string());
        let config = match config {
            Ok(config) => config,
            Err(e) => panic!("bench config invalid: {e}\n{text}"),
        };
        assert_eq!(config.database.max_connections, 4);
        assert_eq!(
            config.telemetry.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318")
        );
        assert_eq!(
            config.server.rate_limit_per_second, 0,
            "bench runs unthrottled"
        );
        assert_eq!(config.routes.len(), 1);
        assert_eq!(config.routes[0].provider.as_str(), "efundpay");
        assert!(!config.uses_sandbox());
    }
}
