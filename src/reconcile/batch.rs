//! Settlement batches of a statement: lines that share a batch id are paid out together, and
//! the batch matches when its member refunds' sum (the gateway's amounts) equals its total
//! within the format's tolerance. The total is the batch's total line when it has one (a line
//! with the batch id and no refund key), else the sum of its members' own amounts.
//!
//! A batch does not match (`batch_mismatch`, listing every member) when its total is unknown
//! (no total line and a member without an amount), when a member is not in the gateway or
//! has no known amount there, when its lines are in more than one currency, or when the sums
//! differ by more than the tolerance. Only the members of a matching batch are matched and
//! settled (each still needs a line without variance of its own); its fee (the fee cells of
//! all its lines) is posted once, on its first member refund (lowest id), which is what the
//! ledger's unique key holds once however often the statement is imported.
//!
//! This is pure bookkeeping; the reconciler feeds it lines and judges each batch at the end.

use refund_provider::Currency;

/// How a matched line stands with settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settle {
    /// Not a settlement (a variance, or a status other than succeeded on both sides).
    No,
    /// Succeeded on both sides and not settled yet.
    New,
    /// Settled by an earlier import.
    Already,
}

/// A member line's refund as the gateway knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) refund_id: String,
    /// The gateway's amount (minor units), when known.
    pub(crate) gateway_minor: Option<i64>,
    /// The line has no variance of its own.
    pub(crate) clean: bool,
    pub(crate) settle: Settle,
}

/// One member line of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) line: u64,
    /// The line's own amount, when it carries one.
    pub(crate) statement_minor: Option<i64>,
    pub(crate) provider_refund_id: Option<String>,
    pub(crate) refund: Option<Found>,
}

/// Everything the statement says of one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub(crate) id: String,
    pub(crate) currency: Currency,
    /// Lines in another currency than the first one seen.
    pub(crate) mixed_currency: bool,
    /// The total line's amount and line number.
    pub(crate) total: Option<(i64, u64)>,
    pub(crate) members: Vec<Member>,
    /// The fee cells of all its lines, minor units.
    pub(crate) fee_minor: i64,
}

/// The judgement of one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub(crate) matched: bool,
    /// The members' sum as the gateway knows them (of those found with an amount); i128,
    /// so that no number of members can overflow it.
    pub(crate) expected: i128,
    /// The statement's total, when it can be known.
    pub(crate) actual: Option<i128>,
}

impl Batch {
    pub(crate) fn new(id: String, currency: Currency) -> Self {
        Self {
            id,
            currency,
            mixed_currency: false,
            total: None,
            members: Vec::new(),
            fee_minor: 0,
        }
    }

    /// Notes a line's currency and fee.
    pub(crate) fn note(&mut self, currency: Currency, fee_minor: i64) {
        if currency != self.currency {
            self.mixed_currency = true;
        }
        self.fee_minor = self.fee_minor.saturating_add(fee_minor);
    }

    /// The statement's total: the total line's, else the members' own amounts when every
    /// member carries one.
    pub(crate) fn statement_total(&self) -> Option<i128> {
        if let Some((total, _)) = self.total {
            return Some(i128::from(total));
        }
        if self.members.is_empty() {
            return None;
        }
        self.members.iter().try_fold(0i128, |sum, m| {
            m.statement_minor.map(|a| sum.saturating_add(i128::from(a)))
        })
    }

    /// Whether the batch matches within `tolerance` minor units.
    pub(crate) fn judge(&self, tolerance: i64) -> Verdict {
        let expected = self
            .members
            .iter()
            .filter_map(|m| m.refund.as_ref().and_then(|f| f.gateway_minor))
            .fold(0i128, |sum, minor| sum.saturating_add(i128::from(minor)));
        let actual = self.statement_total();
        let all_known = !self.members.is_empty()
            && self
                .members
                .iter()
                .all(|m| m.refund.as_ref().is_some_and(|f| f.gateway_minor.is_some()));
        let matched = all_known
            && !self.mixed_currency
            && actual.is_some_and(|total| (expected - total).abs() <= i128::from(tolerance));
        Verdict {
            matched,
            expected,
            actual,
        }
    }

    /// The refund the batch's fee is posted on: its lowest member refund id.
    pub(crate) fn anchor(&self) -> Option<&str> {
        self.members
            .iter()
            .filter_map(|m| m.refund.as_ref().map(|f| f.refund_id.as_str()))
            .min()
    }

    /// Where the batch is reported: its total line, else its first member's.
    pub(crate) fn line(&self) -> Option<u64> {
        self.total
            .map(|(_, line)| line)
            .or_else(|| self.members.first().map(|m| m.line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}"))
    }

    fn member(line: u64, own: Option<i64>, gateway: Option<Option<i64>>) -> Member {
        Member {
            line,
            statement_minor: own,
            provider_refund_id: Some(format!("p{line}")),
            refund: gateway.map(|gateway_minor| Found {
                refund_id: format!("rf_{line}"),
                gateway_minor,
                clean: true,
                settle: Settle::New,
            }),
        }
    }

    fn batch(members: Vec<Member>, total: Option<i64>) -> Batch {
        let mut batch = Batch::new("B1".into(), eur());
        batch.members = members;
        batch.total = total.map(|t| (t, 9));
        batch
    }

    #[test]
    fn a_batch_matches_when_its_members_sum_to_its_total_line() {
        let b = batch(
            vec![
                member(2, None, Some(Some(1000))),
                member(3, None, Some(Some(250))),
            ],
            Some(1250),
        );
        assert_eq!(
            b.judge(0),
            Verdict {
                matched: true,
                expected: 1250,
                actual: Some(1250)
            }
        );
        assert_eq!(b.line(), Some(9));
        assert_eq!(b.anchor(), Some("rf_2"));
    }

    #[test]
    fn without_a_total_line_the_members_own_amounts_are_the_total() {
        let b = batch(
            vec![
                member(2, Some(1000), Some(Some(1000))),
                member(3, Some(250), Some(Some(250))),
            ],
            None,
        );
        assert!(b.judge(0).matched);
        let unknown = batch(
            vec![
                member(2, Some(1000), Some(Some(1000))),
                member(3, None, Some(Some(250))),
            ],
            None,
        );
        assert_eq!(unknown.judge(0).actual, None);
        assert!(
            !unknown.judge(0).matched,
            "a total nobody states cannot match"
        );
    }

    #[test]
    fn a_difference_within_the_tolerance_matches_and_beyond_it_does_not() {
        let b = batch(
            vec![
                member(2, None, Some(Some(1000))),
                member(3, None, Some(Some(250))),
            ],
            Some(1252),
        );
        assert!(!b.judge(0).matched);
        assert!(!b.judge(1).matched);
        assert!(b.judge(2).matched);
        let under = batch(vec![member(2, None, Some(Some(1000)))], Some(998));
        assert!(under.judge(2).matched, "the tolerance holds both ways");
    }

    #[test]
    fn a_member_unknown_to_the_gateway_or_without_amount_fails_the_batch() {
        let missing = batch(
            vec![member(2, None, Some(Some(1000))), member(3, None, None)],
            Some(1000),
        );
        assert!(!missing.judge(5).matched, "even when the sums agree");
        let no_amount = batch(vec![member(2, None, Some(None))], Some(1000));
        assert!(!no_amount.judge(5).matched);
        let empty = batch(vec![], Some(1000));
        assert!(!empty.judge(1000).matched, "a total with no members");
    }

    #[test]
    fn a_batch_in_two_currencies_never_matches() {
        let mut b = batch(vec![member(2, None, Some(Some(1000)))], Some(1000));
        b.note(Currency::parse("USD").unwrap_or_else(|e| panic!("{e}")), 0);
        assert!(!b.judge(0).matched);
    }

    #[test]
    fn fees_of_every_line_add_up_on_the_batch() {
        let mut b = batch(vec![], None);
        b.note(eur(), 30);
        b.note(eur(), 0);
        b.note(eur(), 45);
        assert_eq!(b.fee_minor, 75);
    }
}
