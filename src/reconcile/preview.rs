//! `refund-gateway reconcile --dry-run`: how the first lines of a statement file are read in
//! its provider's format, before anything is matched or settled. No database is opened.
//! Each line shows the cells the format maps (as the file wrote them, after decoding) and
//! what they became in the gateway's terms, or why the line is refused.

use std::io::{Read, Write};
use std::sync::Arc;

use crate::config::statements::{AmountUnit, StatementEncoding, StatementFormat, TimeFormat};
use crate::domain::refund_object::rfc3339_ms;
use crate::ledger::format_minor;

use super::error::StatementError;
use super::reader::{StatementLine, StatementReader, FIELDS};

/// Lines shown when `--lines` is not given.
pub(crate) const DEFAULT_LINES: usize = 20;

/// One previewed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PreviewLine {
    pub(crate) line: u64,
    /// `field=cell` for each mapped field with a non-empty cell, as the file wrote it.
    pub(crate) raw: String,
    /// What the line became, or `refused: why`.
    pub(crate) parsed: Result<String, String>,
}

/// The format in one line, for the preview's heading.
pub(crate) fn describe(format: &StatementFormat) -> String {
    let encoding = match format.encoding {
        StatementEncoding::Utf8 => "utf-8",
        StatementEncoding::Gbk => "gbk",
    };
    let unit = match format.amount_unit {
        AmountUnit::Major => "major",
        AmountUnit::Minor => "minor",
    };
    let times = match &format.settled_at {
        TimeFormat::Rfc3339 => "rfc3339".to_owned(),
        TimeFormat::UnixSeconds => "unix".to_owned(),
        TimeFormat::UnixMillis => "unix_ms".to_owned(),
        TimeFormat::Pattern(_) => "pattern".to_owned(),
    };
    let delimiter = match format.delimiter {
        b'\t' => "\\t".to_owned(),
        other => char::from(other).to_string(),
    };
    let statuses = match &format.statuses {
        None => "the gateway's".to_owned(),
        Some(words) => words
            .iter()
            .map(|(word, status)| format!("{word}={}", status.as_str()))
            .collect::<Vec<_>>()
            .join(", "),
    };
    format!(
        "delimiter '{delimiter}', {encoding}, skip {} row(s), amounts in {unit} units{}{}, times {times} at {}, statuses {statuses}, batch tolerance {}",
        format.skip_rows,
        if format.negative_amounts { " (negative)" } else { "" },
        format
            .currency
            .map(|c| format!(", currency {c}"))
            .unwrap_or_default(),
        format.timezone,
        format.batch_tolerance_minor,
    )
}

fn parsed_text(line: &StatementLine) -> String {
    let currency = line.currency;
    let mut parts = Vec::new();
    if line.is_batch_total() {
        parts.push("batch total".to_owned());
    }
    if let Some(reference) = &line.provider_reference {
        parts.push(format!("reference {reference}"));
    }
    if let Some(id) = &line.provider_refund_id {
        parts.push(format!("provider id {id}"));
    }
    parts.push(match line.amount_minor {
        Some(minor) => format!("{} {currency}", format_minor(minor, currency)),
        None => format!("no amount ({currency}, the batch total's)"),
    });
    if !line.is_batch_total() {
        parts.push(line.status.as_str().to_owned());
    }
    if let Some(at) = line.settled_at {
        parts.push(format!("settled {}", rfc3339_ms(at)));
    }
    if let Some(batch) = &line.batch {
        parts.push(format!("batch {batch}"));
    }
    if line.fee_minor > 0 {
        parts.push(format!("fee {}", format_minor(line.fee_minor, currency)));
    }
    parts.join(", ")
}

/// Reads the header and at most `max_lines` lines of `input` in `format`.
pub(crate) fn preview<R: Read>(
    input: R,
    format: Arc<StatementFormat>,
    max_lines: usize,
) -> Result<Vec<PreviewLine>, StatementError> {
    let mut reader = StatementReader::new(input, format)?;
    let mut out = Vec::new();
    while out.len() < max_lines {
        let Some(next) = reader.next_line()? else {
            break;
        };
        let raw = FIELDS
            .iter()
            .zip(reader.raw_fields())
            .filter_map(|(field, cell)| {
                cell.filter(|c| !c.is_empty())
                    .map(|c| format!("{field}={c}"))
            })
            .collect::<Vec<_>>()
            .join("; ");
        out.push(match next {
            Ok(line) => PreviewLine {
                line: line.line,
                raw,
                parsed: Ok(parsed_text(&line)),
            },
            Err(malformed) => PreviewLine {
                line: malformed.line,
                raw,
                parsed: Err(malformed.message),
            },
        });
    }
    Ok(out)
}

/// Writes the preview as a table: line, raw cells → what they became (or why refused).
pub(crate) fn write_preview(
    out: &mut impl Write,
    provider: &str,
    format: &StatementFormat,
    lines: &[PreviewLine],
) -> std::io::Result<()> {
    writeln!(out, "format of {provider}: {}", describe(format))?;
    let width = lines
        .iter()
        .map(|l| l.raw.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(3, 100);
    writeln!(out, "{:>6}  {:<width$}  PARSED", "LINE", "RAW")?;
    for line in lines {
        let parsed = match &line.parsed {
            Ok(text) => format!("→ {text}"),
            Err(why) => format!("✗ refused: {why}"),
        };
        writeln!(out, "{:>6}  {:<width$}  {parsed}", line.line, line.raw)?;
    }
    let refused = lines.iter().filter(|l| l.parsed.is_err()).count();
    writeln!(
        out,
        "{} line(s) shown, {refused} refused (nothing was matched or settled)",
        lines.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preview_shows_each_lines_cells_what_they_became_and_why_a_line_is_refused() {
        let text = "provider_refund_id,provider_reference,amount,currency,status,settled_at\n\
                    p1,rf_1,12.99,EUR,succeeded,2026-11-23T10:00:00Z\n\
                    p2,rf_2,12.999,EUR,succeeded,\n\
                    p3,rf_3,1.00,EUR,succeeded,\n";
        let lines = preview(text.as_bytes(), Arc::default(), 2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lines.len(), 2, "only the lines asked for");
        assert_eq!(lines[0].line, 2);
        assert!(lines[0].raw.contains("amount=12.99"), "{}", lines[0].raw);
        assert_eq!(
            lines[0].parsed.as_deref(),
            Ok("reference rf_1, provider id p1, 12.99 EUR, succeeded, settled 2026-11-23T10:00:00Z")
        );
        assert!(lines[1]
            .parsed
            .as_ref()
            .is_err_and(|why| why.contains("12.999")));
        let mut out = Vec::new();
        write_preview(&mut out, "efundpay", &StatementFormat::default(), &lines)
            .unwrap_or_else(|e| panic!("{e}"));
        let shown = String::from_utf8_lossy(&out);
        assert!(shown.contains("refused"), "{shown}");
        assert!(shown.contains("2 line(s) shown, 1 refused"), "{shown}");
    }
}
