//! `refund-gateway bench --outage 10s`: what a provider outage costs (DESIGN §17). The
//! gateway runs as a child process in front of the chosen provider's simulator, refunds are
//! asked at a steady `--rate`; after a normal phase (the reference, same run) the simulator
//! refuses connections for the outage's length, then comes back. Reported: the create p99
//! during the outage (refunds answered `201 pending`, queued) against the normal phase's,
//! and the drain: how fast the queue empties once the breaker closes, against the
//! configured `--drain-per-second`.
//!
//! The breaker probes 1 s after opening (2 s at most), so the drain starts within seconds
//! of the recovery rather than the defaults' 30 s; everything else is the defaults.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::args::BenchArgs;
use super::figures::{per_second, ratio, round};
use super::scene::Scene;
use super::setup::{BenchError, API_KEY};

/// How long the normal phase (the reference) lasts.
const NORMAL: Duration = Duration::from_secs(3);
/// The longest the drain may take before the run gives up.
const DRAIN_LIMIT: Duration = Duration::from_secs(300);

/// What an outage run measured.
#[derive(Debug, Clone)]
pub struct OutageReport {
    provider: &'static str,
    db: &'static str,
    rate: u32,
    outage: Duration,
    drain_per_second: u32,
    /// Create latencies (ms, sorted) before and during the outage.
    normal_ms: Vec<f64>,
    outage_ms: Vec<f64>,
    /// Refunds queued at the recovery (the peak depth) and how long the queue took to empty
    /// from its first decrease.
    queued: u64,
    draining: Duration,
    /// From the recovery until the queue was empty (includes the breaker's probe wait).
    recovered_to_empty: Duration,
    /// Creates answered other than 201 (none in a clean run).
    errors: u64,
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

impl OutageReport {
    /// Queued refunds sent per second while the queue drained.
    pub(crate) fn drain_rate(&self) -> f64 {
        per_second(self.queued as f64, self.draining)
    }

    pub(crate) fn json(&self) -> Value {
        let normal_p99 = quantile(&self.normal_ms, 0.99);
        let outage_p99 = quantile(&self.outage_ms, 0.99);
        json!({
            "provider": self.provider,
            "db": self.db,
            "rate": self.rate,
            "outage_s": self.outage.as_secs_f64(),
            "normal_p99_ms": round(normal_p99, 2),
            "outage_p99_ms": round(outage_p99, 2),
            "outage_p99_ratio": round(ratio(outage_p99, normal_p99), 3),
            "queued": self.queued,
            "drain_per_second": self.drain_per_second,
            "drain_rate": round(self.drain_rate(), 1),
            "recovered_to_empty_s": round(self.recovered_to_empty.as_secs_f64(), 2),
            "errors": self.errors,
        })
    }

    pub fn render(&self) -> String {
        let json = self.json();
        let mut out = format!(
            "refund-gateway bench --outage: provider {}, db {}, {} refunds/s, {:.1} s outage (connections refused)\n\n",
            self.provider,
            self.db,
            self.rate,
            self.outage.as_secs_f64()
        );
        out.push_str(&format!(
            "{:<16} {:>9} {:>8} {:>8} {:>8}\n",
            "creates", "requests", "p50 ms", "p99 ms", "max ms"
        ));
        for (name, ms) in [
            ("normal (sent)", &self.normal_ms),
            ("outage (queued)", &self.outage_ms),
        ] {
            out.push_str(&format!(
                "{:<16} {:>9} {:>8.2} {:>8.2} {:>8.2}\n",
                name,
                ms.len(),
                quantile(ms, 0.5),
                quantile(ms, 0.99),
                ms.last().copied().unwrap_or(0.0)
            ));
        }
        out.push_str(&format!(
            "\ncreate p99 during the outage {:.3}× the normal one; {} refunds queued, drained at {:.1}/s (limit {}/s), queue empty {:.1} s after the recovery; {} error(s)\n\n",
            json["outage_p99_ratio"].as_f64().unwrap_or(0.0),
            self.queued,
            self.drain_rate(),
            self.drain_per_second,
            self.recovered_to_empty.as_secs_f64(),
            self.errors
        ));
        out.push_str(&json.to_string());
        out.push('\n');
        out
    }
}

/// Creates one refund a tick at `rate` for `length`, recording each 201's latency.
async fn steady(
    client: &reqwest::Client,
    url: &str,
    simulator: &Arc<dyn refund_provider::Simulator>,
    tag: &str,
    rate: u32,
    length: Duration,
    errors: &Arc<Mutex<u64>>,
) -> Vec<f64> {
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let mut tick = tokio::time::interval(Duration::from_secs(1) / rate.max(1));
    let started = Instant::now();
    let mut tasks = Vec::new();
    let mut n = 0u64;
    while started.elapsed() < length {
        tick.tick().await;
        n += 1;
        let body = simulator
            .sample_merchant_body(&format!("{tag}{n}"))
            .to_string();
        let (client, url, latencies, errors) = (
            client.clone(),
            url.to_owned(),
            latencies.clone(),
            errors.clone(),
        );
        let key = format!("outage-{tag}-{n}");
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let answer = client
                .post(format!("{url}/v1/refunds"))
                .header("authorization", format!("Bearer {API_KEY}"))
                .header("content-type", "application/json")
                .header("idempotency-key", key)
                .body(body)
                .send()
                .await;
            match answer {
                Ok(answer) if answer.status().as_u16() == 201 => {
                    latencies
                        .lock()
                        .await
                        .push(sent.elapsed().as_secs_f64() * 1000.0);
                }
                _ => *errors.lock().await += 1,
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let mut latencies = latencies.lock().await.clone();
    latencies.sort_by(f64::total_cmp);
    latencies
}

/// The queue depth of the provider's default account, from `/metrics`.
async fn queue_depth(client: &reqwest::Client, url: &str, provider: &str) -> Option<u64> {
    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let label = format!("provider=\"{provider}\"");
    text.lines()
        .find(|l| l.starts_with("refund_gateway_queue_depth{") && l.contains(&label))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
}

/// One outage run.
pub async fn run(args: &BenchArgs, outage: Duration) -> Result<OutageReport, BenchError> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30));
    Scene::play(args, client, async |scene| {
        let (plugin, run, client) = (scene.plugin, &scene.run, &scene.client);
        let breaker = format!(
            "[providers.{}.breaker]\nopen_ms = 1000\nmax_open_ms = 2000\ndrain_per_second = {}\n",
            plugin.id(),
            args.drain_per_second
        );
        let (simulator, gateway) = scene.start_gateway(args, &breaker).await?;
        let url = gateway.base_url.clone();
        let errors = Arc::new(Mutex::new(0u64));
        let normal = steady(
            client,
            &url,
            &simulator,
            &format!("{run}n"),
            args.rate,
            NORMAL,
            &errors,
        )
        .await;

        // Connections refused from now on, for `outage`.
        let seconds = outage.as_secs().max(1);
        simulator.set_faults(refund_provider::sandbox_kit::FaultCounters {
            outage: Some(refund_provider::sandbox_kit::Outage {
                mode: refund_provider::sandbox_kit::OutageMode::Refuse,
                seconds,
            }),
            ..refund_provider::sandbox_kit::FaultCounters::default()
        });
        let recovered_at = Instant::now() + Duration::from_secs(seconds);
        let during = steady(
            client,
            &url,
            &simulator,
            &format!("{run}o"),
            args.rate,
            Duration::from_secs(seconds),
            &errors,
        )
        .await;
        tokio::time::sleep_until(recovered_at.into()).await;

        let mut peak = 0;
        let mut first_decrease = None;
        let emptied = loop {
            let depth = queue_depth(client, &url, plugin.id()).await.unwrap_or(0);
            peak = peak.max(depth);
            if depth < peak && first_decrease.is_none() {
                first_decrease = Some(Instant::now());
            }
            if depth == 0 && (peak > 0 || recovered_at.elapsed() > Duration::from_secs(5)) {
                break Instant::now();
            }
            if recovered_at.elapsed() > DRAIN_LIMIT {
                return Err(BenchError::Gateway(format!(
                    "the queue did not drain within {} s",
                    DRAIN_LIMIT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        gateway.stop().await?;
        drop(simulator);
        let errors = *errors.lock().await;
        Ok(OutageReport {
            provider: plugin.id(),
            db: args.db.as_str(),
            rate: args.rate,
            outage: Duration::from_secs(seconds),
            drain_per_second: args.drain_per_second,
            normal_ms: normal,
            outage_ms: during,
            queued: peak,
            draining: emptied.duration_since(first_decrease.unwrap_or(emptied)),
            recovered_to_empty: emptied.saturating_duration_since(recovered_at),
            errors,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drain_rate_is_what_was_queued_over_the_time_it_took() {
        let report = OutageReport {
            provider: "stripe",
            db: "sqlite",
            rate: 50,
            outage: Duration::from_secs(10),
            drain_per_second: 50,
            normal_ms: vec![1.0, 2.0, 4.0],
            outage_ms: vec![2.0, 3.0, 8.0],
            queued: 500,
            draining: Duration::from_secs(10),
            recovered_to_empty: Duration::from_secs(12),
            errors: 0,
        };
        assert_eq!(report.drain_rate(), 50.0);
        let json = report.json();
        assert_eq!(json["outage_p99_ratio"], 2.0);
        assert_eq!(json["drain_rate"], 50.0);
        assert!(report.render().ends_with(&format!("{json}\n")));
    }
}
