//! Which refunds wait for an operator's approval (DESIGN §19): the first `[[approval_rules]]`
//! rule that matches a refund holds it. Pure: the engine asks once per new refund, after
//! routing (a rule may name the provider) and before anything is recorded.
//!
//! The amount compared is the one the refund will be recorded for: the request's `amount`,
//! or, for a refund without one, what the gateway knows of the payment (its captured
//! amount). A refund whose amount nobody knows yet (a full refund of a payment the gateway
//! has never seen, sized later by the provider) is held by every rule of its currency: four
//! eyes cannot be skipped by leaving the amount out.

use refund_provider::{Currency, Money, ProviderId};

/// One approval rule, as `[[approval_rules]]` gives it once validated (`crate::config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRule {
    /// The merchant whose refunds it holds; `None`: any.
    pub(crate) merchant: Option<String>,
    /// The provider whose refunds it holds; `None`: any.
    pub(crate) provider: Option<ProviderId>,
    /// The rule's threshold, in its currency.
    pub(crate) amount_at_least: Money,
}

/// What the rules are asked about one new refund.
#[derive(Debug, Clone, Copy)]
pub struct ApprovalInput<'a> {
    pub merchant: &'a str,
    pub provider: &'a ProviderId,
    pub currency: Currency,
    /// Minor units in `currency`, when known.
    pub amount_minor: Option<i64>,
}

/// The index of the first rule that holds this refund for approval, if any.
pub fn matching_rule(rules: &[ApprovalRule], input: ApprovalInput<'_>) -> Option<usize> {
    rules.iter().position(|rule| {
        rule.merchant.as_deref().is_none_or(|m| m == input.merchant)
            && rule.provider.as_ref().is_none_or(|p| p == input.provider)
            && rule.amount_at_least.currency() == input.currency
            && input
                .amount_minor
                .is_none_or(|minor| minor >= rule.amount_at_least.minor_units().get())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use refund_provider::Money;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).unwrap_or_else(|e| panic!("{e}"))
    }

    fn rule(
        merchant: Option<&str>,
        provider: Option<&str>,
        amount: &str,
        code: &str,
    ) -> ApprovalRule {
        ApprovalRule {
            merchant: merchant.map(str::to_owned),
            provider: provider.map(|p| ProviderId::parse(p).unwrap_or_else(|e| panic!("{e}"))),
            amount_at_least: Money::parse(amount, currency(code)).unwrap_or_else(|e| panic!("{e}")),
        }
    }

    fn ask(
        rules: &[ApprovalRule],
        merchant: &str,
        provider: &str,
        code: &str,
        minor: Option<i64>,
    ) -> Option<usize> {
        let provider = ProviderId::parse(provider).unwrap_or_else(|e| panic!("{e}"));
        matching_rule(
            rules,
            ApprovalInput {
                merchant,
                provider: &provider,
                currency: currency(code),
                amount_minor: minor,
            },
        )
    }

    #[test]
    fn a_refund_at_the_threshold_waits_and_one_a_cent_below_does_not() {
        let rules = [rule(None, None, "100.00", "EUR")];
        assert_eq!(ask(&rules, "acme", "stripe", "EUR", Some(10_000)), Some(0));
        assert_eq!(ask(&rules, "acme", "stripe", "EUR", Some(9_999)), None);
    }

    #[test]
    fn a_rule_holds_only_its_currency_merchant_and_provider() {
        let rules = [rule(Some("acme"), Some("efundpay"), "1", "JPY")];
        assert_eq!(ask(&rules, "acme", "efundpay", "JPY", Some(5)), Some(0));
        assert_eq!(ask(&rules, "globex", "efundpay", "JPY", Some(5)), None);
        assert_eq!(ask(&rules, "acme", "stripe", "JPY", Some(5)), None);
        assert_eq!(ask(&rules, "acme", "efundpay", "EUR", Some(500)), None);
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let rules = [
            rule(Some("globex"), None, "1.00", "EUR"),
            rule(None, None, "50.00", "EUR"),
        ];
        assert_eq!(ask(&rules, "globex", "stripe", "EUR", Some(100)), Some(0));
        assert_eq!(ask(&rules, "acme", "stripe", "EUR", Some(5_000)), Some(1));
        assert_eq!(ask(&rules, "acme", "stripe", "EUR", Some(100)), None);
    }

    #[test]
    fn a_refund_of_unknown_amount_waits_under_every_rule_of_its_currency() {
        let rules = [rule(None, None, "1000000.00", "EUR")];
        assert_eq!(ask(&rules, "acme", "stripe", "EUR", None), Some(0));
        assert_eq!(ask(&rules, "acme", "stripe", "USD", None), None);
    }
}
