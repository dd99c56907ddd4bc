//! The refund export (`GET /v1/refunds/export`, `refund-gateway export`): a merchant's refunds
//! created in `[from, to)`, newest first, as CSV (one header row, RFC 4180 quoting) or JSON
//! Lines (one refund object per line), produced page by page (500 refunds per query, keyset
//! pagination on the id) so memory stays bounded whatever the number of refunds.
//!
//! Every CSV cell goes through [`spreadsheet_safe`] (DESIGN §15): a cell a spreadsheet would
//! run as a formula (leading `=`, `+`, `-`, `@`, tab or carriage return) gets a leading `'`,
//! so a refund `reason` of `=HYPERLINK(…)` opens as text. Amounts, minor units, times and
//! booleans never start with one of those characters (a refund amount is never negative), so
//! they are untouched and stay numbers; applying the rule to every cell means no column can
//! be forgotten.

use std::borrow::Cow;

use axum::body::Bytes;
use futures_util::stream::{self, Stream};

use crate::domain::refund_object::{rfc3339_ms, RefundObject};
use crate::domain::RefundRecord;
use crate::store::{ListFilter, Store, StoreError};

/// Refunds per page read from the store.
pub(crate) const PAGE: u32 = 500;

/// The export's columns, in order.
pub(crate) const CSV_COLUMNS: [&str; 17] = [
    "id",
    "merchant_id",
    "provider",
    "provider_refund_id",
    "provider_reference",
    "payment_id",
    "amount",
    "currency",
    "amount_minor",
    "status",
    "failure_code",
    "failure_message",
    "reason",
    "reference",
    "requires_attention",
    "created_at",
    "updated_at",
];

/// How exported refunds are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExportFormat {
    Csv,
    Jsonl,
}

impl ExportFormat {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "csv" => Some(Self::Csv),
            "jsonl" => Some(Self::Jsonl),
            _ => None,
        }
    }

    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Jsonl => "application/x-ndjson",
        }
    }
}

/// `cell`, with a leading `'` when a spreadsheet would otherwise run it as a formula.
pub(crate) fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

fn csv_row(out: &mut Vec<u8>, fields: &[&str]) {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    // Writing to a Vec cannot fail; a failure would only lose this row's bytes.
    if writer
        .write_record(
            fields
                .iter()
                .map(|cell| spreadsheet_safe(cell).into_owned()),
        )
        .is_ok()
    {
        if let Ok(bytes) = writer.into_inner() {
            out.extend_from_slice(&bytes);
        }
    }
}

/// The CSV header row.
pub(crate) fn csv_header() -> Vec<u8> {
    let mut out = Vec::new();
    csv_row(&mut out, &CSV_COLUMNS);
    out
}

/// Appends `refunds` to `out` in `format`.
pub(crate) fn render(refunds: &[RefundRecord], format: ExportFormat, out: &mut Vec<u8>) {
    for r in refunds {
        match format {
            ExportFormat::Csv => {
                let minor = r.amount_minor.map(|m| m.to_string()).unwrap_or_default();
                let created = rfc3339_ms(r.created_at);
                let updated = rfc3339_ms(r.updated_at);
                let id = r.id.to_string();
                csv_row(
                    out,
                    &[
                        &id,
                        &r.merchant_id,
                        &r.provider,
                        r.provider_refund_id.as_deref().unwrap_or_default(),
                        &r.provider_reference,
                        &r.payment_id,
                        r.amount.as_deref().unwrap_or_default(),
                        &r.currency,
                        &minor,
                        r.status.as_str(),
                        r.failure_code.as_ref().map_or("", |c| c.as_str()),
                        r.failure_message.as_deref().unwrap_or_default(),
                        r.reason.as_deref().unwrap_or_default(),
                        r.reference.as_deref().unwrap_or_default(),
                        if r.requires_attention {
                            "true"
                        } else {
                            "false"
                        },
                        &created,
                        &updated,
                    ],
                );
            }
            ExportFormat::Jsonl => {
                out.extend_from_slice(RefundObject::from(r).to_json().as_bytes());
                out.push(b'\n');
            }
        }
    }
}

struct Cursor {
    store: Store,
    merchant_id: Option<String>,
    filter: ListFilter,
    format: ExportFormat,
    header: bool,
    done: bool,
}

/// The export of `merchant_id`'s refunds (every merchant's with `None`) created in
/// `[from, to)` as a stream of chunks (the CSV header first). A store error ends the stream
/// with that error.
pub(crate) fn stream_export(
    store: Store,
    merchant_id: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    format: ExportFormat,
) -> impl Stream<Item = Result<Bytes, StoreError>> + Send + 'static {
    let cursor = Cursor {
        store,
        merchant_id,
        filter: ListFilter {
            created_gte: from,
            created_lt: to,
            limit: PAGE,
            ..ListFilter::default()
        },
        format,
        header: format == ExportFormat::Csv,
        done: false,
    };
    stream::unfold(cursor, |mut cursor| async move {
        if cursor.header {
            cursor.header = false;
            return Some((Ok(Bytes::from(csv_header())), cursor));
        }
        if cursor.done {
            return None;
        }
        let page = match cursor
            .store
            .list_refunds(cursor.merchant_id.as_deref(), &cursor.filter)
            .await
        {
            Ok(page) => page,
            Err(error) => {
                cursor.done = true;
                return Some((Err(error), cursor));
            }
        };
        let mut page = page;
        if page.len() <= PAGE as usize {
            cursor.done = true;
        }
        page.truncate(PAGE as usize);
        let last = page.last()?;
        cursor.filter.starting_after = Some(last.id);
        let mut out = Vec::with_capacity(page.len() * 256);
        render(&page, cursor.format, &mut out);
        Some((Ok(Bytes::from(out)), cursor))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_that_would_run_as_a_formula_gets_a_leading_quote() {
        for (cell, expected) in [
            (
                "=HYPERLINK(\"https://x\",\"y\")",
                "'=HYPERLINK(\"https://x\",\"y\")",
            ),
            ("+1", "'+1"),
            ("-1+2", "'-1+2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
        ] {
            assert_eq!(spreadsheet_safe(cell), expected);
        }
        for cell in [
            "",
            "12.99",
            "rf_0192",
            "Product return",
            " =1",
            "'=1",
            "2026-11-23T10:00:00Z",
        ] {
            assert_eq!(spreadsheet_safe(cell), cell);
        }
    }
}
