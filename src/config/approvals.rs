//! `[[approval_rules]]` and `approval_expires_after_hours` (DESIGN §19): which refunds wait
//! for an operator's approval before they are sent, and how long one may wait.
//!
//! A rule matches a refund when every condition it gives holds: its `merchant`, its
//! `provider` (the routed one), its `currency`, and an amount of at least `amount_at_least`
//! in that currency. `amount_at_least` is a decimal string checked against the currency's
//! exponent exactly as a refund's amount is (never rounded).

use std::time::Duration;

use refund_provider::{Currency, Money, Problems};
use serde::Deserialize;

use super::provider_sections::{self, ProviderSections};
use crate::domain::approval::ApprovalRule;

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

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const BASE: &str = "[[merchants]]\nid = \"acme\"\napi_key = \"sk_acme\"\n\n\
        [providers.efundpay]\nbase_url = \"sandbox\"\n\n[[routes]]\nprovider = \"efundpay\"\n";

    fn problems(text: &str) -> Vec<String> {
        match Config::from_toml(text) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.0.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn rules_and_the_expiry_are_read_with_their_defaults() {
        let text = format!(
            "approval_expires_after_hours = 24\n{BASE}\n[[approval_rules]]\ncurrency = \"JPY\"\namount_at_least = \"10000\"\nmerchant = \"acme\"\nprovider = \"efundpay\"\n"
        );
        let config = Config::from_toml(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.approval_rules.len(), 1);
        assert_eq!(
            config.approval_rules[0].amount_at_least.minor_units().get(),
            10_000
        );
        assert_eq!(config.approval_expires_after.as_secs(), 24 * 3600);
        let defaults = Config::from_toml(BASE).unwrap_or_else(|e| panic!("{e}"));
        assert!(defaults.approval_rules.is_empty());
        assert_eq!(defaults.approval_expires_after.as_secs(), 168 * 3600);
    }

    #[test]
    fn every_bad_rule_is_reported_at_its_key_path() {
        let text = format!(
            "approval_expires_after_hours = 0\n{BASE}\n\
             [[approval_rules]]\ncurrency = \"EUR\"\namount_at_least = \"1.001\"\n\n\
             [[approval_rules]]\ncurrency = \"XXX\"\namount_at_least = \"1\"\n\n\
             [[approval_rules]]\ncurrency = \"EUR\"\namount_at_least = \"1\"\nmerchant = \"nobody\"\nprovider = \"ebuy\"\n\n\
             [[approval_rules]]\ncurrency = \"EUR\"\n"
        );
        let found = problems(&text);
        for key in [
            "approval_expires_after_hours",
            "approval_rules[0].amount_at_least",
            "approval_rules[1].currency",
            "approval_rules[2].merchant",
            "approval_rules[2].provider",
            "approval_rules[3]",
        ] {
            assert!(
                found.iter().any(|p| p.starts_with(key)),
                "{key} not in {found:?}"
            );
        }
    }
}
