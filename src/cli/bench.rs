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

mod args;
pub mod batch;
mod child;
mod figures;
pub mod load;
pub mod outage;
mod pgbench;
mod pgstats;
mod prefill;
mod report;
mod scene;
mod setup;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;

use refund_provider::{ProviderId, ProviderRefundStatus, RefundProvider, Simulator};

use crate::config::Config;
use crate::providers::{ProviderRegistry, SandboxMode};
pub use args::BenchArgs;
use args::BenchDb;
use child::GatewayChild;
use load::{drive, Call, LoadStats};
use pgstats::{PgCost, PgProbe};
pub use report::BenchReport;
use scene::Scene;
pub use setup::BenchError;
use setup::{gateway_toml, start_simulator, FreshDatabase, API_KEY};

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
    check(args)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::from(args.concurrency))
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30));
    Scene::play(args, client, async |scene| {
        let bench = Throughput { args, scene };
        let direct = bench.direct_phase().await?;
        // Let the direct phase's webhooks and connections wind down.
        tokio::time::sleep(Duration::from_millis(500)).await;
        bench.gateway_phase(direct).await
    })
    .await
}

/// Refuses the flags that cannot go together before anything is started.
fn check(args: &BenchArgs) -> Result<(), BenchError> {
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
    Ok(())
}

/// What both phases of one throughput run share.
struct Throughput<'a> {
    args: &'a BenchArgs,
    scene: &'a Scene,
}

impl Throughput<'_> {
    /// The reference: the simulator's sample refunds straight through the provider's adapter.
    async fn direct_phase(&self) -> Result<LoadStats, BenchError> {
        // Each phase gets a fresh simulator: its state grows with every refund (the eFundPay
        // one scans its refunds on each create), so sharing one would tax the later phase.
        let scene = self.scene;
        let simulator = start_simulator(scene.plugin, &scene.sink).await?;
        let text = self.gateway_toml(simulator.as_ref());
        let config = Config::from_toml(&text).map_err(|e| BenchError::Config(e.to_string()))?;
        let registry = ProviderRegistry::build(&config, &scene.sink, SandboxMode::CheckOnly)
            .await
            .map_err(|p| BenchError::Config(format!("{p:?}")))?;
        let id =
            ProviderId::parse(scene.plugin.id()).map_err(|e| BenchError::Config(e.to_string()))?;
        let adapter = registry
            .get(&id)
            .cloned()
            .ok_or_else(|| BenchError::Config(format!("no {} adapter", scene.plugin.id())))?;
        let call = direct_call(adapter, Arc::clone(&simulator), &scene.run);
        let args = self.args;
        let concurrency = usize::from(args.concurrency);
        Ok(drive(call, concurrency, args.warmup, args.duration, None).await)
    }

    /// The gateway processes in front of a fresh simulator, measured with the same load; the
    /// report of the whole run.
    async fn gateway_phase(&self, direct: LoadStats) -> Result<BenchReport, BenchError> {
        let (args, scene) = (self.args, self.scene);
        let simulator = start_simulator(scene.plugin, &scene.sink).await?;
        let gateways = self.start_gateways(simulator.as_ref()).await?;
        let idle_rss_mb = peak_rss_mb(&gateways);
        if args.prefill > 0 {
            prefill_store(&scene.database, args).await?;
        }
        let probe = match args.db {
            BenchDb::Postgres => Some(PgProbe::connect(&scene.database.url).await),
            BenchDb::Sqlite => None,
        };
        let urls: Vec<String> = gateways.iter().map(|g| g.base_url.clone()).collect();
        // Providers whose webhook endpoint is set on their side (Stripe) post to the gateway.
        if let Some(first) = urls.first() {
            simulator.set_webhook_url(Some(format!("{first}/v1/webhooks/{}", scene.plugin.id())));
        }
        let call = gateway_call(
            scene.client.clone(),
            &urls,
            Arc::clone(&simulator),
            &scene.run,
        );
        let cpu = || {
            gateways
                .iter()
                .map(GatewayChild::cpu_ticks)
                .sum::<Option<u64>>()
        };
        let window = pg_window(probe.as_ref().and_then(|p| p.as_ref().ok()), args);
        let concurrency = usize::from(args.concurrency);
        let stats = drive(call, concurrency, args.warmup, args.duration, Some(&cpu)).await;
        let pg = match (window, &probe) {
            (Some(task), _) => Some(
                task.await
                    .unwrap_or_else(|e| Err(format!("statistics task failed: {e}"))),
            ),
            (None, Some(Err(why))) => Some(Err(why.clone())),
            (None, _) => None,
        };
        let peak_rss_mb = peak_rss_mb(&gateways);
        // Every process stopped, then the first that had died fails the run.
        let mut stopped = Vec::with_capacity(gateways.len());
        for gateway in gateways {
            stopped.push(gateway.stop().await);
        }
        stopped.into_iter().collect::<Result<Vec<()>, _>>()?;
        drop(simulator);
        let disk_bytes = self.disk_bytes(probe).await;
        let pgbench_tps = if args.pgbench {
            Some(pgbench_reference(&scene.database, args, &scene.run).await)
        } else {
            None
        };
        Ok(BenchReport {
            db: args.db,
            provider: scene.plugin.id(),
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

    /// The gateway's configuration, its provider section pointing at `simulator`.
    fn gateway_toml(&self, simulator: &dyn Simulator) -> String {
        let scene = self.scene;
        let section = scene.plugin.sandbox_section_toml(&simulator.base_url());
        gateway_toml(&scene.database.url, &section, self.args)
    }

    /// Writes the configuration and starts `--instances` gateway processes, each logging into
    /// a directory of its own.
    async fn start_gateways(
        &self,
        simulator: &dyn Simulator,
    ) -> Result<Vec<GatewayChild>, BenchError> {
        let config_path = self.scene.dir.join("gateway.toml");
        std::fs::write(&config_path, self.gateway_toml(simulator))?;
        let mut gateways = Vec::new();
        for instance in 0..self.args.instances {
            let log_dir = self.scene.dir.join(format!("instance-{instance}"));
            std::fs::create_dir_all(&log_dir)?;
            gateways.push(GatewayChild::start(&config_path, &log_dir, &self.scene.client).await?);
        }
        Ok(gateways)
    }

    /// The store's size on disk after the load (PostgreSQL's count, or the SQLite files).
    async fn disk_bytes(&self, probe: Option<Result<PgProbe, String>>) -> Option<u64> {
        match probe {
            Some(Ok(probe)) => {
                let bytes = probe.database_bytes().await;
                probe.close().await;
                bytes.and_then(|b| u64::try_from(b).ok())
            }
            Some(Err(_)) => None,
            None => sqlite_bytes(&self.scene.dir),
        }
    }
}

/// The gateway processes' largest peak RSS so far, in MiB.
fn peak_rss_mb(gateways: &[GatewayChild]) -> f64 {
    gateways
        .iter()
        .filter_map(GatewayChild::peak_rss_mb)
        .fold(0.0, f64::max)
}

/// PostgreSQL's statistics at the measured window's start and end (the driver's own clock
/// starts now too), taken by a task of their own.
fn pg_window(
    probe: Option<&PgProbe>,
    args: &BenchArgs,
) -> Option<JoinHandle<Result<PgCost, String>>> {
    let probe = probe.cloned()?;
    let (warmup, duration) = (args.warmup, args.duration);
    Some(tokio::spawn(async move {
        tokio::time::sleep(warmup).await;
        let start = probe.snapshot().await;
        tokio::time::sleep(duration).await;
        let end = probe.snapshot().await;
        start.and_then(|start| end.map(|end| PgCost::between(&start, &end)))
    }))
}
