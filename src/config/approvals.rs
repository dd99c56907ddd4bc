//! `[[approval_rules]]` and `approval_expires_after_hours` (DESIGN §19): which refunds wait
//! for an operator's approval before they are sent, and how long one may wait.
//!
//! A rule matches a refund when every condition it gives holds: its `merchant`, its
//! `provider` (the routed one), its `currency`, and an amount of at least `amount_at_least`
//! in that currency. `amount_at_least` is a decimal string checked against the currency's
//! exponent exactly as a refund's amount is (never rounded).

use std::time::Duration;

use refund_provider::{Currency, Money, Problems, ProviderId};
use serde::Deserialize;

use super::provider_sections::{self, ProviderSections};

/// How long a refund may await approval by default: 168 hours (a week).
pub(crate) const DEFAULT_EXPIRES_AFTER_HOURS: u64 = 168;

/// `[[approval_rules]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApprovalRule {
    /// Only refunds of this merchant (its id); default any.
    merchant: Option<String>,
    /// Only refunds routed to this provider; default any.
    provider: Option<String>,
    /// The ISO 4217 code of the refunds this rule holds (required).
    currency: String,
    /// Refunds of at least this amount (a decimal string in major units, e.g. `"100.00"`)
    /// wait for approval (required).
    amount_at_least: String,
}

/// One validated approval rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRule {
    /// The merchant whose refunds it holds; `None`: any.
    pub(crate) merchant: Option<String>,
    /// The provider whose refunds it holds; `None`: any.
    pub(crate) provider: Option<ProviderId>,
    /// The rule's threshold, in its currency.
    pub(crate) amount_at_least: Money,
}

/// Every readable rule (a rule with a problem is reported and left out: the configuration
/// is refused anyway).
pub(crate) fn validate_all(
    problems: &mut Problems,
    raw: Vec<Option<RawApprovalRule>>,
    merchant_ids: &[String],
    sections: &ProviderSections,
) -> Vec<ApprovalRule> {
    raw.into_iter()
        .enumerate()
        .filter_map(|(i, rule)| rule?.validate(problems, i, merchant_ids, sections))
        .collect()
}

impl RawApprovalRule {
    fn validate(
        self,
        problems: &mut Problems,
        index: usize,
        merchant_ids: &[String],
        sections: &ProviderSections,
    ) -> Option<ApprovalRule> {
        let key = |name: &str| format!("approval_rules[{index}].{name}");
        if let Some(id) = &self.merchant {
            if !merchant_ids.contains(id) {
                problems.push(key("merchant"), format!("no merchant `{id}` is configured"));
            }
        }
        let provider = match &self.provider {
            None => Some(None),
            Some(name) => {
                provider_sections::known(problems, sections, key("provider"), name).map(Some)
            }
        };
        let currency = match Currency::parse(&self.currency) {
            Ok(currency) => Some(currency),
            Err(e) => {
                problems.push(key("currency"), e.to_string());
                None
            }
        };
        let amount =
            currency.and_then(
                |currency| match Money::parse(&self.amount_at_least, currency) {
                    Ok(amount) => Some(amount),
                    Err(e) => {
                        problems.push(key("amount_at_least"), e.to_string());
                        None
                    }
                },
            );
        Some(ApprovalRule {
            merchant: self.merchant,
            provider: provider?,
            amount_at_least: amount?,
        })
    }
}

/// `approval_expires_after_hours`: at least 1, default 168.
pub(crate) fn expires_after(problems: &mut Problems, hours: Option<i64>) -> Duration {
    let hours = hours.unwrap_or(DEFAULT_EXPIRES_AFTER_HOURS as i64);
    let hours = match u64::try_from(hours) {
        Ok(hours) if hours >= 1 => hours,
        _ => {
            problems.push("approval_expires_after_hours", "must be at least 1");
            DEFAULT_EXPIRES_AFTER_HOURS
        }
    };
    Duration::from_secs(3600u64.saturating_mul(hours))
}
