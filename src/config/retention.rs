//! `[retention]`: how long history that finance no longer needs is kept (DESIGN §15).

use std::time::Duration;

use refund_provider::Problems;
use serde::Deserialize;

use super::rules::between;

/// `[retention]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetention {
    /// Days webhook receipts, and the non-essential history of final refunds, are kept;
    /// default 90, 1 to 36500.
    days: Option<u64>,
}

/// How long history that finance no longer needs is kept (`[retention]`, DESIGN §15).
#[derive(Debug, Clone)]
pub struct RetentionConfig {
    /// Webhook receipts, and the non-essential history of final refunds, older than this are
    /// purged by the housekeeping worker (see `engine::housekeeping`).
    pub(crate) period: Duration,
}

impl RawRetention {
    /// The section with its default, its problem pushed with its key path.
    pub(crate) fn validate(self, problems: &mut Problems) -> RetentionConfig {
        let days = between(problems, "retention.days", self.days, 90, 1..=36_500);
        RetentionConfig {
            period: Duration::from_secs(86_400 * days),
        }
    }
}
