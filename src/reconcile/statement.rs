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
//! - Variances of a matched line ([`compare()`]): `currency_mismatch` (then amounts are not
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
//!
//! The pieces: [`super::reader`] turns bytes into lines, [`compare`] holds the matching
//! rules as pure functions, [`reconciler`] runs the lookups and settlement against the store,
//! [`report`] is what comes out.

mod compare;
mod reconciler;
mod report;

use std::io::Read;
use std::sync::Arc;

pub use super::error::StatementError;
pub use super::reader::{Malformed, StatementLine, StatementReader};
pub use compare::{batch_mismatch, compare, missing_in_gateway, missing_in_statement, LineVerdict};
pub use reconciler::Reconciler;
pub use report::{
    BatchCounts, BatchMemberNote, CollectSink, CountAndAmounts, MissingPage, PagedSink, Period,
    ReportSink, ReportSummary, SettlementCounts, Variance, VarianceKind,
};

use crate::config::statements::StatementFormat;
use crate::store::Store;

/// Lines matched per round trip to the store.
pub(crate) const CHUNK: usize = 1000;

/// Settlements handed to the writer at a time (one transaction each): fewer, larger commits,
/// but each step's savepoint keeps the pages it changes in memory (temp_store = MEMORY), so
/// not too large (20,000 put the CLI's peak at 145 MiB).
pub(crate) const SETTLE_EVERY: usize = 10_000;

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
