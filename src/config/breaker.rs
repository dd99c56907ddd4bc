//! `[providers.<name>.breaker]`: the circuit breaker of each account of that provider and its
//! queue of refunds never sent (DESIGN §17). The gateway's own table inside a provider's
//! section: it is taken out before the provider's plugin reads the section, so no adapter
//! ever sees it. On by default, with these defaults, for every provider.

use std::time::Duration;

use refund_provider::Problems;
use serde::Deserialize;

use super::rules::millis;

/// The key of the table inside a provider section.
pub(crate) const BREAKER_KEY: &str = "breaker";

/// `[providers.<name>.breaker]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBreaker {
    /// Whether the breaker and the queue are on; default true. Off, a provider that cannot be
    /// reached fails each refund after two quick retries (`provider_unavailable`), as DESIGN
    /// §4 says without §17.
    enabled: Option<bool>,
    /// Consecutive transport failures (connection refused or reset, timeout, 5xx, 429) within
    /// `window_ms` that open the breaker; default 5, at least 1.
    failures: Option<u32>,
    /// The window those failures must fall in, in milliseconds; default 30000, at least 10.
    window_ms: Option<u64>,
    /// How long the breaker stays open before one queued refund is sent as a probe, in
    /// milliseconds; default 30000, at least 10. Doubles after each failed probe, up to
    /// `max_open_ms`.
    open_ms: Option<u64>,
    /// The longest the breaker stays open between two probes, in milliseconds; default
    /// 300000 (5 minutes), at least `open_ms`.
    max_open_ms: Option<u64>,
    /// How many queued refunds of one account are sent per second once the breaker closed
    /// again (oldest first); default 50, 1 to 10000.
    drain_per_second: Option<u32>,
    /// How long a refund may wait in the queue before it fails `provider_unavailable`
    /// (nothing was sent), in milliseconds; default 86400000 (24 hours), at least 1000.
    queue_max_age_ms: Option<u64>,
}

/// The validated breaker settings of one provider (each of its accounts has a breaker of
/// its own with these settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerConfig {
    pub(crate) enabled: bool,
    pub(crate) failures: u32,
    pub(crate) window: Duration,
    pub(crate) open: Duration,
    pub(crate) max_open: Duration,
    pub(crate) drain_per_second: u32,
    pub(crate) queue_max_age: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            failures: 5,
            window: Duration::from_millis(30_000),
            open: Duration::from_millis(30_000),
            max_open: Duration::from_millis(300_000),
            drain_per_second: 50,
            queue_max_age: Duration::from_millis(86_400_000),
        }
    }
}

impl RawBreaker {
    /// The settings with their defaults, every problem pushed under `providers.<name>.breaker`.
    pub(crate) fn validate(self, problems: &mut Problems, provider: &str) -> BreakerConfig {
        let key = |name: &str| format!("providers.{provider}.{BREAKER_KEY}.{name}");
        let defaults = BreakerConfig::default();
        let failures = self.failures.unwrap_or(defaults.failures);
        if failures == 0 {
            problems.push(key("failures"), "must be at least 1");
        }
        let drain_per_second = self.drain_per_second.unwrap_or(defaults.drain_per_second);
        if !(1..=10_000).contains(&drain_per_second) {
            problems.push(key("drain_per_second"), "must be between 1 and 10000");
        }
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let open = millis(
            problems,
            &key("open_ms"),
            self.open_ms,
            ms(defaults.open),
            10,
        );
        let max_open = millis(
            problems,
            &key("max_open_ms"),
            self.max_open_ms,
            ms(defaults.max_open),
            10,
        );
        if max_open < open {
            problems.push(
                key("max_open_ms"),
                format!("must be at least open_ms ({})", ms(open)),
            );
        }
        BreakerConfig {
            enabled: self.enabled.unwrap_or(defaults.enabled),
            failures: failures.max(1),
            window: millis(
                problems,
                &key("window_ms"),
                self.window_ms,
                ms(defaults.window),
                10,
            ),
            open,
            max_open: max_open.max(open),
            drain_per_second: drain_per_second.clamp(1, 10_000),
            queue_max_age: millis(
                problems,
                &key("queue_max_age_ms"),
                self.queue_max_age_ms,
                ms(defaults.queue_max_age),
                1_000,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(toml: &str) -> (BreakerConfig, Vec<String>) {
        let raw: RawBreaker = toml::from_str(toml).expect("typed");
        let mut problems = Problems::default();
        let config = raw.validate(&mut problems, "stripe");
        (config, problems.0.into_iter().map(|p| p.key).collect())
    }

    #[test]
    fn the_defaults_are_those_of_the_design() {
        let (config, problems) = read("");
        assert!(problems.is_empty());
        assert_eq!(config, BreakerConfig::default());
        assert!(config.enabled);
        assert_eq!(config.failures, 5);
        assert_eq!(config.window, Duration::from_secs(30));
        assert_eq!(config.open, Duration::from_secs(30));
        assert_eq!(config.max_open, Duration::from_secs(300));
        assert_eq!(config.drain_per_second, 50);
        assert_eq!(config.queue_max_age, Duration::from_secs(86_400));
    }

    #[test]
    fn every_bad_value_is_reported_at_its_key_path() {
        let (_, problems) = read(
            "failures = 0\nwindow_ms = 1\nopen_ms = 5000\nmax_open_ms = 1000\ndrain_per_second = 0\nqueue_max_age_ms = 10\n",
        );
        assert_eq!(
            problems,
            [
                "providers.stripe.breaker.failures",
                "providers.stripe.breaker.drain_per_second",
                "providers.stripe.breaker.max_open_ms",
                "providers.stripe.breaker.window_ms",
                "providers.stripe.breaker.queue_max_age_ms",
            ]
        );
    }

    #[test]
    fn an_unknown_key_is_refused() {
        assert!(toml::from_str::<RawBreaker>("treshold = 3").is_err());
    }
}
