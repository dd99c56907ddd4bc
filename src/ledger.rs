//! The gateway's double-entry books (DESIGN §10): account names, posting rules, and exact
//! rendering of minor-unit sums with the currency's exponent.
//!
//! Every posting is two lines in one currency that sum to zero (debits positive, credits
//! negative), so the whole ledger sums to zero per currency by construction:
//!
//! | kind               | when                                            | debit (+)                              | credit (−)                             |
//! |--------------------|-------------------------------------------------|----------------------------------------|----------------------------------------|
//! | `refund_succeeded` | the refund moves to `succeeded`                 | `merchant:<m>:refund_expense:<cur>`    | `provider:<p>:clearing:<cur>`          |
//! | `refund_canceled`  | the provider voids, or reports failed, a refund it reported succeeded | `provider:<p>:clearing:<cur>` | `merchant:<m>:refund_expense:<cur>` |
//! | `refund_settled`   | a statement line matches a succeeded refund     | `provider:<p>:clearing:<cur>`          | `provider:<p>:settled:<cur>`           |
//! | `settlement_fee`   | a settling statement reports the provider's fee | `provider:<p>:fees:<cur>`              | `provider:<p>:clearing:<cur>`          |
//! | `fee_settled`      | the same import: the payout covers the fee      | `provider:<p>:clearing:<cur>`          | `provider:<p>:settled:<cur>`           |
//!
//! Fees: the provider's fee is an expense owed to the provider, so it is posted against the
//! clearing account (`settlement_fee`); the statement that reports it is the settlement that
//! pays it (the provider nets it from the payout), so the same import moves it on to settled
//! (`fee_settled`). Clearing therefore comes back to zero for everything a settled statement
//! covers, and the fee stays visible on `provider:<p>:fees:<cur>`. A line's fee is posted on
//! its refund; a batch's fee on its first member refund (`crate::reconcile::batch`), once.
//!
//! Cancellation: a final status never moves, so a refund can only become `canceled` from
//! `pending`/`processing`, when nothing was posted yet and nothing needs reversing. The case
//! that does is a provider voiding a refund it had reported succeeded, or reporting it failed
//! later (Stripe's `succeeded` → `failed`, DESIGN §7): the status stays `succeeded`, the
//! refund is flagged `requires_attention`, and the same change posts the `refund_canceled`
//! reversal, so the books follow the money while finance looks at it. Both use the one kind,
//! so a refund voided and also reported failed is reversed once.
//!
//! Lines are append-only and each (refund, kind, account) is written at most once: the
//! unique index `ledger_entries_once` and `ON CONFLICT DO NOTHING` make a repeated void
//! report or a re-imported statement post nothing twice, across processes.
//!
//! What the clearing account holds, per provider and currency: minus the refunds that
//! succeeded and are neither settled nor voided (what the provider still has to pay out),
//! plus refunds voided after their settlement (money the provider owes back).

use serde::Serialize;

use refund_provider::Currency;

use crate::domain::{EntryKind, RefundRecord};

/// One double-entry ledger line: debits positive, credits negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerLine {
    pub entry_kind: EntryKind,
    pub account: String,
    pub currency: String,
    pub amount_minor: i64,
}

pub(crate) fn expense_account(merchant_id: &str, currency: &str) -> String {
    format!("merchant:{merchant_id}:refund_expense:{currency}")
}

pub(crate) fn clearing_account(provider: &str, currency: &str) -> String {
    format!("provider:{provider}:clearing:{currency}")
}

pub(crate) fn settled_account(provider: &str, currency: &str) -> String {
    format!("provider:{provider}:settled:{currency}")
}

#[cfg(test)]
pub(crate) fn fees_account(provider: &str, currency: &str) -> String {
    format!("provider:{provider}:fees:{currency}")
}

fn pair(
    kind: EntryKind,
    debit: String,
    credit: String,
    currency: &str,
    amount_minor: i64,
) -> Vec<LedgerLine> {
    vec![
        LedgerLine {
            entry_kind: kind,
            account: debit,
            currency: currency.to_owned(),
            amount_minor,
        },
        LedgerLine {
            entry_kind: kind,
            account: credit,
            currency: currency.to_owned(),
            amount_minor: -amount_minor,
        },
    ]
}

/// The reversal of a succeeded refund's lines, posted when the provider voids it or reports
/// it failed.
pub(crate) fn canceled_lines(refund: &RefundRecord, amount_minor: i64) -> Vec<LedgerLine> {
    pair(
        EntryKind::RefundCanceled,
        clearing_account(&refund.provider, &refund.currency),
        expense_account(&refund.merchant_id, &refund.currency),
        &refund.currency,
        amount_minor,
    )
}

/// The move from clearing to settled for a refund a statement line confirmed.
pub fn settled_lines(provider: &str, currency: &str, amount_minor: i64) -> Vec<LedgerLine> {
    pair(
        EntryKind::RefundSettled,
        clearing_account(provider, currency),
        settled_account(provider, currency),
        currency,
        amount_minor,
    )
}

/// A provider's fee reported by a settling statement: charged against clearing, then
/// settled with the payout that nets it (two balanced postings; clearing nets to zero).
/// The store builds these lines in SQL (`store::ledger`); this is the rule its tests check.
#[cfg(test)]
pub(crate) fn fee_lines(provider: &str, currency: &str, fee_minor: i64) -> Vec<LedgerLine> {
    let mut lines = pair(
        EntryKind::SettlementFee,
        fees_account(provider, currency),
        clearing_account(provider, currency),
        currency,
        fee_minor,
    );
    lines.extend(pair(
        EntryKind::FeeSettled,
        clearing_account(provider, currency),
        settled_account(provider, currency),
        currency,
        fee_minor,
    ));
    lines
}

/// The key of a `requires_attention` event's detail that says which status the provider
/// reported when it reversed a succeeded refund (`canceled` for a void, `failed` for a
/// failure after success).
pub(crate) const REVERSED_TO: &str = "reversed_to";

/// A signed count of minor units as an exact decimal with the currency's exponent:
/// `1299` EUR → `"12.99"`, `-5` JPY → `"-5"`, `0` KWD → `"0.000"`. Any i128 (a sum of a
/// thousand of the largest amounts has 20 digits): formatted digit by digit, never through
/// a type with a smaller range.
pub(crate) fn format_minor(minor: impl Into<i128>, currency: Currency) -> String {
    let minor: i128 = minor.into();
    let exponent = currency.exponent() as usize;
    let sign = if minor < 0 { "-" } else { "" };
    let digits = minor.unsigned_abs().to_string();
    if exponent == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = exponent + 1);
    let (units, fraction) = padded.split_at(padded.len() - exponent);
    format!("{sign}{units}.{fraction}")
}

/// An amount in one currency as reports render it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct CurrencyAmount {
    pub(crate) currency: String,
    /// Exact decimal with the currency's exponent.
    pub(crate) amount: String,
}

impl CurrencyAmount {
    /// Renders `minor` of `currency`; a currency code the ISO table does not know (corrupt
    /// data) is rendered in minor units rather than guessed.
    pub(crate) fn new(currency: &str, minor: impl Into<i128>) -> Self {
        let minor: i128 = minor.into();
        let amount = Currency::parse(currency)
            .map(|c| format_minor(minor, c))
            .unwrap_or_else(|_| minor.to_string());
        Self {
            currency: currency.to_owned(),
            amount,
        }
    }
}

/// Totals in minor units kept apart per currency, never mixed. Kept in i128: a sum of
/// i64 amounts cannot reach its limit before 2^64 of them, so it is always exact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Totals(std::collections::BTreeMap<String, i128>);

impl Totals {
    pub(crate) fn add(&mut self, currency: &str, minor: impl Into<i128>) {
        let slot = self.0.entry(currency.to_owned()).or_insert(0);
        *slot = slot.saturating_add(minor.into());
    }

    /// One entry per currency, sorted by code.
    pub(crate) fn render(&self) -> Vec<CurrencyAmount> {
        self.0
            .iter()
            .map(|(c, m)| CurrencyAmount::new(c, *m))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EventSource;
    use crate::domain::RefundStatus;
    use crate::engine::decide::decide;
    use refund_provider::{ProviderRefund, ProviderRefundStatus};

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap_or_else(|e| panic!("{e}"))
    }

    fn succeeded_refund() -> RefundRecord {
        RefundRecord {
            provider_refund_id: Some("p1".into()),
            version: 3,
            ..RefundRecord::sample(RefundStatus::Succeeded, Some(1299))
        }
    }

    #[test]
    fn sums_render_with_the_currencys_exponent_and_sign() {
        assert_eq!(format_minor(1299, cur("EUR")), "12.99");
        assert_eq!(format_minor(-1299, cur("EUR")), "-12.99");
        assert_eq!(format_minor(1299, cur("JPY")), "1299");
        assert_eq!(format_minor(1299, cur("KWD")), "1.299");
        assert_eq!(format_minor(0, cur("KWD")), "0.000");
        assert_eq!(format_minor(5, cur("EUR")), "0.05");
        assert_eq!(format_minor(-5, cur("KWD")), "-0.005");
        // 1,000 × 999999999999.9999 CLF: beyond i64 and beyond 12 integer digits.
        assert_eq!(
            format_minor(9_999_999_999_999_999_000_i128, cur("CLF")),
            "999999999999999.9000"
        );
        assert_eq!(format_minor(i128::MIN, cur("EUR")).len(), 41);
    }

    #[test]
    fn every_posting_is_balanced_in_one_currency() {
        let refund = succeeded_refund();
        for lines in [
            canceled_lines(&refund, 1299),
            settled_lines("efundpay", "EUR", 1299),
        ] {
            assert_eq!(lines.len(), 2);
            assert_eq!(lines.iter().map(|l| l.amount_minor).sum::<i64>(), 0);
            assert!(lines.iter().all(|l| l.currency == "EUR"));
        }
        let settled = settled_lines("efundpay", "EUR", 1299);
        assert_eq!(settled[0].account, "provider:efundpay:clearing:EUR");
        assert_eq!(settled[0].amount_minor, 1299);
        assert_eq!(settled[1].account, "provider:efundpay:settled:EUR");
    }

    #[test]
    fn a_fee_is_charged_to_fees_against_clearing_and_settled_so_clearing_nets_to_zero() {
        let lines = fee_lines("efundpay", "EUR", 45);
        assert_eq!(lines.len(), 4);
        assert_eq!(lines.iter().map(|l| l.amount_minor).sum::<i64>(), 0);
        let balance = |account: &str| -> i64 {
            lines
                .iter()
                .filter(|l| l.account == account)
                .map(|l| l.amount_minor)
                .sum()
        };
        assert_eq!(balance("provider:efundpay:fees:EUR"), 45);
        assert_eq!(balance("provider:efundpay:clearing:EUR"), 0);
        assert_eq!(balance("provider:efundpay:settled:EUR"), -45);
        assert_eq!(lines[0].entry_kind, EntryKind::SettlementFee);
        assert_eq!(lines[1].account, "provider:efundpay:clearing:EUR");
        assert_eq!(lines[1].amount_minor, -45);
        assert_eq!(lines[3].entry_kind, EntryKind::FeeSettled);
    }

    #[test]
    fn a_provider_voiding_a_succeeded_refund_reverses_its_lines_and_keeps_the_status() {
        let refund = succeeded_refund();
        let voided = ProviderRefund::with_status(ProviderRefundStatus::Canceled, "voided");
        let change = decide(&refund, &voided, EventSource::Webhook, 0, true, true);
        assert_eq!(change.status, None);
        assert!(change.flag_requires_attention);
        assert_eq!(change.ledger, canceled_lines(&refund, 1299));
        assert_eq!(change.ledger[0].account, "provider:efundpay:clearing:EUR");
        assert_eq!(change.ledger[0].amount_minor, 1299);
        assert_eq!(change.ledger[1].account, "merchant:acme:refund_expense:EUR");
    }

    #[test]
    fn a_failure_reported_after_success_is_flagged_and_reversed_as_a_void_is() {
        // DESIGN §7 (Stripe's failed-after-succeeded): the same reversal as a void, under the
        // same kind, so a refund both voided and failed later is reversed once.
        let refund = succeeded_refund();
        let failed = ProviderRefund::with_status(ProviderRefundStatus::Failed, "failed");
        let change = decide(&refund, &failed, EventSource::Webhook, 0, true, true);
        assert_eq!(change.status, None);
        assert!(change.flag_requires_attention);
        assert_eq!(change.ledger, canceled_lines(&refund, 1299));
    }

    #[test]
    fn totals_never_mix_currencies() {
        let mut totals = Totals::default();
        totals.add("EUR", 100);
        totals.add("JPY", 100);
        totals.add("EUR", 250);
        assert_eq!(
            totals.render(),
            vec![
                CurrencyAmount::new("EUR", 350),
                CurrencyAmount::new("JPY", 100)
            ]
        );
        assert_eq!(totals.render()[0].amount, "3.50");
        assert_eq!(totals.render()[1].amount, "100");
    }
}
