//! `[batches]`: how fast a bulk-refund batch's rows become refunds (DESIGN §19).

use refund_provider::Problems;
use serde::Deserialize;

/// Rows a batch turns into refunds per second by default.
pub(crate) const DEFAULT_ROWS_PER_SECOND: u32 = 50;

/// `[batches]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBatches {
    /// Rows of all running batches created per second, at most, in this process; default 50,
    /// 1 to 10,000. Each row is a refund sent to its provider, so this bounds what a batch
    /// adds to the providers' load beside the merchants' own refunds.
    rows_per_second: Option<u32>,
}

/// The validated `[batches]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchesConfig {
    /// Rows created per second, at most.
    pub(crate) rows_per_second: u32,
}

impl Default for BatchesConfig {
    fn default() -> Self {
        Self {
            rows_per_second: DEFAULT_ROWS_PER_SECOND,
        }
    }
}

impl RawBatches {
    /// The section with its default, its problem pushed with its key path.
    pub(crate) fn validate(self, problems: &mut Problems) -> BatchesConfig {
        let rows_per_second = self.rows_per_second.unwrap_or(DEFAULT_ROWS_PER_SECOND);
        if !(1..=10_000).contains(&rows_per_second) {
            problems.push("batches.rows_per_second", "must be from 1 to 10000");
            return BatchesConfig::default();
        }
        BatchesConfig { rows_per_second }
    }
}
