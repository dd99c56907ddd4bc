//! Reading a bulk-refund file (DESIGN §19) into refund bodies, every row validated before
//! anything is created. Pure: bytes in, rows or errors out; no store, no configuration.
//!
//! - **Formats.** `text/csv`: a header row of the refund's fields (`payment_id`, `amount`,
//!   `payment_amount`, `currency`, `reason`, `provider`, `reference`, `customer_id`),
//!   `metadata.<key>` columns, `provider_options` as a JSON cell, and an optional
//!   `idempotency_key`; an empty cell is an absent field. `application/x-ndjson`: one refund
//!   body (the JSON of `POST /v1/refunds`) a line, with an optional `idempotency_key` member;
//!   blank lines are skipped.
//! - **Row numbers.** Rows are numbered from 1: in CSV the first record after the header is
//!   row 1; in NDJSON a row is its line number. Every error names its row and, where it has
//!   one, its column (the field, `metadata.<key>` or `idempotency_key`).
//! - **Refused whole** (a [`FileError`]): a file that is not UTF-8 (the row of the first bad
//!   byte), a CSV header without `payment_id` or with an unknown or repeated column, more
//!   than [`MAX_ROWS`] rows (the first row past it), an unreadable CSV record.
//! - **Refused rows** (a [`RowError`]; the API refuses the file unless `skip_invalid=true`):
//!   everything `POST /v1/refunds` refuses (exactly its checks, `parse_create`: a wrong
//!   currency exponent is `amount_invalid` on `amount`), a cell a spreadsheet would run as a
//!   formula (a leading `=`, `+`, `-`, `@`, tab or carriage return, DESIGN §15: refused, not
//!   neutralized, since the gateway would store what the merchant did not mean), an
//!   `idempotency_key` or `reference` that an earlier row of the file already uses.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::api::error::ApiError;
use crate::api::extract::IdempotencyKeyHeader;
use crate::api::refunds::{parse_create, CREATE_FIELDS};
use crate::domain::IdempotencyKey;
use crate::engine::CreateCommand;

/// Most rows a file may hold.
pub const MAX_ROWS: usize = 10_000;

/// The column of a row's own Idempotency-Key.
pub const IDEMPOTENCY_COLUMN: &str = "idempotency_key";

/// A file's format, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchFormat {
    Csv,
    Ndjson,
}

/// Why a whole file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("row {row}: the file is not UTF-8 (first bad byte at offset {offset})")]
    NotUtf8 { row: usize, offset: usize },
    #[error("the header has no `payment_id` column")]
    NoPaymentId,
    #[error("the header's column `{column}` is not a refund field, `metadata.<key>`, `provider_options` or `idempotency_key`")]
    UnknownColumn { column: String },
    #[error("the header names column `{column}` twice")]
    RepeatedColumn { column: String },
    #[error("row {row}: a file holds at most {MAX_ROWS} rows")]
    TooManyRows { row: usize },
    #[error("row {row}: the CSV record cannot be read: {message}")]
    Unreadable { row: usize, message: String },
    #[error("the file holds no rows")]
    Empty,
}

impl FileError {
    /// The row the error is about, if any.
    pub fn row(&self) -> Option<usize> {
        match self {
            Self::NotUtf8 { row, .. }
            | Self::TooManyRows { row }
            | Self::Unreadable { row, .. } => Some(*row),
            _ => None,
        }
    }

    /// The column the error is about, if any.
    pub fn column(&self) -> Option<&str> {
        match self {
            Self::NoPaymentId => Some("payment_id"),
            Self::UnknownColumn { column } | Self::RepeatedColumn { column } => Some(column),
            _ => None,
        }
    }
}

/// Why one row is refused: the error code (`POST /v1/refunds`'s own, or `parameter_invalid`
/// for a formula or an in-file duplicate), its message and the column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub code: &'static str,
    pub message: String,
    pub column: Option<String>,
}

/// One valid row: the refund body as `POST /v1/refunds` would take it, and its own key.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRow {
    pub row: usize,
    pub body: Map<String, Value>,
    pub idempotency_key: Option<IdempotencyKey>,
}

impl BatchRow {
    /// The engine command of this row, keyed with `key` (the row's own or the batch's).
    pub fn command(&self, key: IdempotencyKey) -> Result<CreateCommand, RowError> {
        parse_create(self.body.clone(), IdempotencyKeyHeader(Some(key)))
            .map_err(|e| row_error(self.row, &e))
    }
}

/// A file read whole: every row, valid or not, in order.
pub type ParsedRows = Vec<Result<BatchRow, RowError>>;

/// Reads `bytes` as `format`; see the module doc for what is refused whole.
pub fn parse(bytes: &[u8], format: BatchFormat) -> Result<ParsedRows, FileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let line = bytes[..offset].iter().filter(|b| **b == b'\n').count() + 1;
        let row = match format {
            // The header is line 1.
            BatchFormat::Csv => line.saturating_sub(1).max(1),
            BatchFormat::Ndjson => line,
        };
        FileError::NotUtf8 { row, offset }
    })?;
    let rows = match format {
        BatchFormat::Csv => parse_csv(text)?,
        BatchFormat::Ndjson => parse_ndjson(text)?,
    };
    if rows.is_empty() {
        return Err(FileError::Empty);
    }
    Ok(check_duplicates(rows))
}

fn row_error(row: usize, error: &ApiError) -> RowError {
    RowError {
        row,
        code: error.code.describe().2,
        message: error.message.clone(),
        column: error.param.clone(),
    }
}

/// Whether a spreadsheet would run `cell` as a formula (DESIGN §15).
fn is_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

fn parse_csv(text: &str) -> Result<Vec<Result<BatchRow, RowError>>, FileError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| FileError::Unreadable {
            row: 0,
            message: e.to_string(),
        })?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(FileError::Empty);
    }
    for (i, column) in header.iter().enumerate() {
        // Columns are a create body's fields, but for `metadata`: its keys are columns of their
        // own (`metadata.<key>`).
        let known = (CREATE_FIELDS.contains(&column.as_str()) && column != "metadata")
            || column == IDEMPOTENCY_COLUMN
            || column
                .strip_prefix("metadata.")
                .is_some_and(|key| !key.is_empty());
        if !known {
            return Err(FileError::UnknownColumn {
                column: column.clone(),
            });
        }
        if header[..i].contains(column) {
            return Err(FileError::RepeatedColumn {
                column: column.clone(),
            });
        }
    }
    if !header.iter().any(|c| c == "payment_id") {
        return Err(FileError::NoPaymentId);
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        if row > MAX_ROWS {
            return Err(FileError::TooManyRows { row });
        }
        let record = record.map_err(|e| FileError::Unreadable {
            row,
            message: e.to_string(),
        })?;
        rows.push(csv_row(row, &header, &record));
    }
    Ok(rows)
}

fn csv_row(
    row: usize,
    header: &[String],
    record: &csv::StringRecord,
) -> Result<BatchRow, RowError> {
    let refuse = |column: &str, message: String| RowError {
        row,
        code: "parameter_invalid",
        message,
        column: Some(column.to_owned()),
    };
    let mut body = Map::new();
    let mut metadata = Map::new();
    let mut key = None;
    for (column, cell) in header.iter().zip(record.iter()) {
        if cell.is_empty() {
            continue;
        }
        if is_formula(cell) {
            return Err(refuse(
                column,
                format!("row {row}, column `{column}`: the cell starts like a spreadsheet formula (=, +, -, @, tab or carriage return)"),
            ));
        }
        if column == IDEMPOTENCY_COLUMN {
            key = Some(IdempotencyKey::parse(cell).ok_or_else(|| {
                refuse(
                    column,
                    format!("row {row}, column `{column}`: 1-255 printable ASCII characters"),
                )
            })?);
        } else if let Some(name) = column.strip_prefix("metadata.") {
            metadata.insert(name.to_owned(), Value::String(cell.to_owned()));
        } else if column == "provider_options" {
            let options: Value = serde_json::from_str(cell).map_err(|e| RowError {
                row,
                code: "body_invalid",
                message: format!("row {row}, column `provider_options`: not JSON: {e}"),
                column: Some(column.clone()),
            })?;
            body.insert(column.clone(), options);
        } else {
            body.insert(column.clone(), Value::String(cell.to_owned()));
        }
    }
    if !metadata.is_empty() {
        body.insert("metadata".into(), Value::Object(metadata));
    }
    checked(row, body, key)
}

/// A row's body checked by `POST /v1/refunds`'s own parser.
fn checked(
    row: usize,
    body: Map<String, Value>,
    key: Option<IdempotencyKey>,
) -> Result<BatchRow, RowError> {
    parse_create(body.clone(), IdempotencyKeyHeader(key.clone())).map_err(|e| {
        let mut error = row_error(row, &e);
        error.message = match &error.column {
            Some(column) => format!("row {row}, column `{column}`: {}", error.message),
            None => format!("row {row}: {}", error.message),
        };
        error
    })?;
    Ok(BatchRow {
        row,
        body,
        idempotency_key: key,
    })
}

fn parse_ndjson(text: &str) -> Result<Vec<Result<BatchRow, RowError>>, FileError> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let row = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        if rows.len() >= MAX_ROWS {
            return Err(FileError::TooManyRows { row });
        }
        rows.push(ndjson_row(row, line));
    }
    Ok(rows)
}

fn ndjson_row(row: usize, line: &str) -> Result<BatchRow, RowError> {
    let invalid = |message: String, column: Option<String>| RowError {
        row,
        code: "body_invalid",
        message,
        column,
    };
    let value: Value = serde_json::from_str(line)
        .map_err(|e| invalid(format!("row {row}: not JSON: {e}"), None))?;
    let Value::Object(mut body) = value else {
        return Err(invalid(format!("row {row}: a row is a JSON object"), None));
    };
    let key = match body.remove(IDEMPOTENCY_COLUMN) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            Some(IdempotencyKey::parse(&text).ok_or_else(|| RowError {
                row,
                code: "parameter_invalid",
                message: format!(
                    "row {row}, column `{IDEMPOTENCY_COLUMN}`: 1-255 printable ASCII characters"
                ),
                column: Some(IDEMPOTENCY_COLUMN.into()),
            })?)
        }
        Some(_) => {
            return Err(invalid(
                format!("row {row}, column `{IDEMPOTENCY_COLUMN}`: must be a string"),
                Some(IDEMPOTENCY_COLUMN.into()),
            ))
        }
    };
    for (name, value) in &body {
        if let Some(text) = value.as_str().filter(|t| is_formula(t)) {
            let _ = text;
            return Err(RowError {
                row,
                code: "parameter_invalid",
                message: format!("row {row}, column `{name}`: the value starts like a spreadsheet formula (=, +, -, @, tab or carriage return)"),
                column: Some(name.clone()),
            });
        }
    }
    checked(row, body, key)
}

/// A later row reusing an earlier row's `idempotency_key` or `reference` is refused, naming
/// the earlier row.
fn check_duplicates(rows: ParsedRows) -> ParsedRows {
    let mut keys: HashMap<String, usize> = HashMap::new();
    let mut references: HashMap<String, usize> = HashMap::new();
    rows.into_iter()
        .map(|row| {
            let row = row?;
            if let Some(key) = &row.idempotency_key {
                if let Some(first) = keys.get(key.as_str()) {
                    return Err(RowError {
                        row: row.row,
                        code: "parameter_invalid",
                        message: format!("row {}, column `{IDEMPOTENCY_COLUMN}`: row {first} of the file already uses this key", row.row),
                        column: Some(IDEMPOTENCY_COLUMN.into()),
                    });
                }
                keys.insert(key.as_str().to_owned(), row.row);
            }
            if let Some(Value::String(reference)) = row.body.get("reference") {
                if let Some(first) = references.get(reference) {
                    return Err(RowError {
                        row: row.row,
                        code: "parameter_invalid",
                        message: format!("row {}, column `reference`: row {first} of the file already uses this reference", row.row),
                        column: Some("reference".into()),
                    });
                }
                references.insert(reference.clone(), row.row);
            }
            Ok(row)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<ParsedRows, FileError> {
        parse(text.as_bytes(), BatchFormat::Csv)
    }

    fn only_error(rows: &ParsedRows) -> &RowError {
        let errors: Vec<&RowError> = rows.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(errors.len(), 1, "{rows:?}");
        errors[0]
    }

    #[test]
    fn a_csv_row_becomes_the_refund_body_with_metadata_options_and_its_own_key() {
        let rows = csv("payment_id,amount,currency,metadata.order,provider_options,idempotency_key\n\
                        pay_1,12.99,EUR,A-1,\"{\"\"efundpay\"\": {\"\"payment_method\"\": \"\"promptpay\"\"}}\",k1\n\
                        pay_2,,JPY,,,\n")
        .expect("file");
        let first = rows[0].as_ref().expect("row 1");
        assert_eq!(first.row, 1);
        assert_eq!(first.body["amount"], "12.99");
        assert_eq!(first.body["metadata"]["order"], "A-1");
        assert_eq!(
            first.body["provider_options"]["efundpay"]["payment_method"],
            "promptpay"
        );
        assert_eq!(
            first.idempotency_key.as_ref().map(IdempotencyKey::as_str),
            Some("k1")
        );
        let second = rows[1].as_ref().expect("row 2");
        assert!(
            !second.body.contains_key("amount"),
            "an empty cell is an absent field"
        );
        assert!(!second.body.contains_key("metadata"));
        assert_eq!(second.idempotency_key, None);
    }

    #[test]
    fn a_cell_that_starts_like_a_formula_is_refused_naming_its_row_and_column() {
        for cell in ["=HYPERLINK(\"x\")", "+1", "-1", "@SUM(A1)", "\tx"] {
            let text = format!("payment_id,currency,reason\npay_1,EUR,ok\npay_2,EUR,\"{cell}\"\n");
            let rows = csv(&text).expect("file");
            let error = only_error(&rows);
            assert_eq!(
                (error.row, error.column.as_deref()),
                (2, Some("reason")),
                "{cell:?}"
            );
            assert_eq!(error.code, "parameter_invalid");
            assert!(
                error.message.contains("row 2, column `reason`"),
                "{}",
                error.message
            );
        }
        let rows = parse(
            b"{\"payment_id\": \"=1\", \"currency\": \"EUR\"}\n",
            BatchFormat::Ndjson,
        )
        .expect("file");
        assert_eq!(only_error(&rows).column.as_deref(), Some("payment_id"));
    }

    #[test]
    fn an_amount_with_more_decimals_than_its_currency_has_is_amount_invalid_on_amount() {
        let rows =
            csv("payment_id,amount,currency\npay_1,10.5,JPY\npay_2,1.001,EUR\npay_3,1.001,KWD\n")
                .expect("file");
        let errors: Vec<&RowError> = rows.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(errors.len(), 2, "{rows:?}");
        for (error, row) in errors.iter().zip([1, 2]) {
            assert_eq!(
                (error.row, error.code, error.column.as_deref()),
                (row, "amount_invalid", Some("amount"))
            );
        }
        assert!(rows[2].is_ok(), "KWD has three decimals");
    }

    #[test]
    fn a_second_row_with_an_idempotency_key_or_reference_already_used_in_the_file_is_refused() {
        let rows =
            csv("payment_id,currency,idempotency_key\npay_1,EUR,k\npay_2,EUR,k\n").expect("file");
        let error = only_error(&rows);
        assert_eq!(
            (error.row, error.column.as_deref()),
            (2, Some("idempotency_key"))
        );
        assert!(error.message.contains("row 1"), "{}", error.message);
        let rows = parse(
            b"{\"payment_id\":\"p1\",\"currency\":\"EUR\",\"reference\":\"r\"}\n{\"payment_id\":\"p2\",\"currency\":\"EUR\",\"reference\":\"r\"}\n",
            BatchFormat::Ndjson,
        )
        .expect("file");
        assert_eq!(only_error(&rows).column.as_deref(), Some("reference"));
    }

    #[test]
    fn a_file_of_more_than_ten_thousand_rows_is_refused_at_row_10001() {
        let mut text = String::from("payment_id,currency\n");
        for n in 0..MAX_ROWS {
            text.push_str(&format!("pay_{n},EUR\n"));
        }
        assert_eq!(csv(&text).expect("10,000 rows").len(), MAX_ROWS);
        text.push_str("pay_last,EUR\n");
        assert_eq!(csv(&text), Err(FileError::TooManyRows { row: 10_001 }));
        let lines: String = (0..=MAX_ROWS)
            .map(|n| format!("{{\"payment_id\":\"p{n}\",\"currency\":\"EUR\"}}\n"))
            .collect();
        assert_eq!(
            parse(lines.as_bytes(), BatchFormat::Ndjson),
            Err(FileError::TooManyRows { row: 10_001 })
        );
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused_at_the_row_of_its_first_bad_byte() {
        let mut bytes = b"payment_id,currency,reason\npay_1,EUR,ok\npay_2,EUR,caf".to_vec();
        bytes.push(0xE9); // Latin-1 é
        bytes.extend_from_slice(b"\n");
        let error = parse(&bytes, BatchFormat::Csv).expect_err("not UTF-8");
        assert!(
            matches!(error, FileError::NotUtf8 { row: 2, .. }),
            "{error:?}"
        );
        assert_eq!(error.row(), Some(2));
    }

    #[test]
    fn a_header_without_payment_id_or_with_an_unknown_or_repeated_column_is_refused() {
        assert_eq!(
            csv("amount,currency\n1.00,EUR\n"),
            Err(FileError::NoPaymentId)
        );
        assert_eq!(FileError::NoPaymentId.column(), Some("payment_id"));
        assert_eq!(
            csv("payment_id,currency,colour\np,EUR,red\n"),
            Err(FileError::UnknownColumn {
                column: "colour".into()
            })
        );
        assert_eq!(
            csv("payment_id,currency,currency\np,EUR,EUR\n"),
            Err(FileError::RepeatedColumn {
                column: "currency".into()
            })
        );
        assert_eq!(csv("payment_id,currency\n"), Err(FileError::Empty));
        assert!(matches!(
            csv("payment_id,currency\np,EUR,extra\n"),
            Err(FileError::Unreadable { row: 1, .. })
        ));
    }

    #[test]
    fn every_check_of_a_single_refund_applies_to_a_row() {
        let rows = parse(
            b"{\"payment_id\":\"p1\",\"currency\":\"XXX\"}\n\n{\"payment_id\":\"p2\"}\n{\"payment_id\":\"p3\",\"currency\":\"EUR\",\"colour\":\"red\"}\n[1]\n",
            BatchFormat::Ndjson,
        )
        .expect("file");
        let errors: Vec<(usize, &str, Option<&str>)> = rows
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| (e.row, e.code, e.column.as_deref()))
            .collect();
        assert_eq!(
            errors,
            vec![
                (1, "currency_unsupported", Some("currency")),
                (3, "parameter_missing", Some("currency")),
                (4, "body_invalid", Some("colour")),
                (5, "body_invalid", None),
            ],
            "blank line 2 is skipped and numbering keeps the file's lines"
        );
    }
}
