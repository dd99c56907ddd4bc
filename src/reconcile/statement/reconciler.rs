//! The running reconciliation of one statement: lines in, lookups and settlement writes
//! pipelined against the store, each line judged by [`super::compare`], variances out to a
//! [`ReportSink`] and counted in a [`Tally`].

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::StreamExt;

use refund_provider::{Currency, RefundId};

use super::compare::{batch_mismatch, compare, missing_in_gateway, missing_in_statement};
use super::report::{ReportSink, ReportSummary, Tally, Variance};
use super::{Malformed, Options, StatementError, StatementLine, CHUNK, SETTLE_EVERY};
use crate::reconcile::batch::{Batch, Found, Member, Settle};
use crate::store::finance::matcher::StatementMatcher;
use crate::store::finance::MatchRow;
use crate::store::ledger::{FeePosting, Settlement};
use crate::store::{Store, StoreError};

/// What one settlement write did: refunds newly settled, refunds submitted, fees posted.
type SettleOutcome = Result<(u64, u64, u64), StoreError>;

/// The task looking up a chunk's refunds; it hands the chunk back with them.
type Lookup =
    tokio::task::JoinHandle<Result<(Vec<StatementLine>, Vec<Option<MatchRow>>), StoreError>>;

const DAY_MS: i64 = 86_400_000;

/// The running reconciliation of one statement.
///
/// Lookups are pipelined: a full chunk's lookup runs (off the runtime) while the next chunk
/// is read, and is judged when that one is full. Settlement is pipelined too: matched
/// refunds are handed to the store's writer in groups of [`SETTLE_EVERY`] by a task of
/// their own, while the next lines are read and matched (at most one group in flight);
/// [`Reconciler::finish`] waits for the last. A re-read of a refund whose settlement is
/// still in flight sees it unsettled and submits it again: the unique ledger key posts it
/// once, and the count moves it to `already_settled`.
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
    /// The refunds the statement named, as 16-byte ids, for the missing-refund scan.
    seen: Vec<u128>,
    settled_span: Option<(i64, i64)>,
    batches: BTreeMap<String, Batch>,
    tally: Tally,
}

impl<'a> Reconciler<'a> {
    pub(crate) fn new(store: &'a Store, options: Options) -> Self {
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
            batches: BTreeMap::new(),
            tally: Tally::default(),
        }
    }

    /// Takes one line; matches the chunk when it is full.
    pub(crate) async fn line(
        &mut self,
        line: StatementLine,
        sink: &mut (dyn ReportSink + Send),
    ) -> Result<(), StatementError> {
        self.tally.lines += 1;
        if let Some(at) = line.settled_at {
            self.settled_span = Some(match self.settled_span {
                Some((low, high)) => (low.min(at), high.max(at)),
                None => (at, at),
            });
        }
        if line.fee_minor > 0 {
            self.tally.fee(line.currency.code(), line.fee_minor);
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
    pub(crate) fn malformed(
        &mut self,
        malformed: Malformed,
        sink: &mut (dyn ReportSink + Send),
    ) -> Result<(), StatementError> {
        self.tally.lines += 1;
        self.tally.malformed += 1;
        sink.malformed(&malformed)?;
        Ok(())
    }

    fn batch_entry(&mut self, id: &str, currency: Currency) -> &mut Batch {
        self.batches
            .entry(id.to_owned())
            .or_insert_with(|| Batch::new(id.to_owned(), currency))
    }

    /// Adds a member line to its batch, to be judged with the batch at the end: `refund` is
    /// the gateway's refund of the line (`None`: no refund of the line), `other_id` the
    /// provider refund id to name the member by when the line has none.
    fn batch_member(
        &mut self,
        line: &StatementLine,
        batch: &str,
        other_id: Option<&String>,
        refund: Option<Found>,
    ) {
        let member = Member {
            line: line.line,
            statement_minor: line.amount_minor,
            provider_refund_id: line
                .provider_refund_id
                .clone()
                .or_else(|| other_id.cloned()),
            refund,
        };
        let entry = self.batch_entry(batch, line.currency);
        entry.note(line.currency, line.fee_minor);
        entry.members.push(member);
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
            self.tally.lines -= 1;
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

    /// Counts a variance at `amount` and sends it to the sink.
    fn report(
        &mut self,
        variance: Variance,
        amount: Option<(&str, i128)>,
        sink: &mut (dyn ReportSink + Send),
    ) -> Result<(), StatementError> {
        self.tally.variance(variance.kind, amount);
        sink.variance(&variance)?;
        Ok(())
    }

    /// Queues a clean match for settlement when it is new (when this import settles),
    /// counts it when an earlier import settled it; says whether it was queued.
    fn queue_settlement(
        &mut self,
        refund_id: &str,
        currency: &str,
        settle: Settle,
        gateway_minor: Option<i64>,
        to_settle: &mut Vec<Settlement>,
    ) -> bool {
        match (settle, gateway_minor) {
            (Settle::New, Some(amount_minor)) => {
                to_settle.push(Settlement {
                    refund_id: refund_id.to_owned(),
                    provider: self.options.provider.clone(),
                    currency: currency.to_owned(),
                    amount_minor,
                });
                true
            }
            (Settle::Already, _) => {
                self.tally.settlement.already_settled += 1;
                true
            }
            _ => false,
        }
    }

    /// Sends the pending chunk to be looked up, then judges the chunk sent before it (whose
    /// lookup ran while this one was read): one chunk is looked up while the next is parsed.
    /// Settles matched lines (batched lines wait for their batch's judgement).
    pub(crate) async fn flush(
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
        let (chunk, mut rows) = lookup
            .await
            .map_err(|e| StoreError::Corrupt(format!("a statement lookup failed: {e}")))??;
        // A reversed refund matches the status the provider reported when it reversed it
        // (`canceled` for a void, `failed` for a failure after success): looked up for those
        // refunds only, a handful.
        let reversed: Vec<String> = rows
            .iter()
            .flatten()
            .filter(|row| row.voided)
            .map(|row| row.id.clone())
            .collect();
        if !reversed.is_empty() {
            let statuses = self.store.reversals(&reversed).await?;
            for row in rows.iter_mut().flatten().filter(|row| row.voided) {
                row.reversed_to = statuses.get(&row.id).cloned().unwrap_or_default();
            }
        }
        let mut to_settle = Vec::new();
        let mut fees = Vec::new();
        for (line, row) in chunk.iter().zip(&rows) {
            let currency = line.currency.code();
            let line_amount = line.amount_minor.map(|m| (currency, i128::from(m)));
            let Some(row) = row else {
                if let Some(batch) = &line.batch {
                    self.batch_member(line, batch, line.provider_reference.as_ref(), None);
                }
                self.report(missing_in_gateway(line), line_amount, sink)?;
                continue;
            };
            if let Ok(id) = RefundId::parse(&row.id) {
                self.seen.push(id.as_u128());
            }
            let verdict = compare(line, row);
            for variance in verdict.variances {
                self.report(variance, line_amount, sink)?;
            }
            if let Some(batch) = &line.batch {
                let found = Found {
                    refund_id: row.id.clone(),
                    gateway_minor: row.amount_minor,
                    clean: verdict.clean,
                    settle: verdict.settle,
                };
                self.batch_member(line, batch, row.provider_refund_id.as_ref(), Some(found));
                continue;
            }
            if !verdict.clean {
                continue;
            }
            self.tally.matched(line_amount);
            let settles = self.queue_settlement(
                &row.id,
                &row.currency,
                verdict.settle,
                row.amount_minor,
                &mut to_settle,
            );
            if settles && line.fee_minor > 0 {
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
        let counts = &mut self.tally.settlement;
        counts.settled += newly;
        // Settled meanwhile by another import, or listed twice in this statement.
        counts.already_settled += submitted - newly;
        counts.fees_posted += fees_posted;
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
            self.tally.batches.count += 1;
            let verdict = batch.judge(tolerance);
            let currency = batch.currency.code();
            if !verdict.matched {
                let amount = verdict.actual.map(|a| (currency, a));
                self.report(batch_mismatch(&batch, &verdict), amount, sink)?;
                continue;
            }
            self.tally.batches.matched += 1;
            for found in batch.members.iter().filter_map(|m| m.refund.as_ref()) {
                if !found.clean {
                    continue;
                }
                self.tally.matched(
                    found
                        .gateway_minor
                        .map(|minor| (currency, i128::from(minor))),
                );
                self.queue_settlement(
                    &found.refund_id,
                    currency,
                    found.settle,
                    found.gateway_minor,
                    &mut to_settle,
                );
            }
            if let (true, Some(anchor)) = (batch.fee_minor > 0, batch.anchor()) {
                fees.push(FeePosting {
                    refund_id: anchor.to_owned(),
                    fee_minor: batch.fee_minor,
                });
            }
        }
        // The last group is waited for at the very end, while the missing-refund scan runs.
        self.settle(to_settle, fees, true).await
    }

    /// `[from, to)`: the caller's period, else the whole UTC days the statement's
    /// `settled_at` values span; `None` when there is neither.
    fn period(&self) -> Option<(i64, i64)> {
        self.options.period.or_else(|| {
            self.settled_span.map(|(low, high)| {
                let start = low.div_euclid(DAY_MS) * DAY_MS;
                let end = high.div_euclid(DAY_MS) * DAY_MS + DAY_MS;
                (start, end)
            })
        })
    }

    /// Reports the refunds that succeeded within the period and that the statement did not
    /// name (one streamed scan of the period's successes).
    async fn report_missing(
        &mut self,
        (from, to): (i64, i64),
        sink: &mut (dyn ReportSink + Send),
    ) -> Result<(), StatementError> {
        self.seen.sort_unstable();
        self.seen.dedup();
        let seen = Arc::new(std::mem::take(&mut self.seen));
        let matcher = self.matcher().await?.clone();
        let mut rows = matcher.succeeded_unseen(from, to, seen);
        while let Some(row) = rows.next().await {
            let row = row?;
            let amount = row
                .amount_minor
                .map(|m| (row.currency.as_str(), i128::from(m)));
            self.report(missing_in_statement(&row), amount, sink)?;
        }
        Ok(())
    }

    /// Matches what is left, judges the batches, reports the refunds missing from the
    /// statement, and returns the summary.
    pub(crate) async fn finish(
        mut self,
        sink: &mut (dyn ReportSink + Send),
    ) -> Result<ReportSummary, StatementError> {
        self.flush(sink).await?;
        self.drain(sink).await?;
        self.judge_batches(sink).await?;
        let period = self.period();
        if let Some(period) = period {
            self.report_missing(period, sink).await?;
        }
        self.wait_for_settlement().await?;
        Ok(self
            .tally
            .summary(self.options.provider, period, self.options.settle))
    }
}
