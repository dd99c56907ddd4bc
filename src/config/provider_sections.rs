//! `[providers.<id>]` as the gateway itself sees them: names, references to them from other
//! sections, and each timeout against the sync's not-found grace. The sections' own keys are
//! the provider crates' business and are checked by [`crate::providers::ProviderRegistry`].

use std::collections::BTreeMap;
use std::time::Duration;

use refund_provider::{Problems, ProviderId};

/// Each provider's raw section, by name.
pub(crate) type ProviderSections = BTreeMap<String, toml::Value>;

/// Refuses a section name that is not a provider id.
pub(crate) fn check_names(problems: &mut Problems, sections: &ProviderSections) {
    for name in sections.keys() {
        if ProviderId::parse(name).is_err() {
            problems.push(
                format!("providers.{name}"),
                "provider names are lowercase letters, digits, _ and -",
            );
        }
    }
}

/// The id of provider `name` referred to at `key`, which must have a section.
pub(crate) fn known(
    problems: &mut Problems,
    sections: &ProviderSections,
    key: String,
    name: &str,
) -> Option<ProviderId> {
    if sections.contains_key(name) {
        ProviderId::parse(name).ok()
    } else {
        problems.push(
            key,
            format!("provider `{name}` has no [providers.{name}] section"),
        );
        None
    }
}

/// Each provider's `timeout_ms` (default 10000) must be at most half of
/// `sync.not_found_grace_ms`. The sync worker takes a provider's "no such refund" as proof that
/// a refund was never made only once the refund is older than the grace period; a refund
/// request may still be on its way, or queued at the provider, for up to `timeout_ms` after
/// it was sent (and a provider often finishes work after we stopped waiting). With less than
/// twice the timeout of margin, a refund the provider applies late could be failed, or sent
/// again, while it succeeds.
pub(crate) fn timeouts_within_grace(
    problems: &mut Problems,
    sections: &ProviderSections,
    not_found_grace: Duration,
) {
    let grace_ms = u64::try_from(not_found_grace.as_millis()).unwrap_or(u64::MAX);
    let default_ms =
        u64::try_from(refund_provider::http::DEFAULT_TIMEOUT.as_millis()).unwrap_or(u64::MAX);
    for (name, section) in sections {
        let configured = section.get("timeout_ms");
        let timeout_ms = match configured {
            None => default_ms,
            // Not a positive integer: the provider's own validation reports it.
            Some(value) => match value.as_integer().and_then(|v| u64::try_from(v).ok()) {
                Some(ms) => ms,
                None => continue,
            },
        };
        if timeout_ms.saturating_mul(2) > grace_ms {
            let shown = if configured.is_some() {
                format!("{timeout_ms}")
            } else {
                format!("{timeout_ms} (the default)")
            };
            problems.push(
                format!("providers.{name}.timeout_ms"),
                format!(
                    "{shown} must be at most half of sync.not_found_grace_ms ({grace_ms}): a provider's \"not found\" is taken as proof that a refund was never made once the refund is older than that grace period, and a request can still reach the provider up to timeout_ms after it was sent, so the grace needs twice the timeout of margin or a refund applied late could be failed or sent again"
                ),
            );
        }
    }
}
