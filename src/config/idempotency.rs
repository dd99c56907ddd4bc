//! `[idempotency]`: how long an `Idempotency-Key` and its answer are kept.

use std::time::Duration;

use refund_provider::Problems;
use serde::Deserialize;

/// `[idempotency]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIdempotency {
    /// How long idempotency keys are kept, in hours; default 24, at least 1.
    retention_hours: Option<u64>,
}

/// The validated `[idempotency]` section.
#[derive(Debug, Clone)]
pub struct IdempotencyConfig {
    /// How long idempotency keys are kept.
    pub(crate) retention: Duration,
}

impl RawIdempotency {
    /// The section with its default, its problem pushed with its key path.
    pub(crate) fn validate(self, problems: &mut Problems) -> IdempotencyConfig {
        let hours = self.retention_hours.unwrap_or(24);
        if hours == 0 {
            problems.push("idempotency.retention_hours", "must be at least 1");
        }
        IdempotencyConfig {
            retention: Duration::from_secs(3600 * hours),
        }
    }
}
