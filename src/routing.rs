//! Routing (DESIGN §6): an explicit `provider` wins if the merchant may use it; otherwise the
//! first `[[routes]]` rule whose conditions all hold.

use refund_provider::{Currency, ProviderId};

use crate::config::{MerchantConfig, Route};

/// Why no provider could be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RouteError {
    /// The explicit provider is not configured, or not for this merchant (400).
    ProviderUnsupported(String),
    /// No rule matched (422).
    NoRoute,
}

/// What routing looks at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteInput<'a> {
    pub(crate) merchant: &'a MerchantConfig,
    pub(crate) explicit: Option<&'a str>,
    pub(crate) currency: Currency,
    pub(crate) payment_id: &'a str,
}

/// Picks the provider; `configured` tells whether a provider id has an adapter.
pub(crate) fn route(
    routes: &[Route],
    input: RouteInput<'_>,
    configured: impl Fn(&ProviderId) -> bool,
) -> Result<ProviderId, RouteError> {
    if let Some(name) = input.explicit {
        return match ProviderId::parse(name) {
            Ok(id) if configured(&id) && input.merchant.may_use(&id) => Ok(id),
            _ => Err(RouteError::ProviderUnsupported(name.to_owned())),
        };
    }
    routes
        .iter()
        .find(|rule| {
            rule.currency
                .as_ref()
                .is_none_or(|list| list.contains(&input.currency))
                && rule
                    .payment_id_prefix
                    .as_ref()
                    .is_none_or(|prefix| input.payment_id.starts_with(prefix.as_str()))
                && rule
                    .merchant
                    .as_ref()
                    .is_none_or(|list| list.iter().any(|m| m == &input.merchant.id))
                && configured(&rule.provider)
                && input.merchant.may_use(&rule.provider)
        })
        .map(|rule| rule.provider.clone())
        .ok_or(RouteError::NoRoute)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merchant(id: &str, providers: Option<Vec<&'static str>>) -> MerchantConfig {
        MerchantConfig {
            id: id.into(),
            api_keys: Vec::new(),
            webhook_url: None,
            webhook_secrets: Vec::new(),
            providers: providers.map(|l| l.into_iter().map(ProviderId::from_static).collect()),
            accounts: Default::default(),
        }
    }

    fn rule(
        provider: &'static str,
        currency: Option<&[&str]>,
        prefix: Option<&str>,
        merchants: Option<&[&str]>,
    ) -> Route {
        Route {
            provider: ProviderId::from_static(provider),
            currency: currency.map(|l| l.iter().filter_map(|c| Currency::parse(c).ok()).collect()),
            payment_id_prefix: prefix.map(Into::into),
            merchant: merchants.map(|l| l.iter().map(|m| m.to_string()).collect()),
        }
    }

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let routes = vec![
            rule("authms", None, Some("txn_"), None),
            rule("ebuy", Some(&["CNY"]), None, None),
            rule("efundpay", None, None, None),
        ];
        let m = merchant("demo", None);
        let pick = |currency, payment_id| {
            route(
                &routes,
                RouteInput {
                    merchant: &m,
                    explicit: None,
                    currency: cur(currency),
                    payment_id,
                },
                |_| true,
            )
        };
        assert_eq!(pick("CNY", "txn_1"), Ok(ProviderId::from_static("authms")));
        assert_eq!(pick("CNY", "ORDER1"), Ok(ProviderId::from_static("ebuy")));
        assert_eq!(
            pick("EUR", "pay_1"),
            Ok(ProviderId::from_static("efundpay"))
        );
    }

    #[test]
    fn merchant_rules_and_missing_routes() {
        let routes = vec![rule("ebuy", Some(&["CNY"]), None, Some(&["acme"]))];
        let other = merchant("other", None);
        let acme = merchant("acme", None);
        let input = |m| RouteInput {
            merchant: m,
            explicit: None,
            currency: cur("CNY"),
            payment_id: "p",
        };
        assert_eq!(
            route(&routes, input(&other), |_| true),
            Err(RouteError::NoRoute)
        );
        assert_eq!(
            route(&routes, input(&acme), |_| true),
            Ok(ProviderId::from_static("ebuy"))
        );
    }

    #[test]
    fn an_explicit_provider_must_be_configured_for_the_merchant() {
        let restricted = merchant("acme", Some(vec!["ebuy"]));
        let input = |explicit| RouteInput {
            merchant: &restricted,
            explicit: Some(explicit),
            currency: cur("EUR"),
            payment_id: "p",
        };
        assert_eq!(
            route(&[], input("ebuy"), |_| true),
            Ok(ProviderId::from_static("ebuy"))
        );
        assert_eq!(
            route(&[], input("efundpay"), |_| true),
            Err(RouteError::ProviderUnsupported("efundpay".into()))
        );
        assert_eq!(
            route(&[], input("ebuy"), |_| false),
            Err(RouteError::ProviderUnsupported("ebuy".into()))
        );
        assert_eq!(
            route(&[], input("NOT VALID"), |_| true),
            Err(RouteError::ProviderUnsupported("NOT VALID".into()))
        );
    }
}
