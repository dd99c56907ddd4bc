//! Statement reconciliation (DESIGN §10): a provider's statement against the gateway's
//! refunds, as a stream of variances and a summary of counts and amounts.
//!
//! - Input: the provider's file in its configured format (`crate::config::statements`, read
//!   by [`super::reader`]); without one, the gateway's own CSV (a header naming
//!   `provider_refund_id,provider_reference,amount,currency,status,settled_at`, amounts in
//!   major units, the gateway's statuses, RFC 3339 times). A line that cannot be read is
//!   reported with its line number and takes no further part; it is never skipped silently.
//! - Matching, per chunk of lines (one query per key kind, never the whole store): by
//!   `provider_reference` (the gateway's own key, unique per provider), else by
//!   `provider_refund_id`. Only the provider's refunds (and the merchant's, through the API)
//!   are candidates; a line matching none is `missing_in_gateway`.
//! - Variances of a matched line ([`judge_line`]): `currency_mismatch` (then amounts are not
//!   compared), otherwise `amount_mismatch` and/or `status_mismatch`. A refund the provider
//!   voided after reporting it succeeded (its lines reversed, see `crate::ledger`) counts as
//!   `canceled`. A line without variance is matched; when both sides say `succeeded` its
//!   amount moves from the provider's clearing account to settled, once (the unique ledger
//!   key makes a re-imported statement settle nothing twice).
//! - Batches ([`super::batch`]): lines with a batch id are judged together at the end; a
//!   batch whose members do not sum to its total is one `batch_mismatch` listing its
//!   members, and none of them is matched or settled.
//! - Fees: a settled line's (or matching batch's) fee is posted `provider:<p>:fees:<cur>`
//!   against clearing and settled with it (`crate::ledger`), so clearing still comes back to
//!   zero. Only when the import settles; a merchant's import only reports.
//! - `missing_in_statement`: refunds that succeeded (their `refund_succeeded` posting) within
//!   the period and were not voided, absent from the statement. The period is the caller's
//!   `[from, to)` or else the whole UTC days the statement's `settled_at` values span; without
//!   either there is no period and this check is not made (the report's `period` is null).
//! - Memory: lines are held two chunks at a time (one being looked up while the next is
//!   read), settlements two groups at a time (one being written); the refunds seen are kept
//!   as 16-byte ids (16 MB for a million lines) to find the missing ones in one streamed scan
//!   at the end; batched lines are kept (about 100 bytes each) until their batch is judged.
//!   Variances go to a `ReportSink` as they are found, so the CLI streams them out.
//! - Speed (`crate::store::finance::matcher`, README "Performance"): lookups, parsing and
//!   settlement writes overlap; a million-line first import runs in about 16 s here.
//! - Amounts per kind are the statement's (the gateway's for `missing_in_statement`; for
//!   `batch_mismatch` the batch's total), summed per currency, never mixed.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use futures_util::StreamExt;
use serde::Serialize;

use refund_provider::{Currency, RefundId};

use super::batch::{Batch, Found, Member, Settle};
pub use super::reader::{Malformed, StatementLine, StatementReader};
use crate::config::statements::StatementFormat;
use crate::domain::refund_object::rfc3339_ms;
use crate::domain::RefundStatus;
use crate::ledger::{format_minor, CurrencyAmount, Totals};
use crate::store::finance::matcher::StatementMatcher;
use crate::store::finance::MatchRow;
use crate::store::ledger::{FeePosting, Settlement};
use crate::store::{Store, StoreError};

/// Lines matched per round trip to the store.
pub const CHUNK: usize = 1000;

/// Settlements handed to the writer at a time (one transaction each): fewer, larger commits,
/// but each step's savepoint keeps the pages it changes in memory (temp_store = MEMORY), so
/// not too large (20,000 put the CLI's peak at 145 MiB).
pub const SETTLE_EVERY: usize = 10_000;

/// What one settlement write did: refunds newly settled, refunds submitted, fees posted.
type SettleOutcome = Result<(u64, u64, u64), StoreError>;

/// The task looking up a chunk's refunds; it hands the chunk back with them.
type Lookup =
    tokio::task::JoinHandle<Result<(Vec<StatementLine>, Vec<Option<MatchRow>>), StoreError>>;

const DAY_MS: i64 = 86_400_000;

/// Why a statement could not be reconciled at all (a bad line is a `Malformed`, not this).
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error("the statement is empty: expected a header row {0}")]
    NoHeader(String),
    #[error("the header row lacks column `{column}` (expected {expected})")]
    MissingColumn { column: String, expected: String },
    #[error("the statement could not be read: {0}")]
    Read(String),
    #[error("writing the report failed: {0}")]
    Write(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

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
    pub const ALL: [VarianceKind; 6] = [
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
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_refund_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
}

/// One difference between the statement and the gateway. `expected` is the gateway's
/// value, `actual` the statement's; `currency` says which currency an amount is in and
/// `line` which statement line it comes from. A `batch_mismatch` names its `batch` and
/// lists its `members`.
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<BatchMemberNote>,
}

impl Variance {
    fn new(kind: VarianceKind) -> Self {
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
    /// Fees (of lines or batches) posted now; an earlier import's are not posted again.
    pub fees_posted: u64,
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
    pub object: &'static str,
    pub provider: String,
    pub period: Option<Period>,
    /// Data lines read (the header excluded), malformed ones included.
    pub lines: u64,
    pub matched: CountAndAmounts,
    pub by_kind: BTreeMap<&'static str, CountAndAmounts>,
    pub batches: BatchCounts,
    /// The fees the statement reports (lines with a fee, their sum per currency).
    pub fees: CountAndAmounts,
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
    /// How the provider writes its statement.
    pub format: Arc<StatementFormat>,
}

/// What one line says against the gateway's refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineJudgement {
    pub variances: Vec<Variance>,
    /// No variance.
    pub clean: bool,
    pub settle: Settle,
}

/// Compares a line with the refund it matched: currency first (a currency mismatch is
/// reported alone), then amount (when the line carries one) and status. A refund voided
/// after success counts as `canceled`. Settles when clean and both sides say `succeeded`.
pub fn judge_line(line: &StatementLine, row: &MatchRow) -> LineJudgement {
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
        return LineJudgement {
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
    let gateway_status = if row.voided {
        "canceled"
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
    LineJudgement {
        variances,
        clean,
        settle,
    }
}

/// The running reconciliation of one statement.
///
/// Lookups are pipelined: a full chunk's lookup runs (off the runtime) while the next chunk
/// is read, and is judged when that one is full. Settlement is pipelined too: matched refunds are handed to the store's writer in groups of
/// [`SETTLE_EVERY`] by a task of their own, while the next lines are read and matched (at
/// most one group in flight); [`Reconciler::finish`] waits for the last. A re-read of a
/// refund whose settlement is still in flight sees it unsettled and submits it again: the
/// unique ledger key posts it once, and the count moves it to `already_settled`.
#[derive(Debug)]
pub struct Reconciler<'a> {
    store: &'a Store,
    options: Options,
    matcher: Option<StatementMatcher>,
    to_settle: Vec<Settlement>,
    fees_due: Vec<FeePosting>,
    in_flight: Option<tokio::task::JoinHandle<SettleOutcome>>,
    /// A chunk whose lookup is running, with its task.
    looking_up: Option<Lookup>,
    chunk: Vec<StatementLine>,
    seen: Vec<u128>,
    settled_span: Option<(i64, i64)>,
    lines: u64,
    matched: (u64, Totals),
    kinds: BTreeMap<VarianceKind, (u64, Totals)>,
    batches: BTreeMap<String, Batch>,
    batch_counts: BatchCounts,
    fees: (u64, Totals),
    malformed: u64,
    settlement: SettlementCounts,
}

impl<'a> Reconciler<'a> {
    pub fn new(store: &'a Store, options: Options) -> Self {
        Self {
            store,
            options,
            matcher: None,
            to_settle: Vec::new(),
            fees_due: Vec::new(),
            in_flight: None,
            looking_up: None,
            chunk: Vec::with_capacity(CHUNK),
            seen: Vec::new(),
            settled_span: None,
            lines: 0,
            matched: (0, Totals::default()),
            kinds: BTreeMap::new(),
            batches: BTreeMap::new(),
            batch_counts: BatchCounts::default(),
            fees: (0, Totals::default()),
            malformed: 0,
            settlement: SettlementCounts::default(),
        }
    }

    /// Takes one line; matches the chunk when it is full.
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
        if line.fee_minor > 0 {
            self.fees.0 += 1;
            self.fees.1.add(line.currency.code(), line.fee_minor);
        }
        if line.is_batch_total() {
            return self.batch_total(line, sink);
        }
        self.chunk.push(line);
        if self.chunk.len() >= CHUNK {
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

    fn batch_entry(&mut self, id: &str, currency: Currency) -> &mut Batch {
        self.batches
            .entry(id.to_owned())
            .or_insert_with(|| Batch::new(id.to_owned(), currency))
    }

    /// A batch's total line: kept for the batch's judgement (a second one is malformed).
    fn batch_total(
        &mut self,
        line: StatementLine,
        sink: &mut (dyn ReportSink + Send),
    ) -> Result<(), StatementError> {
        let Some(id) = line.batch.as_deref() else {
            return Ok(());
        };
        let batch = self.batch_entry(id, line.currency);
        if let Some((_, first)) = batch.total {
            let message = format!("batch `{id}` already has its total on line {first}");
            self.lines -= 1;
            return self.malformed(
                Malformed {
                    line: line.line,
                    message,
                },
                sink,
            );
        }
        batch.note(line.currency, line.fee_minor);
        batch.total = line.amount_minor.map(|total| (total, line.line));
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

    /// Sends the pending chunk to be looked up, then judges the chunk sent before it (whose
    /// lookup ran while this one was read): one chunk is looked up while the next is parsed.
    /// Settles matched lines (batched lines wait for their batch's judgement).
    pub async fn flush(
        &mut self,
        sink: &mut (dyn ReportSink + Send),
    ) -> Result<(), StatementError> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.chunk);
        let matcher = self.matcher().await?.clone();
        let lookup = tokio::spawn(async move {
            matcher
                .lookup_items(chunk, |line: &StatementLine| {
                    (
                        line.provider_reference.as_deref(),
                        line.provider_refund_id.as_deref(),
                    )
                })
                .await
        });
        match self.looking_up.replace(lookup) {
            Some(previous) => self.judge_chunk(previous, sink).await,
            None => Ok(()),
        }
    }

    /// Judges the chunk whose lookup is still out, if any.
    async fn drain(&mut self, sink: &mut (dyn ReportSink + Send)) -> Result<(), StatementError> {
        match self.looking_up.take() {
            Some(lookup) => self.judge_chunk(lookup, sink).await,
            None => Ok(()),
        }
    }

    /// Judges each line of a chunk against what its lookup found.
    async fn judge_chunk(
        &mut self,
        lookup: Lookup,
        sink: &mut (dyn ReportSink + Send),
    ) -> Result<(), StatementError> {
        let (chunk, rows) = lookup
            .await
            .map_err(|e| StoreError::Corrupt(format!("a statement lookup failed: {e}")))??;
        let mut to_settle = Vec::new();
        let mut fees = Vec::new();
        for (line, row) in chunk.iter().zip(&rows) {
            let currency = line.currency;
            let actual_amount = line.amount_minor.map(|m| (currency.code().to_owned(), m));
            let Some(row) = row else {
                if let Some(id) = &line.batch {
                    let member = Member {
                        line: line.line,
                        statement_minor: line.amount_minor,
                        provider_refund_id: line
                            .provider_refund_id
                            .clone()
                            .or_else(|| line.provider_reference.clone()),
                        refund: None,
                    };
                    let batch = self.batch_entry(id, currency);
                    batch.note(currency, line.fee_minor);
                    batch.members.push(member);
                }
                let variance = Variance {
                    provider_refund_id: line.provider_refund_id.clone(),
                    actual: line.amount_minor.map(|m| format_minor(m, currency)),
                    currency: Some(currency.code().to_owned()),
                    line: Some(line.line),
                    batch: line.batch.clone(),
                    ..Variance::new(VarianceKind::MissingInGateway)
                };
                self.report(variance, actual_amount, sink)?;
                continue;
            };
            if let Ok(id) = RefundId::parse(&row.id) {
                self.seen.push(id.as_u128());
            }
            let judgement = judge_line(line, row);
            for variance in judgement.variances {
                self.report(variance, actual_amount.clone(), sink)?;
            }
            if let Some(id) = &line.batch {
                let member = Member {
                    line: line.line,
                    statement_minor: line.amount_minor,
                    provider_refund_id: line
                        .provider_refund_id
                        .clone()
                        .or_else(|| row.provider_refund_id.clone()),
                    refund: Some(Found {
                        refund_id: row.id.clone(),
                        gateway_minor: row.amount_minor,
                        clean: judgement.clean,
                        settle: judgement.settle,
                    }),
                };
                let batch = self.batch_entry(id, currency);
                batch.note(currency, line.fee_minor);
                batch.members.push(member);
                continue;
            }
            if !judgement.clean {
                continue;
            }
            self.matched.0 += 1;
            if let Some(minor) = line.amount_minor {
                self.matched.1.add(currency.code(), minor);
            }
            match (judgement.settle, row.amount_minor) {
                (Settle::New, Some(amount_minor)) => to_settle.push(Settlement {
                    refund_id: row.id.clone(),
                    provider: self.options.provider.clone(),
                    currency: row.currency.clone(),
                    amount_minor,
                }),
                (Settle::Already, _) => self.settlement.already_settled += 1,
                _ => continue,
            }
            if line.fee_minor > 0 {
                fees.push(FeePosting {
                    refund_id: row.id.clone(),
                    fee_minor: line.fee_minor,
                });
            }
        }
        self.settle(to_settle, fees, false).await
    }

    /// The matcher, opened on first use.
    async fn matcher(&mut self) -> Result<&StatementMatcher, StatementError> {
        if self.matcher.is_none() {
            let matcher = self
                .store
                .statement_matcher(&self.options.provider, self.options.merchant_id.as_deref())
                .await?;
            self.matcher = Some(matcher);
        }
        self.matcher
            .as_ref()
            .ok_or_else(|| StatementError::Read("the matcher is not open".into()))
    }

    /// Queues settlements and fees (when this import settles) and hands them to the writer
    /// once [`SETTLE_EVERY`] are queued, or now with `flush`.
    async fn settle(
        &mut self,
        settlements: Vec<Settlement>,
        fees: Vec<FeePosting>,
        flush: bool,
    ) -> Result<(), StatementError> {
        if !self.options.settle {
            return Ok(());
        }
        self.to_settle.extend(settlements);
        self.fees_due.extend(fees);
        if !flush && self.to_settle.len() < SETTLE_EVERY {
            return Ok(());
        }
        self.wait_for_settlement().await?;
        let settlements = std::mem::take(&mut self.to_settle);
        let fees = std::mem::take(&mut self.fees_due);
        if settlements.is_empty() && fees.is_empty() {
            return Ok(());
        }
        let store = self.store.clone();
        self.in_flight = Some(tokio::spawn(async move {
            let now = crate::store::now_ms();
            let submitted = settlements.len() as u64;
            let newly = store.settle_matched(settlements, now).await?;
            let fees_posted = store.post_settlement_fees(&fees, now).await?;
            Ok((newly, submitted, fees_posted))
        }));
        Ok(())
    }

    /// Waits for the settlement in flight and counts what it did.
    async fn wait_for_settlement(&mut self) -> Result<(), StatementError> {
        let Some(task) = self.in_flight.take() else {
            return Ok(());
        };
        let (newly, submitted, fees_posted) = task
            .await
            .map_err(|e| StoreError::NotCommitted(format!("the settlement task failed: {e}")))??;
        self.settlement.settled += newly;
        // Settled meanwhile by another import, or listed twice in this statement.
        self.settlement.already_settled += submitted - newly;
        self.settlement.fees_posted += fees_posted;
        Ok(())
    }

    /// Judges every batch: members of a matching batch are matched (and settled); any other
    /// batch is one `batch_mismatch` listing its members.
    async fn judge_batches(
        &mut self,
        sink: &mut (dyn ReportSink + Send),
    ) -> Result<(), StatementError> {
        let tolerance = self.options.format.batch_tolerance_minor;
        let batches = std::mem::take(&mut self.batches);
        let mut to_settle = Vec::new();
        let mut fees = Vec::new();
        for batch in batches.into_values() {
            self.batch_counts.count += 1;
            let verdict = batch.judge(tolerance);
            let currency = batch.currency;
            if !verdict.matched {
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
                let variance = Variance {
                    expected: Some(format_minor(verdict.expected, currency)),
                    actual: verdict.actual.map(|a| format_minor(a, currency)),
                    currency: Some(currency.code().to_owned()),
                    line: batch.line(),
                    batch: Some(batch.id.clone()),
                    members,
                    ..Variance::new(VarianceKind::BatchMismatch)
                };
                let minor = verdict.actual.map(|a| (currency.code().to_owned(), a));
                self.report(variance, minor, sink)?;
                continue;
            }
            self.batch_counts.matched += 1;
            for found in batch.members.iter().filter_map(|m| m.refund.as_ref()) {
                if !found.clean {
                    continue;
                }
                self.matched.0 += 1;
                if let Some(minor) = found.gateway_minor {
                    self.matched.1.add(currency.code(), minor);
                }
                match (found.settle, found.gateway_minor) {
                    (Settle::New, Some(amount_minor)) => to_settle.push(Settlement {
                        refund_id: found.refund_id.clone(),
                        provider: self.options.provider.clone(),
                        currency: currency.code().to_owned(),
                        amount_minor,
                    }),
                    (Settle::Already, _) => self.settlement.already_settled += 1,
                    _ => {}
                }
            }
            if batch.fee_minor > 0 {
                if let Some(anchor) = batch.anchor() {
                    fees.push(FeePosting {
                        refund_id: anchor.to_owned(),
                        fee_minor: batch.fee_minor,
                    });
                }
            }
        }
        // The last group is waited for at the very end, while the missing-refund scan runs.
        self.settle(to_settle, fees, true).await
    }

    /// Matches what is left, judges the batches, reports the refunds missing from the
    /// statement, and returns the summary.
    pub async fn finish(
        mut self,
        sink: &mut (dyn ReportSink + Send),
    ) -> Result<ReportSummary, StatementError> {
        self.flush(sink).await?;
        self.drain(sink).await?;
        self.judge_batches(sink).await?;
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
            let seen = Arc::new(std::mem::take(&mut self.seen));
            let matcher = self.matcher().await?.clone();
            let mut rows = matcher.succeeded_unseen(from, to, seen);
            while let Some(row) = rows.next().await {
                let row = row?;
                let currency = Currency::parse(&row.currency).ok();
                let variance = Variance {
                    refund_id: Some(row.id.clone()),
                    provider_refund_id: row.provider_refund_id.clone(),
                    expected: row
                        .amount_minor
                        .zip(currency)
                        .map(|(m, c)| format_minor(m, c)),
                    currency: Some(row.currency.clone()),
                    ..Variance::new(VarianceKind::MissingInStatement)
                };
                let minor = row.amount_minor.map(|m| (row.currency.clone(), m));
                self.report(variance, minor, sink)?;
            }
        }
        self.wait_for_settlement().await?;
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
            batches: self.batch_counts,
            fees: CountAndAmounts {
                count: self.fees.0,
                amounts: self.fees.1.render(),
            },
            malformed_count: self.malformed,
            settlement: self.options.settle.then_some(self.settlement),
        })
    }
}

/// Reconciles a whole statement from `input` in `options.format`, calling `progress` with
/// the bytes read after each chunk.
pub async fn reconcile<R: Read + Send>(
    store: &Store,
    options: Options,
    input: R,
    sink: &mut (dyn ReportSink + Send),
    mut progress: impl FnMut(u64) + Send,
) -> Result<ReportSummary, StatementError> {
    let mut reader = StatementReader::new(input, options.format.clone())?;
    let mut reconciler = Reconciler::new(store, options);
    let mut count = 0usize;
    while let Some(next) = reader.next_line()? {
        match next {
            Ok(line) => reconciler.line(line, sink).await?,
            Err(malformed) => reconciler.malformed(malformed, sink)?,
        }
        count += 1;
        if count % CHUNK == 0 {
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
        }
    }

    fn kinds(judgement: &LineJudgement) -> Vec<VarianceKind> {
        judgement.variances.iter().map(|v| v.kind).collect()
    }

    #[test]
    fn a_clean_succeeded_line_settles_once() {
        let judged = judge_line(
            &line(Some(1299), "EUR", RefundStatus::Succeeded),
            &row(1299, "succeeded"),
        );
        assert!(judged.clean);
        assert_eq!(judged.settle, Settle::New);
        let settled = MatchRow {
            settled: true,
            ..row(1299, "succeeded")
        };
        let again = judge_line(&line(Some(1299), "EUR", RefundStatus::Succeeded), &settled);
        assert_eq!(again.settle, Settle::Already);
    }

    #[test]
    fn a_currency_mismatch_is_reported_alone() {
        let judged = judge_line(
            &line(Some(5), "USD", RefundStatus::Failed),
            &row(1299, "succeeded"),
        );
        assert_eq!(kinds(&judged), vec![VarianceKind::CurrencyMismatch]);
        assert_eq!(judged.variances[0].expected.as_deref(), Some("EUR"));
        assert_eq!(judged.settle, Settle::No);
    }

    #[test]
    fn amount_and_status_mismatches_are_each_reported_with_both_values() {
        let judged = judge_line(
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
            ..row(1299, "succeeded")
        };
        let judged = judge_line(&line(None, "EUR", RefundStatus::Canceled), &voided);
        assert!(judged.clean, "{:?}", judged.variances);
        assert_eq!(judged.settle, Settle::No, "only succeeded lines settle");
    }
}
