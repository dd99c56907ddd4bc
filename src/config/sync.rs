//! `[sync]`: how the sync worker polls providers for refunds still in flight, backs off,
//! gives up, and how long a provider's "not found" is not yet conclusive.

use std::time::Duration;

use refund_provider::Problems;
use serde::Deserialize;

use super::rules::millis;

/// `[sync]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSync {
    /// How often the worker looks for refunds due a status query, in milliseconds; default
    /// 5000, at least 10.
    poll_interval_ms: Option<u64>,
    /// Wait before a refund's first status query, in milliseconds (doubling after each);
    /// default 1000, at least 10.
    first_retry_ms: Option<u64>,
    /// Longest wait between two status queries of a refund, in milliseconds; default
    /// 3600000 (an hour), at least 10.
    max_retry_ms: Option<u64>,
    /// Hours after which a refund still open is flagged `requires_attention` (its status
    /// stays, and it keeps being queried at the longest interval); default 72, at least 1.
    give_up_after_hours: Option<u64>,
    /// How long a "not found" status answer is not taken as proof that a refund was never
    /// applied (the request may still be in flight), in milliseconds; default 60000, and at
    /// least twice every provider's `timeout_ms`.
    not_found_grace_ms: Option<u64>,
}

/// The validated `[sync]` section.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// How often the worker looks for refunds due a status query.
    pub(crate) poll_interval: Duration,
    /// Wait before a refund's first status query.
    pub(crate) first_retry: Duration,
    /// Longest wait between two status queries.
    pub(crate) max_retry: Duration,
    /// Age after which an open refund is flagged `requires_attention`.
    pub(crate) give_up_after: Duration,
    /// A provider's "not found" is not conclusive until the refund is this old.
    pub(crate) not_found_grace: Duration,
}

impl RawSync {
    /// The section with its defaults, every problem pushed with its key path.
    pub(crate) fn validate(self, problems: &mut Problems) -> SyncConfig {
        let sync = SyncConfig {
            poll_interval: millis(
                problems,
                "sync.poll_interval_ms",
                self.poll_interval_ms,
                5_000,
                10,
            ),
            first_retry: millis(
                problems,
                "sync.first_retry_ms",
                self.first_retry_ms,
                1_000,
                10,
            ),
            max_retry: millis(
                problems,
                "sync.max_retry_ms",
                self.max_retry_ms,
                3_600_000,
                10,
            ),
            give_up_after: Duration::from_secs(
                3600 * self.give_up_after_hours.unwrap_or(72).max(1),
            ),
            not_found_grace: millis(
                problems,
                "sync.not_found_grace_ms",
                self.not_found_grace_ms,
                60_000,
                0,
            ),
        };
        if self.give_up_after_hours == Some(0) {
            problems.push("sync.give_up_after_hours", "must be at least 1");
        }
        sync
    }
}
