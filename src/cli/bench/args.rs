//! The options of `refund-gateway bench`: its command-line flags (docs/performance.md quotes
//! them) and how a duration is written.

use std::time::Duration;

use crate::providers::PLUGINS;

/// Which database the gateway under test uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BenchDb {
    Sqlite,
    Postgres,
}

impl BenchDb {
    pub(super) fn as_str(self) -> &'static str {
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
}
