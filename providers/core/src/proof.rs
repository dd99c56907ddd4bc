//! What a provider's answer proves (DESIGN §16), and the two conclusions the gateway draws
//! from it, as pure functions shared by the engine and the conformance kit.
//!
//! Exactly-once holds only if the gateway concludes nothing the provider did not prove. The
//! provider documents define the refund call and its answer; status queries and duplicate
//! refusals are mostly our assumptions. So each adapter declares, with a comment citing the
//! document that grants it, what its answers prove ([`Proofs`]); an assumption may settle a
//! refund the way it reports (a record found is a record), but it never fails, re-sends or
//! books a refund by what it did *not* find:
//!
//! - [`after_no_record`]: what a status query that still finds nothing after the grace
//!   period leads to. Not proven absent: flag it for an operator, never fail or re-send.
//!   Proven absent: re-send once when re-sending is deduplicated, else fail.
//! - [`proven_amount`]: a success or processing report proves its amount only where the
//!   provider's document defines one and the report carries it, in the refund's currency,
//!   equal to what was asked (when something was), with asset lines that add up to it.

use crate::money::{Currency, Money};
use crate::outcome::{ProviderRefund, ProviderRefundStatus};

/// What a provider's answers prove, declared by its adapter (each fact with the sentence of
/// the provider's document that grants it; without one, `false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proofs {
    /// Its status query finds every refund the provider made for that account, so "no such
    /// refund" after the grace period proves the refund was never made.
    pub not_found_proves_absence: bool,
    /// The provider refuses or replays a second request with the same reference or key, so
    /// re-sending a refund whose outcome is unknown cannot pay it twice.
    pub resend_is_deduplicated: bool,
    /// Its answers (create, status query, webhook) carry the refunded amount: a success or
    /// processing report without one proves nothing about the amount.
    pub answers_carry_amount: bool,
}

impl Proofs {
    /// The proofs with what a provider section trusts on top (`trust_not_found`,
    /// `trust_resend`: for whoever holds the provider's written confirmation).
    pub fn trusting(self, trust: Trust) -> Self {
        Self {
            not_found_proves_absence: self.not_found_proves_absence || trust.not_found,
            resend_is_deduplicated: self.resend_is_deduplicated || trust.resend,
            answers_carry_amount: self.answers_carry_amount,
        }
    }
}

/// What a provider section trusts beyond its adapter's declared proofs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trust {
    /// `trust_not_found = true`: "no such refund" proves absence.
    pub not_found: bool,
    /// `trust_resend = true`: a re-send with the same reference is deduplicated.
    pub resend: bool,
}

impl Trust {
    /// True when the section trusts anything its adapter does not prove.
    pub fn any(self) -> bool {
        self.not_found || self.resend
    }
}

/// What a pending refund becomes when its status query still finds nothing after the grace
/// period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRecord {
    /// Absence is not proven: flag it for an operator (`provider_has_no_record`), keep it
    /// pending, never send it again, and keep asking (a late record still settles it).
    Flag,
    /// Absence is proven and a re-send is deduplicated: send it once more, same reference.
    Resend,
    /// Absence is proven and it cannot (or can no longer) be re-sent: it was never made.
    Fail,
}

/// The conclusion from "no record after the grace period" (see [`NoRecord`]). A refund is
/// never re-sent twice: once `already_resent`, proven absence fails it.
pub fn after_no_record(proofs: Proofs, already_resent: bool) -> NoRecord {
    if !proofs.not_found_proves_absence {
        NoRecord::Flag
    } else if proofs.resend_is_deduplicated && !already_resent {
        NoRecord::Resend
    } else {
        NoRecord::Fail
    }
}

/// What was asked of the provider, for checking what it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked {
    pub currency: Currency,
    /// The amount asked in minor units; `None` for a refund sent without one (its amount is
    /// learnt from the report).
    pub amount_minor: Option<i64>,
}

/// Why a report's amount proves nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountMismatch {
    /// A success or processing report without an amount (or with zero) where the provider's
    /// answers carry one.
    Missing,
    /// The amount is in another currency than the refund's.
    Currency,
    /// The amount differs from what was asked.
    Different,
    /// The asset lines do not add up to the amount, or are in another currency.
    LinesDoNotAddUp,
}

impl AmountMismatch {
    /// What is wrong, for the refund's history.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "no_amount",
            Self::Currency => "other_currency",
            Self::Different => "other_amount",
            Self::LinesDoNotAddUp => "lines_do_not_add_up",
        }
    }
}

/// The amount a report proves, checked against what was asked: `Ok(None)` when the report
/// proves nothing about money and need not (a failure, a cancellation, or a provider whose
/// answers carry no amount and which reports none); `Ok(Some(amount))` when it carries an
/// amount that fits; `Err` when a success or processing report (or any report with an
/// amount) does not prove the amount asked.
pub fn proven_amount(
    asked: Asked,
    report: &ProviderRefund,
    answers_carry_amount: bool,
) -> Result<Option<Money>, AmountMismatch> {
    let moves_money = matches!(
        report.status,
        ProviderRefundStatus::Succeeded | ProviderRefundStatus::Processing
    );
    let Some(amount) = report.amount else {
        return if moves_money && answers_carry_amount {
            Err(AmountMismatch::Missing)
        } else {
            Ok(None)
        };
    };
    if amount.currency() != asked.currency {
        return Err(AmountMismatch::Currency);
    }
    if asked
        .amount_minor
        .is_some_and(|minor| minor != amount.minor_units().get())
    {
        return Err(AmountMismatch::Different);
    }
    if !report.breakdown.is_empty() && moves_money {
        let mut total: i128 = 0;
        for line in &report.breakdown {
            if line.amount.currency() != asked.currency {
                return Err(AmountMismatch::LinesDoNotAddUp);
            }
            total += i128::from(line.amount.minor_units().get());
        }
        if total != i128::from(amount.minor_units().get()) {
            return Err(AmountMismatch::LinesDoNotAddUp);
        }
    }
    Ok(Some(amount))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::MinorUnits;
    use crate::outcome::BreakdownLine;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap_or_else(|e| panic!("{e}"))
    }

    fn money(minor: i64, code: &str) -> Money {
        Money::from_minor(
            MinorUnits::new(minor).unwrap_or_else(|| panic!("positive")),
            cur(code),
        )
    }

    fn report(status: ProviderRefundStatus, amount: Option<Money>) -> ProviderRefund {
        let mut report = ProviderRefund::with_status(status, status.as_str());
        report.amount = amount;
        report
    }

    fn asked(minor: Option<i64>) -> Asked {
        Asked {
            currency: cur("CNY"),
            amount_minor: minor,
        }
    }

    const NONE: Proofs = Proofs {
        not_found_proves_absence: false,
        resend_is_deduplicated: false,
        answers_carry_amount: true,
    };

    #[test]
    fn no_record_is_flagged_unless_absence_is_proven_and_never_resent_twice() {
        assert_eq!(after_no_record(NONE, false), NoRecord::Flag);
        let dedup_only = Proofs {
            resend_is_deduplicated: true,
            ..NONE
        };
        assert_eq!(after_no_record(dedup_only, false), NoRecord::Flag);
        let absence = Proofs {
            not_found_proves_absence: true,
            ..NONE
        };
        assert_eq!(after_no_record(absence, false), NoRecord::Fail);
        let both = Proofs {
            not_found_proves_absence: true,
            resend_is_deduplicated: true,
            ..NONE
        };
        assert_eq!(after_no_record(both, false), NoRecord::Resend);
        assert_eq!(after_no_record(both, true), NoRecord::Fail);
    }

    #[test]
    fn trust_adds_to_the_declared_proofs_and_never_removes_one() {
        let trusted = NONE.trusting(Trust {
            not_found: true,
            resend: false,
        });
        assert!(trusted.not_found_proves_absence && !trusted.resend_is_deduplicated);
        let both = Proofs {
            not_found_proves_absence: true,
            resend_is_deduplicated: true,
            ..NONE
        };
        assert_eq!(both.trusting(Trust::default()), both);
        assert!(!Trust::default().any());
    }

    #[test]
    fn a_success_or_processing_report_proves_only_the_amount_it_carries() {
        for status in [
            ProviderRefundStatus::Succeeded,
            ProviderRefundStatus::Processing,
        ] {
            assert_eq!(
                proven_amount(asked(Some(1250)), &report(status, None), true),
                Err(AmountMismatch::Missing)
            );
            assert_eq!(
                proven_amount(asked(None), &report(status, None), true),
                Err(AmountMismatch::Missing),
                "a refund sent without an amount learns nothing from a report without one"
            );
            assert_eq!(
                proven_amount(
                    asked(Some(1250)),
                    &report(status, Some(money(1250, "USD"))),
                    true
                ),
                Err(AmountMismatch::Currency)
            );
            assert_eq!(
                proven_amount(
                    asked(Some(1250)),
                    &report(status, Some(money(100, "CNY"))),
                    true
                ),
                Err(AmountMismatch::Different)
            );
            assert_eq!(
                proven_amount(
                    asked(Some(1250)),
                    &report(status, Some(money(1250, "CNY"))),
                    true
                ),
                Ok(Some(money(1250, "CNY")))
            );
            assert_eq!(
                proven_amount(asked(None), &report(status, Some(money(900, "CNY"))), true),
                Ok(Some(money(900, "CNY")))
            );
        }
    }

    #[test]
    fn failures_need_no_amount_and_providers_without_amounts_are_not_asked_for_one() {
        for status in [ProviderRefundStatus::Failed, ProviderRefundStatus::Canceled] {
            assert_eq!(
                proven_amount(asked(Some(1250)), &report(status, None), true),
                Ok(None)
            );
        }
        assert_eq!(
            proven_amount(
                asked(Some(1250)),
                &report(ProviderRefundStatus::Succeeded, None),
                false
            ),
            Ok(None)
        );
    }

    #[test]
    fn asset_lines_must_add_up_to_the_amount() {
        let line = |minor: i64, code: &str| BreakdownLine {
            asset_type: "cash".into(),
            amount: money(minor, code),
            status: ProviderRefundStatus::Succeeded,
        };
        let mut one_yuan_of_twelve_fifty =
            report(ProviderRefundStatus::Succeeded, Some(money(1250, "CNY")));
        one_yuan_of_twelve_fifty.breakdown = vec![line(100, "CNY")];
        assert_eq!(
            proven_amount(asked(Some(1250)), &one_yuan_of_twelve_fifty, true),
            Err(AmountMismatch::LinesDoNotAddUp)
        );
        let mut adds_up = one_yuan_of_twelve_fifty.clone();
        adds_up.breakdown = vec![line(1000, "CNY"), line(250, "CNY")];
        assert_eq!(
            proven_amount(asked(Some(1250)), &adds_up, true),
            Ok(Some(money(1250, "CNY")))
        );
        let mut other_currency = adds_up.clone();
        other_currency.breakdown = vec![line(1000, "CNY"), line(250, "USD")];
        assert_eq!(
            proven_amount(asked(Some(1250)), &other_currency, true),
            Err(AmountMismatch::LinesDoNotAddUp)
        );
    }
}
