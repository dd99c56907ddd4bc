//! Small rules the sections share: the core's `BuildContext` for a gateway section (its
//! secret and URL helpers, reporting at the section's key) and durations in milliseconds.

use std::time::Duration;

use refund_provider::{BuildContext, Problems};

/// The core's config helpers (secrets from `<name>_env`, http(s) URLs) reporting under a
/// gateway section such as `merchants[0]`. Its public base URL is a provider's concern and
/// left empty.
pub(crate) fn section(key: impl Into<String>) -> BuildContext {
    BuildContext::new(key, String::new())
}

/// `value` milliseconds, `default` when not given; below `min` it is refused (and `min` used).
pub(crate) fn millis(
    problems: &mut Problems,
    key: &str,
    value: Option<u64>,
    default: u64,
    min: u64,
) -> Duration {
    let value = value.unwrap_or(default);
    if value < min {
        problems.push(key, format!("must be at least {min}"));
    }
    Duration::from_millis(value.max(min))
}

/// `value`, `default` when not given; outside `range` it is refused ("must be between …")
/// and clamped.
pub(crate) fn between(
    problems: &mut Problems,
    key: &str,
    value: Option<u64>,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> u64 {
    let message = format!("must be between {} and {}", range.start(), range.end());
    within(problems, key, value.unwrap_or(default), range, &message)
}

/// Refuses `value` outside `range`, reporting `message` at `key`; yields it clamped.
pub(crate) fn within(
    problems: &mut Problems,
    key: &str,
    value: u64,
    range: std::ops::RangeInclusive<u64>,
    message: &str,
) -> u64 {
    if !range.contains(&value) {
        problems.push(key, message);
    }
    value.clamp(*range.start(), *range.end())
}
