//! How `refund-gateway reconcile` writes its report, streamed as the variances are found:
//! an aligned table then the summary, CSV rows (the summary on stderr), or one JSON document
//! (malformed-line notes and the summary at its end).

use std::io::Write;

use crate::reconcile::export::spreadsheet_safe;
use crate::reconcile::statement::{Malformed, ReportSink, ReportSummary, Variance, VarianceKind};

/// Malformed-line notes the json format keeps for the end of its document.
const MALFORMED_LISTED: usize = 100_000;

/// A report under way: the sink the statement's lines go to, and what ends the report once
/// every line was read.
pub(super) trait ReportWriter: ReportSink + Send {
    /// Writes what follows the variances (the summary) and flushes.
    fn finish(self, summary: &ReportSummary) -> std::io::Result<()>;
}

fn text(value: Option<&str>) -> &str {
    value.unwrap_or("-")
}

/// Writes variances as an aligned table, then the summary.
pub(super) struct TableSink<W: Write> {
    out: W,
}

impl<W: Write> TableSink<W> {
    /// A table on `out`, its header written.
    pub(super) fn start(mut out: W) -> std::io::Result<Self> {
        writeln!(
            out,
            "{:<20} {:<36} {:<38} {:>14} {:>14} {:<4} {:>8}",
            "KIND", "REFUND_ID", "PROVIDER_REFUND_ID", "EXPECTED", "ACTUAL", "CUR", "LINE"
        )?;
        Ok(Self { out })
    }
}

impl<W: Write> ReportSink for TableSink<W> {
    fn variance(&mut self, v: &Variance) -> std::io::Result<()> {
        let batch = v.batch.as_ref().map(|b| format!("batch {b}"));
        let first = match v.kind {
            VarianceKind::BatchMismatch => batch.as_deref(),
            _ => v.refund_id.as_deref(),
        };
        writeln!(
            self.out,
            "{:<20} {:<36} {:<38} {:>14} {:>14} {:<4} {:>8}",
            v.kind.as_str(),
            text(first),
            text(v.provider_refund_id.as_deref()),
            text(v.expected.as_deref()),
            text(v.actual.as_deref()),
            text(v.currency.as_deref()),
            v.line.map_or_else(|| "-".to_owned(), |l| l.to_string()),
        )?;
        for m in &v.members {
            writeln!(
                self.out,
                "{:<20} {:<36} {:<38} {:>14} {:>14} {:<4} {:>8}",
                "  member",
                text(m.refund_id.as_deref()),
                text(m.provider_refund_id.as_deref()),
                text(m.expected.as_deref()),
                text(m.actual.as_deref()),
                text(v.currency.as_deref()),
                m.line,
            )?;
        }
        Ok(())
    }
    fn malformed(&mut self, m: &Malformed) -> std::io::Result<()> {
        writeln!(
            self.out,
            "{:<20} line {}: {}",
            "malformed", m.line, m.message
        )
    }
}

impl<W: Write + Send> ReportWriter for TableSink<W> {
    fn finish(mut self, summary: &ReportSummary) -> std::io::Result<()> {
        write_table_summary(&mut self.out, summary)?;
        self.out.flush()
    }
}

fn write_table_summary(out: &mut impl Write, s: &ReportSummary) -> std::io::Result<()> {
    let amounts = |list: &[crate::ledger::CurrencyAmount]| {
        list.iter()
            .map(|a| format!("{} {}", a.amount, a.currency))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(out)?;
    writeln!(out, "provider:              {}", s.provider)?;
    match &s.period {
        Some(p) => writeln!(out, "period:                {} .. {}", p.from, p.to)?,
        None => writeln!(out, "period:                none (no settled_at and no --from/--to: missing_in_statement not checked)")?,
    }
    writeln!(out, "lines:                 {}", s.lines)?;
    writeln!(
        out,
        "matched:               {:>8}  {}",
        s.matched.count,
        amounts(&s.matched.amounts)
    )?;
    for (kind, total) in &s.by_kind {
        writeln!(
            out,
            "{:<22} {:>8}  {}",
            format!("{kind}:"),
            total.count,
            amounts(&total.amounts)
        )?;
    }
    writeln!(
        out,
        "batches:               {:>8}  (matched: {})",
        s.batches.count, s.batches.matched
    )?;
    writeln!(
        out,
        "fees:                  {:>8}  {}",
        s.fees.count,
        amounts(&s.fees.amounts)
    )?;
    writeln!(out, "malformed:             {:>8}", s.malformed_count)?;
    match &s.settlement {
        Some(settlement) => writeln!(
            out,
            "settled now:           {:>8}  (already settled: {}; fees posted: {})",
            settlement.settled, settlement.already_settled, settlement.fees_posted
        ),
        None => writeln!(out, "settled now:           (report only)"),
    }
}

const CSV_HEADER: [&str; 10] = [
    "kind",
    "refund_id",
    "provider_refund_id",
    "expected",
    "actual",
    "currency",
    "line",
    "message",
    "batch",
    "members",
];

/// A batch's members in one cell: `line:refund` (the gateway's id, else the statement's key),
/// separated by spaces.
fn members_cell(v: &Variance) -> String {
    v.members
        .iter()
        .map(|m| {
            let who = m
                .refund_id
                .as_deref()
                .or(m.provider_refund_id.as_deref())
                .unwrap_or("-");
            format!("{}:{who}", m.line)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes variances and malformed lines as CSV rows.
pub(super) struct CsvSink<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> CsvSink<W> {
    /// CSV rows on `out`, the header row written.
    pub(super) fn start(out: W) -> std::io::Result<Self> {
        let mut out = csv::Writer::from_writer(out);
        out.write_record(CSV_HEADER).map_err(csv_error)?;
        Ok(Self { out })
    }
}

fn csv_error(e: csv::Error) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl<W: Write> ReportSink for CsvSink<W> {
    fn variance(&mut self, v: &Variance) -> std::io::Result<()> {
        let line = v.line.map(|l| l.to_string()).unwrap_or_default();
        let members = members_cell(v);
        let cells = [
            v.kind.as_str(),
            v.refund_id.as_deref().unwrap_or_default(),
            v.provider_refund_id.as_deref().unwrap_or_default(),
            v.expected.as_deref().unwrap_or_default(),
            v.actual.as_deref().unwrap_or_default(),
            v.currency.as_deref().unwrap_or_default(),
            &line,
            "",
            v.batch.as_deref().unwrap_or_default(),
            &members,
        ];
        // Statement values are the provider's text: neutralized like every exported cell.
        self.out
            .write_record(cells.map(spreadsheet_safe).iter().map(|c| c.as_bytes()))
            .map_err(csv_error)
    }
    fn malformed(&mut self, m: &Malformed) -> std::io::Result<()> {
        let line = m.line.to_string();
        let cells = ["malformed", "", "", "", "", "", &line, &m.message, "", ""];
        self.out
            .write_record(cells.map(spreadsheet_safe).iter().map(|c| c.as_bytes()))
            .map_err(csv_error)
    }
}

impl<W: Write + Send> ReportWriter for CsvSink<W> {
    fn finish(mut self, summary: &ReportSummary) -> std::io::Result<()> {
        self.out.flush()?;
        let mut err = std::io::stderr().lock();
        write_table_summary(&mut err, summary)
    }
}

/// Streams variances inside one JSON document; malformed notes are appended at the end.
pub(super) struct JsonSink<W: Write> {
    out: W,
    first: bool,
    malformed: Vec<Malformed>,
}

impl<W: Write> JsonSink<W> {
    /// One JSON document on `out`, its variance list opened.
    pub(super) fn start(mut out: W) -> std::io::Result<Self> {
        out.write_all(b"{\"variances\":[")?;
        Ok(Self {
            out,
            first: true,
            malformed: Vec::new(),
        })
    }
}

impl<W: Write> ReportSink for JsonSink<W> {
    fn variance(&mut self, v: &Variance) -> std::io::Result<()> {
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        serde_json::to_writer(&mut self.out, v).map_err(std::io::Error::other)
    }
    fn malformed(&mut self, m: &Malformed) -> std::io::Result<()> {
        if self.malformed.len() < MALFORMED_LISTED {
            self.malformed.push(m.clone());
        }
        Ok(())
    }
}

impl<W: Write + Send> ReportWriter for JsonSink<W> {
    fn finish(self, summary: &ReportSummary) -> std::io::Result<()> {
        let mut out = self.out;
        out.write_all(b"],\"malformed\":")?;
        serde_json::to_writer(&mut out, &self.malformed).map_err(std::io::Error::other)?;
        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(summary) {
            for (key, value) in fields {
                write!(out, ",{}:{}", serde_json::Value::String(key), value)?;
            }
        }
        out.write_all(b"}\n")?;
        out.flush()
    }
}
