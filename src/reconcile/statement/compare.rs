//! The matching rules of DESIGN §10 as pure functions, testable without a store: a line
//! against the refund it matched ([`compare`]), and the variances of a line matching nothing,
//! a refund missing from the statement and a batch that does not add up.

use refund_provider::Currency;

use super::report::{BatchMemberNote, Variance, VarianceKind};
use super::StatementLine;
use crate::domain::RefundStatus;
use crate::ledger::format_minor;
use crate::reconcile::batch::{Batch, Settle, Verdict};
use crate::store::finance::MatchRow;

/// What one line says against the gateway's refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineVerdict {
    pub(crate) variances: Vec<Variance>,
    /// No variance.
    pub(crate) clean: bool,
    pub(crate) settle: Settle,
}

/// Compares a line with the refund it matched: currency first (a currency mismatch is
/// reported alone), then amount (when the line carries one) and status. A refund reversed
/// after success counts as the status the provider reported then (`canceled` for a void,
/// `failed` for a failure). Settles when clean and both sides say `succeeded`.
pub fn compare(line: &StatementLine, row: &MatchRow) -> LineVerdict {
    let currency = line.currency;
    let base = Variance {
        refund_id: Some(row.id.clone()),
        provider_refund_id: line
            .provider_refund_id
            .clone()
            .or_else(|| row.provider_refund_id.clone()),
        line: Some(line.line),
        batch: line.batch.clone(),
        ..Variance::new(VarianceKind::CurrencyMismatch)
    };
    if row.currency != currency.code() {
        return LineVerdict {
            variances: vec![Variance {
                expected: Some(row.currency.clone()),
                actual: Some(currency.code().to_owned()),
                ..base
            }],
            clean: false,
            settle: Settle::No,
        };
    }
    let mut variances = Vec::new();
    if let Some(minor) = line.amount_minor {
        if row.amount_minor != Some(minor) {
            variances.push(Variance {
                kind: VarianceKind::AmountMismatch,
                expected: row.amount_minor.map(|m| format_minor(m, currency)),
                actual: Some(format_minor(minor, currency)),
                currency: Some(row.currency.clone()),
                ..base.clone()
            });
        }
    }
    // A reversed refund is what the provider reported when reversing it: `canceled` for a
    // void, `failed` for a failure after success (either, when it reported both).
    let gateway_status = if row.voided {
        match row.reversed_to.first() {
            _ if row.reversed_to.contains(&line.status) => line.status.as_str(),
            Some(first) => first.as_str(),
            None => RefundStatus::Canceled.as_str(),
        }
    } else {
        row.status.as_str()
    };
    if gateway_status != line.status.as_str() {
        variances.push(Variance {
            kind: VarianceKind::StatusMismatch,
            expected: Some(gateway_status.to_owned()),
            actual: Some(line.status.as_str().to_owned()),
            ..base
        });
    }
    let clean = variances.is_empty();
    let settle = match (clean, line.status, row.settled) {
        (true, RefundStatus::Succeeded, false) => Settle::New,
        (true, RefundStatus::Succeeded, true) => Settle::Already,
        _ => Settle::No,
    };
    LineVerdict {
        variances,
        clean,
        settle,
    }
}

/// A line that matched no refund of the gateway's, at the statement's amount.
pub fn missing_in_gateway(line: &StatementLine) -> Variance {
    Variance {
        provider_refund_id: line.provider_refund_id.clone(),
        actual: line.amount_minor.map(|m| format_minor(m, line.currency)),
        currency: Some(line.currency.code().to_owned()),
        line: Some(line.line),
        batch: line.batch.clone(),
        ..Variance::new(VarianceKind::MissingInGateway)
    }
}

/// A refund that succeeded within the period and that the statement does not name, at the
/// gateway's amount (none when its currency cannot be read: corrupt data is not guessed at).
pub fn missing_in_statement(row: &MatchRow) -> Variance {
    let currency = Currency::parse(&row.currency).ok();
    Variance {
        refund_id: Some(row.id.clone()),
        provider_refund_id: row.provider_refund_id.clone(),
        expected: row
            .amount_minor
            .zip(currency)
            .map(|(m, c)| format_minor(m, c)),
        currency: Some(row.currency.clone()),
        ..Variance::new(VarianceKind::MissingInStatement)
    }
}

/// A batch that did not match: its total against the members' sum, every member listed with
/// the gateway's amount (`expected`) and the line's own (`actual`).
pub fn batch_mismatch(batch: &Batch, verdict: &Verdict) -> Variance {
    let currency = batch.currency;
    let members = batch
        .members
        .iter()
        .map(|m| BatchMemberNote {
            line: m.line,
            refund_id: m.refund.as_ref().map(|f| f.refund_id.clone()),
            provider_refund_id: m.provider_refund_id.clone(),
            expected: m
                .refund
                .as_ref()
                .and_then(|f| f.gateway_minor)
                .map(|g| format_minor(g, currency)),
            actual: m.statement_minor.map(|a| format_minor(a, currency)),
        })
        .collect();
    Variance {
        expected: Some(format_minor(verdict.expected, currency)),
        actual: verdict.actual.map(|a| format_minor(a, currency)),
        currency: Some(currency.code().to_owned()),
        line: batch.line(),
        batch: Some(batch.id.clone()),
        members,
        ..Variance::new(VarianceKind::BatchMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::batch::{Found, Member};

    fn line(amount: Option<i64>, currency: &str, status: RefundStatus) -> StatementLine {
        StatementLine {
            line: 7,
            provider_refund_id: Some("p1".into()),
            provider_reference: Some("rf_1".into()),
            currency: Currency::parse(currency).unwrap_or_else(|e| panic!("{e}")),
            amount_minor: amount,
            status,
            settled_at: None,
            batch: None,
            fee_minor: 0,
        }
    }

    fn row(amount: i64, status: &str) -> MatchRow {
        MatchRow {
            id: "rf_1".into(),
            merchant_id: "acme".into(),
            provider_refund_id: Some("p1".into()),
            provider_reference: "rf_1".into(),
            amount_minor: Some(amount),
            currency: "EUR".into(),
            status: status.into(),
            settled: false,
            voided: false,
            reversed_to: Vec::new(),
        }
    }

    fn kinds(judgement: &LineVerdict) -> Vec<VarianceKind> {
        judgement.variances.iter().map(|v| v.kind).collect()
    }

    #[test]
    fn a_clean_succeeded_line_settles_once() {
        let judged = compare(
            &line(Some(1299), "EUR", RefundStatus::Succeeded),
            &row(1299, "succeeded"),
        );
        assert!(judged.clean);
        assert_eq!(judged.settle, Settle::New);
        let settled = MatchRow {
            settled: true,
            ..row(1299, "succeeded")
        };
        let again = compare(&line(Some(1299), "EUR", RefundStatus::Succeeded), &settled);
        assert_eq!(again.settle, Settle::Already);
    }

    #[test]
    fn a_currency_mismatch_is_reported_alone() {
        let judged = compare(
            &line(Some(5), "USD", RefundStatus::Failed),
            &row(1299, "succeeded"),
        );
        assert_eq!(kinds(&judged), vec![VarianceKind::CurrencyMismatch]);
        assert_eq!(judged.variances[0].expected.as_deref(), Some("EUR"));
        assert_eq!(judged.settle, Settle::No);
    }

    #[test]
    fn amount_and_status_mismatches_are_each_reported_with_both_values() {
        let judged = compare(
            &line(Some(1300), "EUR", RefundStatus::Failed),
            &row(1299, "succeeded"),
        );
        assert_eq!(
            kinds(&judged),
            vec![VarianceKind::AmountMismatch, VarianceKind::StatusMismatch]
        );
        assert_eq!(judged.variances[0].expected.as_deref(), Some("12.99"));
        assert_eq!(judged.variances[0].actual.as_deref(), Some("13.00"));
        assert_eq!(judged.variances[1].actual.as_deref(), Some("failed"));
        assert!(!judged.clean);
    }

    #[test]
    fn a_voided_refund_counts_as_canceled_and_a_member_without_amount_is_not_compared() {
        let voided = MatchRow {
            voided: true,
            reversed_to: vec![RefundStatus::Canceled],
            ..row(1299, "succeeded")
        };
        let judged = compare(&line(None, "EUR", RefundStatus::Canceled), &voided);
        assert!(judged.clean, "{:?}", judged.variances);
        assert_eq!(judged.settle, Settle::No, "only succeeded lines settle");
        // A void is not a failure.
        let judged = compare(&line(None, "EUR", RefundStatus::Failed), &voided);
        assert_eq!(judged.variances[0].kind, VarianceKind::StatusMismatch);
        assert_eq!(judged.variances[0].expected.as_deref(), Some("canceled"));
    }

    #[test]
    fn a_refund_that_failed_after_succeeding_matches_a_statement_that_says_failed() {
        let failed_later = MatchRow {
            voided: true,
            reversed_to: vec![RefundStatus::Failed],
            ..row(1299, "succeeded")
        };
        let judged = compare(&line(None, "EUR", RefundStatus::Failed), &failed_later);
        assert!(judged.clean, "{:?}", judged.variances);
        let judged = compare(&line(None, "EUR", RefundStatus::Canceled), &failed_later);
        assert_eq!(judged.variances[0].expected.as_deref(), Some("failed"));
        // Reported both ways (voided, then failed): either statement status matches.
        let both = MatchRow {
            reversed_to: vec![RefundStatus::Canceled, RefundStatus::Failed],
            ..failed_later
        };
        for status in [RefundStatus::Canceled, RefundStatus::Failed] {
            assert!(
                compare(&line(None, "EUR", status), &both).clean,
                "{status:?}"
            );
        }
    }

    #[test]
    fn a_line_matching_no_refund_is_missing_in_gateway_at_the_statements_amount() {
        let variance = missing_in_gateway(&line(Some(1299), "EUR", RefundStatus::Succeeded));
        assert_eq!(variance.kind, VarianceKind::MissingInGateway);
        assert_eq!(variance.refund_id, None);
        assert_eq!(variance.provider_refund_id.as_deref(), Some("p1"));
        assert_eq!(variance.actual.as_deref(), Some("12.99"));
        assert_eq!(variance.currency.as_deref(), Some("EUR"));
        assert_eq!(variance.line, Some(7));
    }

    #[test]
    fn a_refund_absent_from_the_statement_is_reported_at_the_gateways_amount() {
        let variance = missing_in_statement(&row(1299, "succeeded"));
        assert_eq!(variance.kind, VarianceKind::MissingInStatement);
        assert_eq!(variance.refund_id.as_deref(), Some("rf_1"));
        assert_eq!(variance.expected.as_deref(), Some("12.99"));
        assert_eq!(variance.actual, None);
        assert_eq!(variance.line, None);
        let corrupt = MatchRow {
            currency: "XXZ".into(),
            ..row(1299, "succeeded")
        };
        assert_eq!(
            missing_in_statement(&corrupt).expected,
            None,
            "an amount in a currency the gateway cannot read is not guessed"
        );
    }

    #[test]
    fn a_batch_mismatch_lists_every_member_with_both_amounts() {
        let eur = Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}"));
        let mut batch = Batch::new("B1".into(), eur);
        batch.total = Some((2000, 9));
        batch.members.push(Member {
            line: 7,
            statement_minor: Some(1299),
            provider_refund_id: Some("p1".into()),
            refund: Some(Found {
                refund_id: "rf_1".into(),
                gateway_minor: Some(1299),
                clean: true,
                settle: Settle::New,
            }),
        });
        batch.members.push(Member {
            line: 8,
            statement_minor: Some(500),
            provider_refund_id: Some("p2".into()),
            refund: None,
        });
        let verdict = batch.judge(0);
        assert!(!verdict.matched);
        let variance = batch_mismatch(&batch, &verdict);
        assert_eq!(variance.kind, VarianceKind::BatchMismatch);
        assert_eq!(variance.batch.as_deref(), Some("B1"));
        assert_eq!(variance.actual.as_deref(), Some("20.00"));
        assert_eq!(variance.members.len(), 2);
        assert_eq!(variance.members[0].expected.as_deref(), Some("12.99"));
        assert_eq!(variance.members[0].actual.as_deref(), Some("12.99"));
        assert_eq!(variance.members[1].refund_id, None);
        assert_eq!(variance.members[1].expected, None);
        assert_eq!(variance.members[1].actual.as_deref(), Some("5.00"));
    }
}
