//! `[[routes]]`: which provider a refund goes to, by currency, payment id prefix and
//! merchant; the first rule whose conditions all hold wins (see [`crate::routing`]).

use refund_provider::{Currency, Problems, ProviderId};
use serde::Deserialize;

use super::provider_sections::{self, ProviderSections};

/// `[[routes]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    /// The provider refunds matching this rule go to; it needs a `[providers.<id>]` section.
    provider: String,
    /// Only refunds in one of these ISO 4217 codes (upper case); default any.
    currency: Option<Vec<String>>,
    /// Only refunds of payments whose id starts with this; default any.
    payment_id_prefix: Option<String>,
    /// Only refunds of these merchants (their ids); default any.
    merchant: Option<Vec<String>>,
}

/// One `[[routes]]` rule; all given conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Where matching refunds go.
    pub(crate) provider: ProviderId,
    /// Currencies the rule applies to; `None`: any.
    pub(crate) currency: Option<Vec<Currency>>,
    /// Payment id prefix the rule applies to; `None`: any.
    pub(crate) payment_id_prefix: Option<String>,
    /// Merchants the rule applies to; `None`: any.
    pub(crate) merchant: Option<Vec<String>>,
}

/// Every readable rule at its index (`raw[i]` is `None` where its type error was reported);
/// `merchant_ids` are the configured merchants' ids. Rules naming a provider without a
/// section are left out (the configuration is refused anyway).
pub(crate) fn validate_all(
    problems: &mut Problems,
    raw: Vec<Option<RawRoute>>,
    merchant_ids: &[String],
    sections: &ProviderSections,
) -> Vec<Route> {
    raw.into_iter()
        .enumerate()
        .filter_map(|(i, route)| route?.validate(problems, i, merchant_ids, sections))
        .collect()
}

impl RawRoute {
    fn validate(
        self,
        problems: &mut Problems,
        index: usize,
        merchant_ids: &[String],
        sections: &ProviderSections,
    ) -> Option<Route> {
        let key = |name: &str| format!("routes[{index}].{name}");
        let provider =
            provider_sections::known(problems, sections, key("provider"), &self.provider);
        let currency = self.currency.map(|list| {
            list.iter()
                .enumerate()
                .filter_map(|(j, code)| match Currency::parse(code) {
                    Ok(currency) => Some(currency),
                    Err(e) => {
                        problems.push(key(&format!("currency[{j}]")), e.to_string());
                        None
                    }
                })
                .collect()
        });
        for (j, id) in self.merchant.iter().flatten().enumerate() {
            if !merchant_ids.contains(id) {
                problems.push(
                    key(&format!("merchant[{j}]")),
                    format!("no merchant `{id}` is configured"),
                );
            }
        }
        Some(Route {
            provider: provider?,
            currency,
            payment_id_prefix: self.payment_id_prefix,
            merchant: self.merchant,
        })
    }
}
