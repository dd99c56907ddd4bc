//! Statement reconciliation (DESIGN §10): a provider's CSV statement against the gateway's
//! refunds, as a stream of variances and a summary of counts and amounts.
//!
//! - Input: a header row naming `provider_refund_id,provider_reference,amount,currency,
//!   status,settled_at` (any order; extra columns are ignored), then one refund per line:
//!   amount in major units with at most the currency's exponent of decimals, status in the
//!   gateway's vocabulary, `settled_at` RFC 3339 or empty. Quoted fields are read by the `csv`
//!   crate. A line that cannot be read is reported with its line number (the header is line
//!   1) and takes no further part; it is never skipped silently.
//! - Matching, per batch of lines (one query per key kind, never the whole store): by
//!   `provider_reference` (the gateway's own key, unique per provider), else by
//!   `provider_refund_id`. Only the provider's refunds (and the merchant's, through the API)
//!   are candidates; a line matching none is `missing_in_gateway`.
//! - Variances of a matched line: `currency_mismatch` (then amounts are not compared),
//!   otherwise `amount_mismatch` and/or `status_mismatch`. A refund the provider voided after
//!   reporting it succeeded (its lines reversed, see `crate::ledger`) counts as `canceled`.
//!   A line without variance is matched; when both sides say `succeeded` its amount moves
//!   from the provider's clearing account to settled, once (the unique ledger key makes a
//!   re-imported statement settle nothing twice).
//! - `missing_in_statement`: refunds that succeeded (their `refund_succeeded` posting) within
//!   the period and were not voided, absent from the statement. The period is the caller's
//!   `[from, to)` or else the whole UTC days the statement's `settled_at` values span; without
//!   either there is no period and this check is not made (the report's `period` is null).
//! - Memory: lines are held one batch at a time; the refunds seen are kept as 16-byte ids
//!   (16 MB for a million lines) to find the missing ones in one streamed scan at the end.
//!   Variances go to a `ReportSink` as they are found, so the CLI streams them out.
//! - Amounts per kind are the statement's (the gateway's for `missing_in_statement`), summed
//!   per currency, never mixed.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use futures_util::StreamExt;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use refund_provider::{Currency, Money, RefundId};

use crate::domain::refund_object::rfc3339_ms;
use crate::domain::RefundStatus;
use crate::ledger::{format_minor, CurrencyAmount, Totals};
use crate::store::finance::{MatchColumn, MatchRow};
use crate::store::{Store, StoreError};

/// The statement's columns, as DESIGN §10 names them.
pub const COLUMNS: [&str; 6] = [
    "provider_refund_id",
    "provider_reference",
    "amount",
    "currency",
    "status",
    "settled_at",
];

/// Lines matched per round trip to the store.
pub const BATCH: usize = 1000;

const DAY_MS: i64 = 86_400_000;

/// Why a statement could not be reconciled at all (a bad line is a `Malformed`, not this).
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error("the statement is empty: expected a header row {}", COLUMNS.join(","))]
    NoHeader,
    #[error("the header row lacks column `{0}` (expected {cols})", cols = COLUMNS.join(","))]
    MissingColumn(&'static str),
    #[error("the statement could not be read: {0}")]
    Read(String),
    #[error("writing the report failed: {0}")]
    Write(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One readable statement line.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementLine {
    pub line: u64,
    pub provider_refund_id: Option<String>,
    pub provider_reference: Option<String>,
    pub amount: Money,
    pub status: RefundStatus,
    pub settled_at: Option<i64>,
}

/// A line that could not be read, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Malformed {
    pub line: u64,
    pub message: String,
}

/// The kinds of variance of DESIGN §10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VarianceKind {
    MissingInGateway,
    MissingInStatement,
    AmountMismatch,
    StatusMismatch,
    CurrencyMismatch,
}

impl VarianceKind {
    pub const ALL: [VarianceKind; 5] = [
        Self::MissingInGateway,
        Self::MissingInStatement,
        Self::AmountMismatch,
        Self::StatusMismatch,
        Self::CurrencyMismatch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingInGateway => "missing_in_gateway",
            Self::MissingInStatement => "missing_in_statement",
            Self::AmountMismatch => "amount_mismatch",
            Self::StatusMismatch => "status_mismatch",
            Self::CurrencyMismatch => "currency_mismatch",
        }
    }
}

/// One difference between the statement and the gateway. `expected` is the gateway's
/// value, `actual` the statement's; `currency` says which currency an amount is in and
/// `line` which statement line it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Variance {
    pub kind: VarianceKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_refund_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
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

/// A count and its amounts per currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CountAndAmounts {
    pub count: u64,
    pub amounts: Vec<CurrencyAmount>,
}

/// `[from, to)` as RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: String,
    pub to: String,
}

/// Moves to settled done by this import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SettlementCounts {
    /// Refunds whose amount moved from clearing to settled now.
    pub settled: u64,
    /// Matched succeeded refunds settled by an earlier import.
    pub already_settled: u64,
}

/// Everything but the variance and malformed lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportSummary {
    pub object: &'static str,
    pub provider: String,
    pub period: Option<Period>,
    /// Data lines read (the header excluded), malformed ones included.
    pub lines: u64,
    pub matched: CountAndAmounts,
    pub by_kind: BTreeMap<&'static str, CountAndAmounts>,
    pub malformed_count: u64,
    /// What this import settled; `None` when it only reports (a merchant's import).
    pub settlement: Option<SettlementCounts>,
}

/// Who and what to reconcile.
#[derive(Debug, Clone)]
pub struct Options {
    pub provider: String,
    /// Only this merchant's refunds are candidates (the API); `None` for all (the CLI).
    pub merchant_id: Option<String>,
    /// `[from, to)` in Unix ms for `missing_in_statement`; `None`: the settled_at days.
    pub period: Option<(i64, i64)>,
    /// Whether matched lines are settled (an operator's import, the CLI) or only reported
    /// (a merchant's import, DESIGN §14).
    pub settle: bool,
}

/// Reads statement lines from CSV.
pub struct StatementReader<R: Read> {
    reader: csv::Reader<R>,
    index: [usize; 6],
    width: usize,
    record: csv::ByteRecord,
}

impl<R: Read> std::fmt::Debug for StatementReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatementReader")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl<R: Read> StatementReader<R> {
    /// Reads and checks the header row.
    pub fn new(input: R) -> Result<Self, StatementError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(input);
        let mut header = csv::ByteRecord::new();
        if !reader
            .read_byte_record(&mut header)
            .map_err(|e| StatementError::Read(e.to_string()))?
        {
            return Err(StatementError::NoHeader);
        }
        let names: Vec<String> = header
            .iter()
            .map(|field| {
                String::from_utf8_lossy(field)
                    .trim_start_matches('\u{feff}')
                    .to_owned()
            })
            .collect();
        let mut index = [0; 6];
        for (slot, column) in index.iter_mut().zip(COLUMNS) {
            *slot = names
                .iter()
                .position(|name| name == column)
                .ok_or(StatementError::MissingColumn(column))?;
        }
        Ok(Self {
            reader,
            index,
            width: names.len(),
            record: csv::ByteRecord::new(),
        })
    }

    /// The next line: `None` at the end, `Some(Err)` for a line that cannot be read.
    pub fn next_line(
        &mut self,
    ) -> Result<Option<Result<StatementLine, Malformed>>, StatementError> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let line = self.record.position().map_or(0, csv::Position::line);
                Ok(Some(
                    self.parse(line)
                        .map_err(|message| Malformed { line, message }),
                ))
            }
            Err(error) => match error.kind() {
                csv::ErrorKind::Io(_) => Err(StatementError::Read(error.to_string())),
                _ => {
                    let line = error.position().map_or(0, csv::Position::line);
                    Ok(Some(Err(Malformed {
                        line,
                        message: error.to_string(),
                    })))
                }
            },
        }
    }

    /// Bytes read so far (for a progress bar).
    pub fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }

    fn field(&self, column: usize) -> Result<&str, String> {
        let raw = self.record.get(self.index[column]).unwrap_or_default();
        std::str::from_utf8(raw).map_err(|_| format!("`{}` is not valid UTF-8", COLUMNS[column]))
    }

    fn parse(&self, line: u64) -> Result<StatementLine, String> {
        if self.record.len() != self.width {
            return Err(format!(
                "expected {} fields, found {}",
                self.width,
                self.record.len()
            ));
        }
        let optional = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        let provider_refund_id = optional(self.field(0)?);
        let provider_reference = optional(self.field(1)?);
        if provider_refund_id.is_none() && provider_reference.is_none() {
            return Err("provider_refund_id or provider_reference is required".to_owned());
        }
        let currency_text = self.field(3)?;
        let currency = Currency::parse(currency_text)
            .map_err(|_| format!("currency `{currency_text}` is not an active ISO 4217 code"))?;
        let amount_text = self.field(2)?;
        let amount = Money::parse(amount_text, currency).map_err(|e| e.to_string())?;
        let status_text = self.field(4)?;
        let status = RefundStatus::parse(status_text).ok_or_else(|| {
            format!("status `{status_text}` is not one of pending, processing, succeeded, failed, canceled")
        })?;
        let settled_text = self.field(5)?;
        let settled_at = if settled_text.is_empty() {
            None
        } else {
            let at = OffsetDateTime::parse(settled_text, &Rfc3339)
                .map_err(|_| format!("settled_at `{settled_text}` is not an RFC 3339 time"))?;
            Some(i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
        };
        Ok(StatementLine {
            line,
            provider_refund_id,
            provider_reference,
            amount,
            status,
            settled_at,
        })
    }
}

/// The running reconciliation of one statement.
#[derive(Debug)]
pub struct Reconciler<'a> {
    store: &'a Store,
    options: Options,
    batch: Vec<StatementLine>,
    seen: Vec<u128>,
    settled_span: Option<(i64, i64)>,
    lines: u64,
    matched: (u64, Totals),
    kinds: BTreeMap<VarianceKind, (u64, Totals)>,
    malformed: u64,
    settlement: SettlementCounts,
}

impl<'a> Reconciler<'a> {
    pub fn new(store: &'a Store, options: Options) -> Self {
        Self {
            store,
            options,
            batch: Vec::with_capacity(BATCH),
            seen: Vec::new(),
            settled_span: None,
            lines: 0,
            matched: (0, Totals::default()),
            kinds: BTreeMap::new(),
            malformed: 0,
            settlement: SettlementCounts::default(),
        }
    }

    /// Takes one line; matches the batch when it is full.
    pub async fn line(
        &mut self,
        line: StatementLine,
        sink: &mut (dyn ReportSink + Send),
    ) -> Result<(), StatementError> {
        self.lines += 1;
        if let Some(at) = line.settled_at {
            self.settled_span = Some(match self.settled_span {
                Some((low, high)) => (low.min(at), high.max(at)),
                None => (at, at),
            });
        }
        self.batch.push(line);
        if self.batch.len() >= BATCH {
            self.flush(sink).await?;
        }
        Ok(())
    }

    /// Records a line that could not be read.
    pub fn malformed(
        &mut self,
        malformed: Malformed,
        sink: &mut (dyn ReportSink + Send),
    ) -> Result<(), StatementError> {
        self.lines += 1;
        self.malformed += 1;
        sink.malformed(&malformed)?;
        Ok(())
    }

    fn report(
        &mut self,
        variance: Variance,
        minor: Option<(String, i64)>,
        sink: &mut (dyn ReportSink + Send),
    ) -> Result<(), StatementError> {
        let slot = self.kinds.entry(variance.kind).or_default();
        slot.0 += 1;
        if let Some((currency, minor)) = minor {
            slot.1.add(&currency, minor);
        }
        sink.variance(&variance)?;
        Ok(())
    }

    /// Matches the pending batch against the store and settles its matched lines.
    pub async fn flush(
        &mut self,
        sink: &mut (dyn ReportSink + Send),
    ) -> Result<(), StatementError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let provider = self.options.provider.clone();
        let merchant = self.options.merchant_id.clone();
        let references: Vec<&str> = batch
            .iter()
            .filter_map(|l| l.provider_reference.as_deref())
            .collect();
        let by_reference: HashMap<String, MatchRow> = self
            .store
            .refunds_by_provider_keys(
                &provider,
                merchant.as_deref(),
                MatchColumn::ProviderReference,
                &references,
            )
            .await?
            .into_iter()
            .map(|row| (row.provider_reference.clone(), row))
            .collect();
        let unmatched_ids: Vec<&str> = batch
            .iter()
            .filter(|l| {
                l.provider_reference
                    .as_ref()
                    .is_none_or(|r| !by_reference.contains_key(r))
            })
            .filter_map(|l| l.provider_refund_id.as_deref())
            .collect();
        let by_provider_id: HashMap<String, MatchRow> = self
            .store
            .refunds_by_provider_keys(
                &provider,
                merchant.as_deref(),
                MatchColumn::ProviderRefundId,
                &unmatched_ids,
            )
            .await?
            .into_iter()
            .filter_map(|row| row.provider_refund_id.clone().map(|id| (id, row)))
            .collect();
        let found = |line: &StatementLine| {
            line.provider_reference
                .as_ref()
                .and_then(|r| by_reference.get(r))
                .or_else(|| {
                    line.provider_refund_id
                        .as_ref()
                        .and_then(|id| by_provider_id.get(id))
                })
        };
        let mut to_settle = Vec::new();
        for line in &batch {
            let currency = line.amount.currency();
            let line_minor = line.amount.minor_units().get();
            let actual_amount = Some((currency.code().to_owned(), line_minor));
            let Some(row) = found(line) else {
                self.report(
                    Variance {
                        kind: VarianceKind::MissingInGateway,
                        refund_id: None,
                        provider_refund_id: line.provider_refund_id.clone(),
                        expected: None,
                        actual: Some(line.amount.to_major_string()),
                        currency: Some(currency.code().to_owned()),
                        line: Some(line.line),
                    },
                    actual_amount,
                    sink,
                )?;
                continue;
            };
            if let Ok(id) = RefundId::parse(&row.id) {
                self.seen.push(id.as_u128());
            }
            let base = Variance {
                kind: VarianceKind::CurrencyMismatch,
                refund_id: Some(row.id.clone()),
                provider_refund_id: line
                    .provider_refund_id
                    .clone()
                    .or_else(|| row.provider_refund_id.clone()),
                expected: None,
                actual: None,
                currency: None,
                line: Some(line.line),
            };
            if row.currency != currency.code() {
                let variance = Variance {
                    expected: Some(row.currency.clone()),
                    actual: Some(currency.code().to_owned()),
                    ..base
                };
                self.report(variance, actual_amount, sink)?;
                continue;
            }
            let mut clean = true;
            if row.amount_minor != Some(line_minor) {
                clean = false;
                let variance = Variance {
                    kind: VarianceKind::AmountMismatch,
                    expected: row.amount_minor.map(|m| format_minor(m, currency)),
                    actual: Some(line.amount.to_major_string()),
                    currency: Some(row.currency.clone()),
                    ..base.clone()
                };
                self.report(variance, actual_amount.clone(), sink)?;
            }
            let gateway_status = if row.voided {
                "canceled"
            } else {
                row.status.as_str()
            };
            if gateway_status != line.status.as_str() {
                clean = false;
                let variance = Variance {
                    kind: VarianceKind::StatusMismatch,
                    expected: Some(gateway_status.to_owned()),
                    actual: Some(line.status.as_str().to_owned()),
                    ..base
                };
                self.report(variance, actual_amount, sink)?;
            }
            if !clean {
                continue;
            }
            self.matched.0 += 1;
            self.matched.1.add(currency.code(), line_minor);
            if line.status == RefundStatus::Succeeded {
                if row.settled {
                    self.settlement.already_settled += 1;
                } else {
                    to_settle.push(row.id.clone());
                }
            }
        }
        if !self.options.settle {
            return Ok(());
        }
        let newly = self
            .store
            .settle(&to_settle, crate::store::now_ms())
            .await?;
        self.settlement.settled += newly;
        // Settled meanwhile by another import of the same statement.
        self.settlement.already_settled += to_settle.len() as u64 - newly;
        Ok(())
    }

    /// Matches what is left, reports the refunds missing from the statement, and returns
    /// the summary.
    pub async fn finish(
        mut self,
        sink: &mut (dyn ReportSink + Send),
    ) -> Result<ReportSummary, StatementError> {
        self.flush(sink).await?;
        let period = self.options.period.or_else(|| {
            self.settled_span.map(|(low, high)| {
                let start = low.div_euclid(DAY_MS) * DAY_MS;
                let end = high.div_euclid(DAY_MS) * DAY_MS + DAY_MS;
                (start, end)
            })
        });
        if let Some((from, to)) = period {
            self.seen.sort_unstable();
            self.seen.dedup();
            let seen = std::mem::take(&mut self.seen);
            let store = self.store;
            let provider = self.options.provider.clone();
            let merchant = self.options.merchant_id.clone();
            let mut rows = store.succeeded_between(&provider, merchant.as_deref(), from, to);
            while let Some(row) = rows.next().await {
                let row = row?;
                let known = RefundId::parse(&row.id)
                    .is_ok_and(|id| seen.binary_search(&id.as_u128()).is_ok());
                if known {
                    continue;
                }
                let currency = Currency::parse(&row.currency).ok();
                let variance = Variance {
                    kind: VarianceKind::MissingInStatement,
                    refund_id: Some(row.id.clone()),
                    provider_refund_id: row.provider_refund_id.clone(),
                    expected: row
                        .amount_minor
                        .zip(currency)
                        .map(|(m, c)| format_minor(m, c)),
                    actual: None,
                    currency: Some(row.currency.clone()),
                    line: None,
                };
                let minor = row.amount_minor.map(|m| (row.currency.clone(), m));
                self.report(variance, minor, sink)?;
            }
        }
        let by_kind = VarianceKind::ALL
            .into_iter()
            .map(|kind| {
                let (count, totals) = self.kinds.get(&kind).cloned().unwrap_or_default();
                (
                    kind.as_str(),
                    CountAndAmounts {
                        count,
                        amounts: totals.render(),
                    },
                )
            })
            .collect();
        Ok(ReportSummary {
            object: "reconciliation_report",
            provider: self.options.provider,
            period: period.map(|(from, to)| Period {
                from: rfc3339_ms(from),
                to: rfc3339_ms(to),
            }),
            lines: self.lines,
            matched: CountAndAmounts {
                count: self.matched.0,
                amounts: self.matched.1.render(),
            },
            by_kind,
            malformed_count: self.malformed,
            settlement: self.options.settle.then_some(self.settlement),
        })
    }
}

/// Reconciles a whole statement from `input`, calling `progress` with the bytes read after
/// each batch.
pub async fn reconcile<R: Read + Send>(
    store: &Store,
    options: Options,
    input: R,
    sink: &mut (dyn ReportSink + Send),
    mut progress: impl FnMut(u64) + Send,
) -> Result<ReportSummary, StatementError> {
    let mut reader = StatementReader::new(input)?;
    let mut reconciler = Reconciler::new(store, options);
    let mut count = 0usize;
    while let Some(next) = reader.next_line()? {
        match next {
            Ok(line) => reconciler.line(line, sink).await?,
            Err(malformed) => reconciler.malformed(malformed, sink)?,
        }
        count += 1;
        if count % BATCH == 0 {
            progress(reader.bytes_read());
        }
    }
    let summary = reconciler.finish(sink).await?;
    progress(reader.bytes_read());
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<Result<StatementLine, Malformed>> {
        let mut reader = StatementReader::new(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        while let Some(next) = reader.next_line().unwrap_or_else(|e| panic!("{e}")) {
            out.push(next);
        }
        out
    }

    const HEADER: &str =
        "provider_refund_id,provider_reference,amount,currency,status,settled_at\n";

    #[test]
    fn a_well_formed_line_is_read_exactly() {
        let read = lines(&format!(
            "{HEADER}p1,rf_1,12.99,EUR,succeeded,2026-11-23T10:00:00Z\n"
        ));
        let line = read[0].clone().unwrap_or_else(|m| panic!("{m:?}"));
        assert_eq!(line.line, 2);
        assert_eq!(line.amount.minor_units().get(), 1299);
        assert_eq!(line.status, RefundStatus::Succeeded);
        assert_eq!(line.settled_at, Some(1_795_428_000_000));
    }

    #[test]
    fn quoted_fields_and_reordered_columns_are_read() {
        let text = "status,amount,currency,provider_reference,provider_refund_id,settled_at\n\
                    succeeded,\"1,000\",JPY,\"rf,\"\"x\"\"\",p1,\n\
                    succeeded,1000,JPY,\"rf,\"\"x\"\"\",p1,\n";
        let read = lines(text);
        assert_eq!(read[0].clone().err().map(|m| m.line), Some(2));
        let line = read[1].clone().unwrap_or_else(|m| panic!("{m:?}"));
        assert_eq!(line.provider_reference.as_deref(), Some("rf,\"x\""));
        assert_eq!(line.amount.minor_units().get(), 1000);
        assert_eq!(line.settled_at, None);
    }

    #[test]
    fn every_malformed_line_is_reported_with_its_line_number() {
        let text = format!(
            "{HEADER}p1,rf_1,12.99,EUR,succeeded,2026-11-23T10:00:00Z\n\
             p2,rf_2,12.999,EUR,succeeded,\n\
             p3,rf_3,5,eur,succeeded,\n\
             p4,rf_4,5,EUR,done,\n\
             p5,rf_5,5,EUR,succeeded,yesterday\n\
             ,,5,EUR,succeeded,\n\
             p7,rf_7,5,EUR\n\
             p8,rf_8,-5,EUR,failed,\n"
        );
        let read = lines(&text);
        let bad: Vec<u64> = read
            .iter()
            .filter_map(|r| r.as_ref().err().map(|m| m.line))
            .collect();
        assert_eq!(bad, vec![3, 4, 5, 6, 7, 8, 9]);
        assert!(read
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|m| !m.message.is_empty()));
    }

    #[test]
    fn a_header_without_a_column_is_refused() {
        let error = StatementReader::new(
            "provider_refund_id,amount,currency,status,settled_at\n".as_bytes(),
        )
        .err();
        assert!(matches!(
            error,
            Some(StatementError::MissingColumn("provider_reference"))
        ));
        assert!(matches!(
            StatementReader::new("".as_bytes()).err(),
            Some(StatementError::NoHeader)
        ));
    }
}
