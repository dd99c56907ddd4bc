//! The closed-loop load driver of `refund-gateway bench`: `concurrency` workers, each sending
//! one request after another for a warm-up and then a measured window, and the latency
//! statistics of the requests that completed inside the window.
//!
//! Every request gets a unique sequence number (the caller turns it into unique payment ids
//! and idempotency keys). Errors are counted over the whole run, warm-up included; rates and
//! latencies only over the measured window.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::figures::per_second;

/// One request of the load: `Ok` when the answer was the expected one, else why not.
pub(crate) type Call =
    Arc<dyn Fn(u64) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// What one phase of load measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LoadStats {
    /// Requests completed (successfully) inside the measured window.
    pub(crate) completed: u64,
    /// Failed requests over the whole phase, warm-up included.
    pub(crate) errors: u64,
    /// The first error seen, for the report.
    pub(crate) first_error: Option<String>,
    /// Length of the measured window.
    pub(crate) window: Duration,
    /// CPU ticks (`/proc/<pid>/stat`, USER_HZ) the probed processes used during the window.
    pub(crate) cpu_ticks: Option<u64>,
    /// Latencies of the measured requests, in microseconds, sorted.
    latencies_us: Vec<u64>,
}

impl LoadStats {
    /// Successful requests per second over the measured window.
    pub(crate) fn rps(&self) -> f64 {
        per_second(self.completed as f64, self.window)
    }

    /// The latency at quantile `q` (0..=1, nearest rank) in milliseconds; 0 without samples.
    pub(crate) fn quantile_ms(&self, q: f64) -> f64 {
        quantile_us(&self.latencies_us, q) as f64 / 1000.0
    }

    pub(crate) fn max_ms(&self) -> f64 {
        self.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0
    }
}

/// Nearest-rank quantile of sorted samples.
fn quantile_us(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One worker's tally.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

/// Reads the CPU ticks used so far by the processes under test (`None`: unknown).
pub(crate) type CpuProbe<'a> = &'a (dyn Fn() -> Option<u64> + Sync);

/// Drives `call` with `concurrency` workers for `warmup` then `window`; returns the window's
/// statistics, with the CPU `probe` read at the window's start and end. Requests in flight
/// at the end are awaited (each is bounded by the client's timeout) but not counted.
pub(crate) async fn drive(
    call: Call,
    concurrency: usize,
    warmup: Duration,
    window: Duration,
    probe: Option<CpuProbe<'_>>,
) -> LoadStats {
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + window;
    let sequence = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let call = Arc::clone(&call);
        let sequence = Arc::clone(&sequence);
        workers.spawn(async move {
            let mut tally = Tally::default();
            loop {
                let began = Instant::now();
                if began >= end {
                    break;
                }
                let n = sequence.fetch_add(1, Ordering::Relaxed);
                let result = call(n).await;
                let done = Instant::now();
                match result {
                    Ok(()) if began >= measure_from && done <= end => {
                        let us = u64::try_from(done.duration_since(began).as_micros())
                            .unwrap_or(u64::MAX);
                        tally.latencies_us.push(us);
                    }
                    Ok(()) => {}
                    Err(error) => {
                        tally.errors += 1;
                        tally.first_error.get_or_insert(error);
                    }
                }
            }
            tally
        });
    }
    let mut stats = LoadStats {
        window,
        ..LoadStats::default()
    };
    if let Some(probe) = probe {
        tokio::time::sleep_until(measure_from.into()).await;
        let before = probe();
        tokio::time::sleep_until(end.into()).await;
        let after = probe();
        stats.cpu_ticks = before.zip(after).map(|(b, a)| a.saturating_sub(b));
    }
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(tally) => {
                stats.errors += tally.errors;
                if stats.first_error.is_none() {
                    stats.first_error = tally.first_error;
                }
                stats.latencies_us.extend(tally.latencies_us);
            }
            Err(e) => {
                stats.errors += 1;
                stats
                    .first_error
                    .get_or_insert_with(|| format!("load worker failed: {e}"));
            }
        }
    }
    stats.latencies_us.sort_unstable();
    stats.completed = stats.latencies_us.len() as u64;
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile_us(&samples, 0.5), 50);
        assert_eq!(quantile_us(&samples, 0.99), 99);
        assert_eq!(quantile_us(&samples, 1.0), 100);
        assert_eq!(quantile_us(&samples, 0.0), 1);
        assert_eq!(quantile_us(&[], 0.5), 0);
    }

    #[tokio::test]
    async fn the_driver_counts_successes_in_the_window_and_every_error() {
        let call: Call = Arc::new(|n| {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(2)).await;
                if n % 10 == 0 {
                    Err(format!("request {n} refused"))
                } else {
                    Ok(())
                }
            })
        });
        let stats = drive(
            call,
            4,
            Duration::from_millis(20),
            Duration::from_millis(200),
            Some(&|| Some(7)),
        )
        .await;
        assert_eq!(stats.cpu_ticks, Some(0), "a constant probe used no CPU");
        assert!(stats.completed > 20, "{stats:?}");
        assert!(stats.errors > 0, "{stats:?}");
        assert!(stats
            .first_error
            .as_deref()
            .is_some_and(|e| e.contains("refused")));
        assert!(stats.quantile_ms(0.5) >= 2.0, "{stats:?}");
        assert!(stats.rps() > 0.0);
    }
}
