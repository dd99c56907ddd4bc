//! Reads a statement file the way its provider writes it ([`StatementFormat`]): decodes it
//! (UTF-8, or GBK through `encoding_rs`), skips the rows before the header, finds each
//! field's column by the format's header names, and turns every data line into a
//! [`StatementLine`] in the gateway's terms (minor units, gateway statuses, Unix ms), or into
//! a [`Malformed`] note saying why not. Nothing is guessed: an unlisted status word, an
//! amount with a fraction in a minor-unit file, a lower-case code in an upper-case file are
//! refused with the line's number (its physical line in the file, skipped rows counted).
//!
//! Kinds of line: a refund (it names a provider refund id or reference), and, in a file with
//! a batch column, a batch's total line (a batch id and an amount, no refund key). A batch
//! member may leave its amount empty when its batch has a total line.

use std::io::Read;

use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

use refund_provider::{Currency, Money};

use crate::config::statements::{AmountUnit, StatementEncoding, StatementFormat, TimeFormat};
use crate::domain::RefundStatus;

use super::error::StatementError;

/// The fields a line can carry, in the order of `Columns` and of the reader's index.
pub(crate) const FIELDS: [&str; 8] = [
    "provider_refund_id",
    "provider_reference",
    "amount",
    "currency",
    "status",
    "settled_at",
    "batch",
    "fee",
];

const REFUND_ID: usize = 0;
const REFERENCE: usize = 1;
const AMOUNT: usize = 2;
const CURRENCY: usize = 3;
const STATUS: usize = 4;
const SETTLED_AT: usize = 5;
const BATCH: usize = 6;
const FEE: usize = 7;

/// One readable statement line, in the gateway's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    pub line: u64,
    pub provider_refund_id: Option<String>,
    pub provider_reference: Option<String>,
    pub currency: Currency,
    /// Minor units; `None` for a batch member that carries no amount of its own.
    pub amount_minor: Option<i64>,
    /// `succeeded` for a file without a status column and for a batch's total line.
    pub(crate) status: RefundStatus,
    /// Unix ms.
    pub(crate) settled_at: Option<i64>,
    pub batch: Option<String>,
    /// The provider's fee in minor units (0 when none).
    pub fee_minor: i64,
}

impl StatementLine {
    /// A batch's total line: a batch id and no refund key.
    pub fn is_batch_total(&self) -> bool {
        self.batch.is_some()
            && self.provider_refund_id.is_none()
            && self.provider_reference.is_none()
    }
}

/// A line that could not be read, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Malformed {
    pub(crate) line: u64,
    pub message: String,
}

/// The bytes of the file as the CSV reader sees them: as they are (UTF-8) or transcoded
/// from GBK to UTF-8 as they stream through.
enum Input<R: Read> {
    Raw(R),
    Gbk(DecodeReaderBytes<R, Vec<u8>>),
}

impl<R: Read> Read for Input<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Raw(reader) => reader.read(buf),
            Self::Gbk(reader) => reader.read(buf),
        }
    }
}

/// Reads statement lines in a provider's format.
pub struct StatementReader<R: Read> {
    reader: csv::Reader<Input<R>>,
    format: std::sync::Arc<StatementFormat>,
    /// Each field's column in the file (`FIELDS` order); `None` where the format has none.
    index: [Option<usize>; 8],
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

/// The format's header names in `FIELDS` order.
fn column_names(format: &StatementFormat) -> [Option<&str>; 8] {
    let c = &format.columns;
    [
        c.provider_refund_id.as_deref(),
        c.provider_reference.as_deref(),
        Some(c.amount.as_str()),
        c.currency.as_deref(),
        c.status.as_deref(),
        c.settled_at.as_deref(),
        c.batch.as_deref(),
        c.fee.as_deref(),
    ]
}

/// The header row the format expects, for messages.
pub(crate) fn expected_header(format: &StatementFormat) -> String {
    column_names(format)
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(&char::from(format.delimiter).to_string())
}

impl<R: Read> StatementReader<R> {
    /// Skips the format's leading rows, reads the header row and finds every column.
    pub fn new(input: R, format: std::sync::Arc<StatementFormat>) -> Result<Self, StatementError> {
        let input = match format.encoding {
            StatementEncoding::Utf8 => Input::Raw(input),
            StatementEncoding::Gbk => Input::Gbk(
                DecodeReaderBytesBuilder::new()
                    .encoding(Some(encoding_rs::GBK))
                    .build(input),
            ),
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .delimiter(format.delimiter)
            .comment(format.comment)
            .from_reader(input);
        let mut header = csv::ByteRecord::new();
        let read_error = |e: csv::Error| StatementError::Read(e.to_string());
        for _ in 0..format.skip_rows {
            if !reader.read_byte_record(&mut header).map_err(read_error)? {
                return Err(StatementError::NoHeader(expected_header(&format)));
            }
        }
        if !reader.read_byte_record(&mut header).map_err(read_error)? {
            return Err(StatementError::NoHeader(expected_header(&format)));
        }
        let names: Vec<String> = header
            .iter()
            .map(|field| {
                String::from_utf8_lossy(field)
                    .trim_start_matches('\u{feff}')
                    .to_owned()
            })
            .collect();
        let mut index = [None; 8];
        for (slot, name) in index.iter_mut().zip(column_names(&format)) {
            let Some(name) = name else { continue };
            let found = names.iter().position(|n| n == name);
            if found.is_none() {
                return Err(StatementError::MissingColumn {
                    column: name.to_owned(),
                    expected: expected_header(&format),
                });
            }
            *slot = found;
        }
        Ok(Self {
            reader,
            format,
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

    /// Bytes read so far (for a progress bar; of the decoded text for GBK).
    pub fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }

    /// The current line's cell of each field (`FIELDS` order) as the file wrote it.
    pub(crate) fn raw_fields(&self) -> [Option<String>; 8] {
        let mut out: [Option<String>; 8] = Default::default();
        for (slot, column) in out.iter_mut().zip(self.index) {
            *slot = column
                .and_then(|c| self.record.get(c))
                .map(|raw| String::from_utf8_lossy(raw).into_owned());
        }
        out
    }

    /// The cell of `field`, "" where the format has no such column.
    fn field(&self, field: usize) -> Result<&str, String> {
        let Some(column) = self.index[field] else {
            return Ok("");
        };
        let raw = self.record.get(column).unwrap_or_default();
        let text = std::str::from_utf8(raw)
            .map_err(|_| format!("`{}` is not valid UTF-8", FIELDS[field]))?;
        if text.contains('\u{fffd}') {
            return Err(format!(
                "`{}` holds bytes that are not valid in the file's encoding",
                FIELDS[field]
            ));
        }
        Ok(text)
    }

    fn parse(&self, line: u64) -> Result<StatementLine, String> {
        if self.record.len() != self.width {
            return Err(format!(
                "expected {} fields, found {}",
                self.width,
                self.record.len()
            ));
        }
        let format = &*self.format;
        let optional = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        let provider_refund_id = optional(self.field(REFUND_ID)?);
        let provider_reference = optional(self.field(REFERENCE)?);
        let batch = optional(self.field(BATCH)?);
        let is_total = provider_refund_id.is_none() && provider_reference.is_none();
        if is_total && batch.is_none() {
            let required = match (self.index[REFUND_ID], self.index[REFERENCE]) {
                (Some(_), Some(_)) => "provider_refund_id or provider_reference is required",
                (Some(_), None) => "provider_refund_id is required",
                _ => "provider_reference is required",
            };
            return Err(required.to_owned());
        }
        let currency = currency(format, self.field(CURRENCY)?)?;
        let amount_text = self.field(AMOUNT)?;
        let amount_minor = if amount_text.is_empty() && batch.is_some() && !is_total {
            None
        } else {
            Some(amount(format, amount_text, currency)?)
        };
        let status = if is_total || self.index[STATUS].is_none() {
            RefundStatus::Succeeded
        } else {
            format.status(self.field(STATUS)?)?
        };
        let settled_text = self.field(SETTLED_AT)?;
        let settled_at = if settled_text.is_empty() {
            None
        } else {
            Some(settled_at(format, settled_text)?)
        };
        let fee_text = self.field(FEE)?;
        let fee_minor = if fee_text.is_empty() {
            0
        } else {
            fee(format, fee_text, currency)?
        };
        Ok(StatementLine {
            line,
            provider_refund_id,
            provider_reference,
            currency,
            amount_minor,
            status,
            settled_at,
            batch,
            fee_minor,
        })
    }
}

/// The line's currency: its cell, else the format's one currency.
fn currency(format: &StatementFormat, text: &str) -> Result<Currency, String> {
    if text.is_empty() {
        return format
            .currency
            .ok_or_else(|| "currency is empty".to_owned());
    }
    let code = if format.lowercase_currency {
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "currency `{text}` is not lower case as this format writes it"
            ));
        }
        text.to_ascii_uppercase()
    } else {
        text.to_owned()
    };
    Currency::parse(&code).map_err(|_| format!("currency `{text}` is not an active ISO 4217 code"))
}

/// A positive amount in the format's unit, as minor units of `currency`.
fn amount(format: &StatementFormat, text: &str, currency: Currency) -> Result<i64, String> {
    if text.is_empty() {
        return Err("amount is empty".to_owned());
    }
    let unsigned = if format.negative_amounts {
        text.strip_prefix('-').ok_or_else(|| {
            format!("amount `{text}` is not negative, as this format writes refunds")
        })?
    } else {
        text
    };
    match format.amount_unit {
        AmountUnit::Major => Money::parse(unsigned, currency)
            .map(|money| money.minor_units().get())
            .map_err(|e| e.to_string()),
        AmountUnit::Minor => minor_units(unsigned, currency, "amount"),
    }
}

/// An integer count of minor units: digits only, positive, within 12 integer digits.
fn minor_units(text: &str, currency: Currency, what: &str) -> Result<i64, String> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{what} `{text}` is not a whole number of minor units"
        ));
    }
    let value: i64 = text
        .parse()
        .map_err(|_| format!("{what} `{text}` is out of range"))?;
    Money::from_provider_minor(value, currency)
        .map(|money| money.minor_units().get())
        .map_err(|e| e.to_string())
}

/// A fee: like an amount but never signed and possibly zero.
fn fee(format: &StatementFormat, text: &str, currency: Currency) -> Result<i64, String> {
    if text.starts_with('-') {
        return Err(format!("fee `{text}` is negative"));
    }
    let zero_shaped = text.bytes().all(|b| b == b'0' || b == b'.')
        && text.bytes().filter(|b| *b == b'.').count() <= 1
        && !text.starts_with('.')
        && !text.ends_with('.');
    if zero_shaped {
        let fraction = text.split_once('.').map_or(0, |(_, f)| f.len());
        let allowed = match format.amount_unit {
            AmountUnit::Major => currency.exponent() as usize,
            AmountUnit::Minor => 0,
        };
        if fraction <= allowed {
            return Ok(0);
        }
    }
    match format.amount_unit {
        AmountUnit::Major => Money::parse(text, currency)
            .map(|money| money.minor_units().get())
            .map_err(|e| format!("fee: {e}")),
        AmountUnit::Minor => minor_units(text, currency, "fee"),
    }
}

/// A settlement time in Unix ms.
fn settled_at(format: &StatementFormat, text: &str) -> Result<i64, String> {
    let refused = || format!("settled_at `{text}` is not a time in this format");
    let at = match &format.settled_at {
        TimeFormat::Rfc3339 => OffsetDateTime::parse(text, &Rfc3339).map_err(|_| refused())?,
        TimeFormat::UnixSeconds | TimeFormat::UnixMillis => {
            let value: i64 = text.parse().map_err(|_| refused())?;
            let nanos = i128::from(value)
                * if format.settled_at == TimeFormat::UnixSeconds {
                    1_000_000_000
                } else {
                    1_000_000
                };
            OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| refused())?
        }
        TimeFormat::Pattern(items) => OffsetDateTime::parse(text, items)
            .or_else(|_| {
                PrimitiveDateTime::parse(text, items).map(|t| t.assume_offset(format.timezone))
            })
            .or_else(|_| {
                Date::parse(text, items).map(|d| {
                    PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_offset(format.timezone)
                })
            })
            .map_err(|_| refused())?,
    };
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).map_err(|_| refused())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::config::statements::RawStatementFormat;

    fn format(text: &str) -> Arc<StatementFormat> {
        let raw: RawStatementFormat = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
        let mut problems = Vec::new();
        Arc::new(
            raw.validate("p", &mut problems)
                .unwrap_or_else(|| panic!("{problems:?}")),
        )
    }

    fn lines(bytes: &[u8], format: Arc<StatementFormat>) -> Vec<Result<StatementLine, Malformed>> {
        let mut reader = StatementReader::new(bytes, format).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        while let Some(next) = reader.next_line().unwrap_or_else(|e| panic!("{e}")) {
            out.push(next);
        }
        out
    }

    fn ok(read: &Result<StatementLine, Malformed>) -> StatementLine {
        read.clone().unwrap_or_else(|m| panic!("{m:?}"))
    }

    const HEADER: &str =
        "provider_refund_id,provider_reference,amount,currency,status,settled_at\n";

    #[test]
    fn a_well_formed_line_of_the_default_format_is_read_exactly() {
        let read = lines(
            format!("{HEADER}p1,rf_1,12.99,EUR,succeeded,2026-11-23T10:00:00Z\n").as_bytes(),
            Arc::default(),
        );
        let line = ok(&read[0]);
        assert_eq!(line.line, 2);
        assert_eq!(line.amount_minor, Some(1299));
        assert_eq!(line.status, RefundStatus::Succeeded);
        assert_eq!(line.settled_at, Some(1_795_428_000_000));
        assert_eq!(line.fee_minor, 0);
        assert!(!line.is_batch_total());
    }

    #[test]
    fn quoted_fields_and_reordered_columns_are_read() {
        let text = "status,amount,currency,provider_reference,provider_refund_id,settled_at\n\
                    succeeded,\"1,000\",JPY,\"rf,\"\"x\"\"\",p1,\n\
                    succeeded,1000,JPY,\"rf,\"\"x\"\"\",p1,\n";
        let read = lines(text.as_bytes(), Arc::default());
        assert_eq!(read[0].clone().err().map(|m| m.line), Some(2));
        let line = ok(&read[1]);
        assert_eq!(line.provider_reference.as_deref(), Some("rf,\"x\""));
        assert_eq!(line.amount_minor, Some(1000));
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
        let read = lines(text.as_bytes(), Arc::default());
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
    fn a_header_without_a_column_is_refused_naming_the_expected_header() {
        let error = StatementReader::new(
            "provider_refund_id,amount,currency,status,settled_at\n".as_bytes(),
            Arc::default(),
        )
        .err();
        assert!(
            matches!(&error, Some(StatementError::MissingColumn { column, .. }) if column == "provider_reference"),
            "{error:?}"
        );
        assert!(matches!(
            StatementReader::new("".as_bytes(), Arc::default()).err(),
            Some(StatementError::NoHeader(_))
        ));
    }

    #[test]
    fn a_gbk_file_with_chinese_headers_fen_and_a_local_zone_is_read() {
        let format = format(
            r##"
            encoding = "gbk"
            skip_rows = 1
            comment = "#"
            amount_unit = "minor"
            currency = "CNY"
            settled_at_format = "[year]-[month]-[day] [hour]:[minute]:[second]"
            timezone = "+08:00"
            [columns]
            provider_reference = "退款单号"
            amount = "退款金额(分)"
            status = "退款状态"
            settled_at = "结算时间"
            fee = "手续费(分)"
            [status]
            "退款成功" = "succeeded"
            "##,
        );
        let text = "e-Buy 退款对账单\n退款单号,退款金额(分),退款状态,结算时间,手续费(分)\n\
                    2026112300000001,800,退款成功,2026-11-24 02:00:00,3\n\
                    2026112300000002,8.00,退款成功,2026-11-24 02:00:00,0\n\
                    2026112300000003,800,处理中,2026-11-24 02:00:00,0\n\
                    # 合计: 3 笔\n";
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
        assert!(!unmappable);
        let read = lines(&bytes, format);
        assert_eq!(read.len(), 3, "the footer note is not a line");
        let line = ok(&read[0]);
        assert_eq!(line.line, 3, "the skipped title row counts");
        assert_eq!(line.provider_reference.as_deref(), Some("2026112300000001"));
        assert_eq!(line.amount_minor, Some(800));
        assert_eq!(line.currency.code(), "CNY");
        assert_eq!(line.fee_minor, 3);
        // 02:00 in +08:00 is 18:00 UTC the day before.
        assert_eq!(line.settled_at, Some(1_795_456_800_000));
        assert!(read[1]
            .clone()
            .err()
            .is_some_and(|m| m.message.contains("minor units")));
        assert!(read[2]
            .clone()
            .err()
            .is_some_and(|m| m.message.contains("处理中")));
    }

    #[test]
    fn batch_lines_totals_negative_amounts_and_lower_case_codes_follow_the_format() {
        let format = format(
            r#"
            delimiter = ";"
            amount_sign = "negative"
            currency_case = "lower"
            settled_at_format = "unix"
            [columns]
            provider_refund_id = "id"
            amount = "gross"
            currency = "cur"
            settled_at = "at"
            batch = "payout"
            fee = "fee"
            "#,
        );
        let text = "id;gross;cur;at;payout;fee\n\
                    re_1;-12.99;eur;1795428000;po_1;0.30\n\
                    re_2;;eur;1795428000;po_1;\n\
                    ;-20.00;eur;1795428000;po_1;0.50\n\
                    re_3;12.99;eur;1795428000;;\n\
                    re_4;-1.00;EUR;1795428000;;\n\
                    re_5;;eur;;;\n";
        let read = lines(text.as_bytes(), format);
        let first = ok(&read[0]);
        assert_eq!(first.amount_minor, Some(1299));
        assert_eq!(first.fee_minor, 30);
        assert_eq!(first.settled_at, Some(1_795_428_000_000));
        assert_eq!(first.status, RefundStatus::Succeeded, "no status column");
        let member = ok(&read[1]);
        assert_eq!(
            member.amount_minor, None,
            "a member may leave its amount to the total"
        );
        let total = ok(&read[2]);
        assert!(total.is_batch_total());
        assert_eq!(total.amount_minor, Some(2000));
        assert!(read[3].is_err(), "a positive amount in a negative file");
        assert!(read[4].is_err(), "an upper-case code in a lower-case file");
        assert!(read[5].is_err(), "outside a batch an amount is required");
    }

    #[test]
    fn fees_may_be_zero_but_never_negative_or_finer_than_the_currency() {
        let eur = Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}"));
        let major = StatementFormat::default();
        assert_eq!(fee(&major, "0", eur), Ok(0));
        assert_eq!(fee(&major, "0.00", eur), Ok(0));
        assert_eq!(fee(&major, "0.25", eur), Ok(25));
        assert!(fee(&major, "0.000", eur).is_err());
        assert!(fee(&major, "0.001", eur).is_err());
        assert!(fee(&major, "-0.25", eur).is_err());
        let minor = StatementFormat {
            amount_unit: AmountUnit::Minor,
            ..StatementFormat::default()
        };
        assert_eq!(fee(&minor, "25", eur), Ok(25));
        assert!(fee(&minor, "0.0", eur).is_err());
        assert!(fee(&minor, "2.5", eur).is_err());
    }
}
