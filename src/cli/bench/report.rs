//! What a throughput run measured, and how it is printed: a table, then one JSON line
//! (docs/performance.md quotes both).

use serde_json::{json, Value};

use super::args::BenchDb;
use super::child;
use super::figures::{ratio, round};
use super::load::LoadStats;
use super::pgstats::PgCost;

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

impl BenchReport {
    /// Gateway throughput over direct throughput.
    pub(crate) fn ratio(&self) -> f64 {
        ratio(self.gateway.rps(), self.direct.rps())
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
