//! A statement's report: the variance kinds and records of DESIGN §10, where they go as they
//! are found ([`ReportSink`]), and the running [`Tally`] that becomes the [`ReportSummary`].

use std::collections::BTreeMap;

use serde::Serialize;

use super::Malformed;
use crate::domain::refund_object::rfc3339_ms;
use crate::ledger::{CurrencyAmount, Totals};

/// The kinds of variance of DESIGN §10, and the settlement batches' own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VarianceKind {
    MissingInGateway,
    MissingInStatement,
    AmountMismatch,
    StatusMismatch,
    CurrencyMismatch,
    BatchMismatch,
}

impl VarianceKind {
    pub(crate) const ALL: [VarianceKind; 6] = [
        Self::MissingInGateway,
        Self::MissingInStatement,
        Self::AmountMismatch,
        Self::StatusMismatch,
        Self::CurrencyMismatch,
        Self::BatchMismatch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingInGateway => "missing_in_gateway",
            Self::MissingInStatement => "missing_in_statement",
            Self::AmountMismatch => "amount_mismatch",
            Self::StatusMismatch => "status_mismatch",
            Self::CurrencyMismatch => "currency_mismatch",
            Self::BatchMismatch => "batch_mismatch",
        }
    }
}

/// One member of a batch that did not match: its line, its refund when the gateway has it,
/// the gateway's amount (`expected`) and the line's own (`actual`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchMemberNote {
    pub(crate) line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) refund_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) provider_refund_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) actual: Option<String>,
}

/// One difference between the statement and the gateway. `expected` is the gateway's
/// value, `actual` the statement's; `currency` says which currency an amount is in and
/// `line` which statement line it comes from. A `batch_mismatch` names its `batch` and
/// lists its `members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variance {
    pub kind: VarianceKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) refund_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) provider_refund_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) batch: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) members: Vec<BatchMemberNote>,
}

impl Variance {
    pub(super) fn new(kind: VarianceKind) -> Self {
        Self {
            kind,
            refund_id: None,
            provider_refund_id: None,
            expected: None,
            actual: None,
            currency: None,
            line: None,
            batch: None,
            members: Vec::new(),
        }
    }
}

/// Where variances and malformed lines go as they are found.
pub trait ReportSink {
    fn variance(&mut self, variance: &Variance) -> std::io::Result<()>;
    fn malformed(&mut self, malformed: &Malformed) -> std::io::Result<()>;
}

/// A sink that keeps everything (the API: its body limit bounds the statement).
#[derive(Debug, Default)]
pub struct CollectSink {
    pub variances: Vec<Variance>,
    pub malformed: Vec<Malformed>,
}

impl ReportSink for CollectSink {
    fn variance(&mut self, variance: &Variance) -> std::io::Result<()> {
        self.variances.push(variance.clone());
        Ok(())
    }
    fn malformed(&mut self, malformed: &Malformed) -> std::io::Result<()> {
        self.malformed.push(malformed.clone());
        Ok(())
    }
}

/// The page of `missing_in_statement` variances an answer lists: a statement's period may
/// hold any number of refunds the statement does not name, so an answer lists at most
/// `limit` of them, after the first `offset`; every one is counted (`by_kind`) whatever the
/// page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MissingPage {
    pub offset: u64,
    pub limit: u64,
    /// How many this answer lists.
    pub listed: u64,
    /// Whether more come after this page (ask again with `offset + listed`).
    pub has_more: bool,
}

impl MissingPage {
    /// Listed by default, and at most, per answer.
    pub const DEFAULT_LIMIT: u64 = 1_000;
    pub const MAX_LIMIT: u64 = 10_000;
}

/// A sink for the API: every line variance and malformed line (the statement's body limit
/// bounds those) but only one [`MissingPage`] of the `missing_in_statement` variances, so
/// memory and the answer stay bounded whatever the period.
#[derive(Debug)]
pub struct PagedSink {
    pub variances: Vec<Variance>,
    pub malformed: Vec<Malformed>,
    offset: u64,
    limit: u64,
    /// `missing_in_statement` variances seen so far.
    missing: u64,
}

impl PagedSink {
    pub fn new(offset: u64, limit: u64) -> Self {
        Self {
            variances: Vec::new(),
            malformed: Vec::new(),
            offset,
            limit,
            missing: 0,
        }
    }

    /// The page this sink kept.
    pub fn page(&self) -> MissingPage {
        let listed = self.missing.saturating_sub(self.offset).min(self.limit);
        MissingPage {
            offset: self.offset,
            limit: self.limit,
            listed,
            has_more: self.missing > self.offset.saturating_add(listed),
        }
    }
}

impl ReportSink for PagedSink {
    fn variance(&mut self, variance: &Variance) -> std::io::Result<()> {
        if variance.kind == VarianceKind::MissingInStatement {
            self.missing += 1;
            let index = self.missing - 1;
            if index < self.offset || index >= self.offset.saturating_add(self.limit) {
                return Ok(());
            }
        }
        self.variances.push(variance.clone());
        Ok(())
    }
    fn malformed(&mut self, malformed: &Malformed) -> std::io::Result<()> {
        self.malformed.push(malformed.clone());
        Ok(())
    }
}

/// A count and its amounts per currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CountAndAmounts {
    pub count: u64,
    pub(crate) amounts: Vec<CurrencyAmount>,
}

/// `[from, to)` as RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    pub(crate) from: String,
    pub(crate) to: String,
}

/// Moves to settled done by this import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SettlementCounts {
    /// Refunds whose amount moved from clearing to settled now.
    pub settled: u64,
    /// Matched succeeded refunds settled by an earlier import.
    pub(crate) already_settled: u64,
    /// Fees (of lines or batches) posted now; an earlier import's are not posted again.
    pub(crate) fees_posted: u64,
}

/// Settlement batches seen and how many matched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchCounts {
    pub count: u64,
    pub matched: u64,
}

/// Everything but the variance and malformed lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportSummary {
    pub(crate) object: &'static str,
    pub(crate) provider: String,
    pub(crate) period: Option<Period>,
    /// Data lines read (the header excluded), malformed ones included.
    pub(crate) lines: u64,
    pub matched: CountAndAmounts,
    pub(crate) by_kind: BTreeMap<&'static str, CountAndAmounts>,
    pub batches: BatchCounts,
    /// The fees the statement reports (lines with a fee, their sum per currency).
    pub(crate) fees: CountAndAmounts,
    pub malformed_count: u64,
    /// What this import settled; `None` when it only reports (a merchant's import).
    pub settlement: Option<SettlementCounts>,
}

/// A count and the amounts it sums, per currency, while the statement is read.
#[derive(Debug, Clone, Default)]
struct Count {
    count: u64,
    totals: Totals,
}

impl Count {
    fn add(&mut self, amount: Option<(&str, i128)>) {
        self.count += 1;
        if let Some((currency, minor)) = amount {
            self.totals.add(currency, minor);
        }
    }

    fn render(&self) -> CountAndAmounts {
        CountAndAmounts {
            count: self.count,
            amounts: self.totals.render(),
        }
    }
}

/// The running counts of one report; [`Tally::summary`] turns them into the summary.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// Data lines read, malformed ones included.
    pub(super) lines: u64,
    pub(super) malformed: u64,
    matched: Count,
    kinds: BTreeMap<VarianceKind, Count>,
    fees: Count,
    pub(super) batches: BatchCounts,
    pub(super) settlement: SettlementCounts,
}

impl Tally {
    /// A variance of `kind`, with the amount it is counted at (`None`: counted, no amount).
    pub(super) fn variance(&mut self, kind: VarianceKind, amount: Option<(&str, i128)>) {
        self.kinds.entry(kind).or_default().add(amount);
    }

    /// A line (or batch member) matched without variance.
    pub(super) fn matched(&mut self, amount: Option<(&str, i128)>) {
        self.matched.add(amount);
    }

    /// A fee the statement reports on a line.
    pub(super) fn fee(&mut self, currency: &str, minor: i64) {
        self.fees.add(Some((currency, i128::from(minor))));
    }

    /// The summary: every kind listed (zero when absent), `settlement` only when the import
    /// settles, the period as RFC 3339.
    pub(super) fn summary(
        self,
        provider: String,
        period: Option<(i64, i64)>,
        settles: bool,
    ) -> ReportSummary {
        let by_kind = VarianceKind::ALL
            .into_iter()
            .map(|kind| {
                let count = self.kinds.get(&kind).map(Count::render).unwrap_or_default();
                (kind.as_str(), count)
            })
            .collect();
        ReportSummary {
            object: "reconciliation_report",
            provider,
            period: period.map(|(from, to)| Period {
                from: rfc3339_ms(from),
                to: rfc3339_ms(to),
            }),
            lines: self.lines,
            matched: self.matched.render(),
            by_kind,
            batches: self.batches,
            fees: self.fees.render(),
            malformed_count: self.malformed,
            settlement: settles.then_some(self.settlement),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_lists_every_kind_and_keeps_currencies_apart() {
        let mut tally = Tally {
            lines: 4,
            ..Tally::default()
        };
        tally.variance(VarianceKind::AmountMismatch, Some(("EUR", 100)));
        tally.variance(VarianceKind::AmountMismatch, Some(("USD", 7)));
        tally.variance(VarianceKind::MissingInStatement, None);
        tally.matched(Some(("EUR", 1299)));
        tally.fee("EUR", 30);
        let summary = tally.summary("efundpay".into(), None, false);
        assert_eq!(summary.by_kind.len(), VarianceKind::ALL.len());
        let amounts = &summary.by_kind["amount_mismatch"];
        assert_eq!(amounts.count, 2);
        assert_eq!(amounts.amounts.len(), 2, "EUR and USD are never summed");
        assert_eq!(summary.by_kind["missing_in_statement"].count, 1);
        assert_eq!(summary.by_kind["missing_in_statement"].amounts, vec![]);
        assert_eq!(summary.by_kind["batch_mismatch"].count, 0);
        assert_eq!(summary.matched.count, 1);
        assert_eq!(summary.fees.count, 1);
        assert_eq!(summary.settlement, None, "a report-only import says null");
        assert_eq!(summary.period, None);
    }

    #[test]
    fn a_paged_sink_keeps_one_page_of_missing_refunds_and_every_other_variance() {
        let mut sink = PagedSink::new(2, 3);
        for _ in 0..7 {
            sink.variance(&Variance::new(VarianceKind::MissingInStatement))
                .expect("sink");
        }
        sink.variance(&Variance::new(VarianceKind::AmountMismatch))
            .expect("sink");
        assert_eq!(sink.variances.len(), 4);
        assert_eq!(
            sink.page(),
            MissingPage {
                offset: 2,
                limit: 3,
                listed: 3,
                has_more: true
            }
        );
        let mut last = PagedSink::new(5, 3);
        for _ in 0..7 {
            last.variance(&Variance::new(VarianceKind::MissingInStatement))
                .expect("sink");
        }
        assert_eq!((last.page().listed, last.page().has_more), (2, false));
        let beyond = PagedSink::new(50, 3);
        assert_eq!((beyond.page().listed, beyond.page().has_more), (0, false));
    }
}
