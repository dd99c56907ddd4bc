//! Statement formats per provider (`[statements.<provider>]`): how a provider's settlement
//! file names its columns, counts money, words its statuses, writes its times and encodes
//! its text, read into a [`StatementFormat`] the statement reader follows. A provider without
//! a section uses [`StatementFormat::default`], the gateway's own six-column CSV (DESIGN §10).
//!
//! Every problem is reported with its key path (`statements.ebuy.columns.amount`), and a
//! format never guesses: a status word it does not list, a currency it was not told, an
//! amount with more digits than the unit allows are refused line by line by the reader.

use std::collections::BTreeMap;

use serde::Deserialize;
use time::format_description::OwnedFormatItem;
use time::UtcOffset;

use refund_provider::{BuildContext, ConfigProblem, Currency};

use super::rules::section;
use crate::domain::RefundStatus;

mod columns;

pub use columns::{Columns, RawColumns};

/// `[statements.<provider>]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStatementFormat {
    /// The field separator, one ASCII character (`"\t"` for tabs); default `,`.
    pub(crate) delimiter: Option<String>,
    /// `utf-8` (default; a byte-order mark is skipped) or `gbk` (Chinese providers' files).
    pub(crate) encoding: Option<String>,
    /// Rows before the header row (titles, the merchant number, the file date); default 0.
    pub(crate) skip_rows: Option<u64>,
    /// Lines starting with this ASCII character are notes, not data (totals footers).
    pub(crate) comment: Option<String>,
    /// `major` (default: "12.99") or `minor` (integer counts of minor units: 1299, fen, cents).
    pub(crate) amount_unit: Option<String>,
    /// `positive` (default) or `negative`: refunds written as negative amounts ("-12.99").
    pub(crate) amount_sign: Option<String>,
    /// The one currency of a file without a currency column (e-Buy's CNY).
    pub(crate) currency: Option<String>,
    /// `upper` (default, "EUR") or `lower` ("eur"): how the file writes currency codes.
    pub(crate) currency_case: Option<String>,
    /// How `settled_at` is written: `rfc3339` (default), `unix` (seconds), `unix_ms`, or a
    /// `time` format description such as `"[year]-[month]-[day] [hour]:[minute]:[second]"`.
    pub(crate) settled_at_format: Option<String>,
    /// The UTC offset of times written without one (`"+08:00"`); default `UTC`.
    pub(crate) timezone: Option<String>,
    /// How far (in minor units) a batch's total may be from its member refunds' sum and
    /// still match; default 0.
    pub(crate) batch_tolerance_minor: Option<i64>,
    /// The file's column name for each field (defaults: the gateway's own names).
    #[serde(default)]
    pub(crate) columns: RawColumns,
    /// The provider's status words and the gateway status each means; absent: the file uses
    /// the gateway's words. A word not listed is a malformed line.
    pub(crate) status: Option<BTreeMap<String, String>>,
}

/// The character encoding of a statement file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatementEncoding {
    Utf8,
    Gbk,
}

/// Whether amounts are major units ("12.99") or integer minor units (1299).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AmountUnit {
    Major,
    Minor,
}

/// How `settled_at` is written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TimeFormat {
    Rfc3339,
    UnixSeconds,
    UnixMillis,
    /// A `time` format description; times without an offset take the format's timezone.
    Pattern(OwnedFormatItem),
}

/// A validated statement format.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementFormat {
    /// The field separator.
    pub(crate) delimiter: u8,
    /// The file's character encoding.
    pub(crate) encoding: StatementEncoding,
    /// Rows before the header row.
    pub(crate) skip_rows: u64,
    /// Lines starting with this byte are notes, not data.
    pub(crate) comment: Option<u8>,
    /// Major units ("12.99") or integer minor units (1299).
    pub(crate) amount_unit: AmountUnit,
    /// Refunds are written as negative amounts.
    pub(crate) negative_amounts: bool,
    /// The one currency of a file without a currency column.
    pub(crate) currency: Option<Currency>,
    /// Currency codes are written in lower case.
    pub(crate) lowercase_currency: bool,
    /// How `settled_at` is written.
    pub(crate) settled_at: TimeFormat,
    /// The offset of times written without one.
    pub(crate) timezone: UtcOffset,
    /// How far (minor units) a batch's total may be from its refunds' sum and still match.
    pub(crate) batch_tolerance_minor: i64,
    /// The file's header name per field.
    pub columns: Columns,
    /// Provider words → gateway statuses; `None`: the gateway's own words.
    pub(crate) statuses: Option<BTreeMap<String, RefundStatus>>,
}

impl Default for StatementFormat {
    /// The gateway's own statement (DESIGN §10): six named columns, major units, the
    /// gateway's statuses, RFC 3339 times, UTF-8 CSV.
    fn default() -> Self {
        Self {
            delimiter: b',',
            encoding: StatementEncoding::Utf8,
            skip_rows: 0,
            comment: None,
            amount_unit: AmountUnit::Major,
            negative_amounts: false,
            currency: None,
            lowercase_currency: false,
            settled_at: TimeFormat::Rfc3339,
            timezone: UtcOffset::UTC,
            batch_tolerance_minor: 0,
            columns: Columns {
                provider_refund_id: Some("provider_refund_id".into()),
                provider_reference: Some("provider_reference".into()),
                amount: "amount".into(),
                currency: Some("currency".into()),
                status: Some("status".into()),
                settled_at: Some("settled_at".into()),
                batch: None,
                fee: None,
            },
            statuses: None,
        }
    }
}

/// Most rows a format may skip before its header.
const MAX_SKIP_ROWS: u64 = 100;

/// Parses a UTC offset written `UTC`, `Z`, `+08:00` or `-05:30`.
pub(crate) fn parse_offset(text: &str) -> Option<UtcOffset> {
    if matches!(text, "UTC" | "Z" | "+00:00") {
        return Some(UtcOffset::UTC);
    }
    let sign = match text.as_bytes().first() {
        Some(b'+') => 1i8,
        Some(b'-') => -1i8,
        _ => return None,
    };
    let (hours, minutes) = text.get(1..)?.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: i8 = hours.parse().ok()?;
    let minutes: i8 = minutes.parse().ok()?;
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
}

fn one_ascii(text: &str) -> Option<u8> {
    match text.as_bytes() {
        [byte] if byte.is_ascii() && *byte != b'\n' && *byte != b'\r' && *byte != b'"' => {
            Some(*byte)
        }
        _ => None,
    }
}

impl RawStatementFormat {
    /// Validates the section of `provider`, pushing every problem with its key path.
    pub(crate) fn validate(
        self,
        provider: &str,
        problems: &mut Vec<ConfigProblem>,
    ) -> Option<StatementFormat> {
        let before = problems.len();
        let ctx = section(format!("statements.{provider}"));
        let mut format = StatementFormat::default();
        self.read_layout(&ctx, problems, &mut format);
        self.read_amounts(&ctx, problems, &mut format);
        self.read_times(&ctx, problems, &mut format);
        format.columns = self
            .columns
            .validate(&ctx, format.currency.is_some(), problems);
        if let Some(words) = self.status {
            format.statuses = Some(status_words(
                &ctx,
                words,
                format.columns.status.is_some(),
                problems,
                before,
            ));
        }
        (problems.len() == before).then_some(format)
    }

    /// How the file is laid out: delimiter, encoding, rows before the header, comments.
    fn read_layout(
        &self,
        ctx: &BuildContext,
        problems: &mut Vec<ConfigProblem>,
        format: &mut StatementFormat,
    ) {
        if let Some(text) = &self.delimiter {
            match one_ascii(text) {
                Some(byte) => format.delimiter = byte,
                None => problems.push(ConfigProblem::new(
                    ctx.key("delimiter"),
                    "expected one ASCII character other than a quote or a line break (\"\\t\" for tabs)",
                )),
            }
        }
        match self
            .encoding
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("utf-8" | "utf8") => {}
            Some("gbk" | "gb2312" | "gb18030") => format.encoding = StatementEncoding::Gbk,
            Some(other) => problems.push(ConfigProblem::new(
                ctx.key("encoding"),
                format!("`{other}` is not supported: utf-8 or gbk"),
            )),
        }
        if let Some(rows) = self.skip_rows {
            if rows > MAX_SKIP_ROWS {
                problems.push(ConfigProblem::new(
                    ctx.key("skip_rows"),
                    format!("must be at most {MAX_SKIP_ROWS}"),
                ));
            }
            format.skip_rows = rows.min(MAX_SKIP_ROWS);
        }
        if let Some(text) = &self.comment {
            match one_ascii(text) {
                Some(byte) if byte != format.delimiter => format.comment = Some(byte),
                _ => problems.push(ConfigProblem::new(
                    ctx.key("comment"),
                    "expected one ASCII character, not the delimiter",
                )),
            }
        }
    }

    /// How money is written: unit, sign, the file's one currency and its case.
    fn read_amounts(
        &self,
        ctx: &BuildContext,
        problems: &mut Vec<ConfigProblem>,
        format: &mut StatementFormat,
    ) {
        match self.amount_unit.as_deref() {
            None | Some("major") => {}
            Some("minor") => format.amount_unit = AmountUnit::Minor,
            Some(other) => problems.push(ConfigProblem::new(
                ctx.key("amount_unit"),
                format!("`{other}` is neither major nor minor"),
            )),
        }
        match self.amount_sign.as_deref() {
            None | Some("positive") => {}
            Some("negative") => format.negative_amounts = true,
            Some(other) => problems.push(ConfigProblem::new(
                ctx.key("amount_sign"),
                format!("`{other}` is neither positive nor negative"),
            )),
        }
        if let Some(code) = &self.currency {
            match Currency::parse(code) {
                Ok(currency) => format.currency = Some(currency),
                Err(e) => problems.push(ConfigProblem::new(ctx.key("currency"), e.to_string())),
            }
        }
        match self.currency_case.as_deref() {
            None | Some("upper") => {}
            Some("lower") => format.lowercase_currency = true,
            Some(other) => problems.push(ConfigProblem::new(
                ctx.key("currency_case"),
                format!("`{other}` is neither upper nor lower"),
            )),
        }
    }

    /// How `settled_at` is written and in which zone, and the batch tolerance.
    fn read_times(
        &self,
        ctx: &BuildContext,
        problems: &mut Vec<ConfigProblem>,
        format: &mut StatementFormat,
    ) {
        match self.settled_at_format.as_deref() {
            None | Some("rfc3339") => {}
            Some("unix") => format.settled_at = TimeFormat::UnixSeconds,
            Some("unix_ms") => format.settled_at = TimeFormat::UnixMillis,
            Some(pattern) => match time::format_description::parse_owned::<2>(pattern) {
                Ok(items) => format.settled_at = TimeFormat::Pattern(items),
                Err(e) => problems.push(ConfigProblem::new(
                    ctx.key("settled_at_format"),
                    format!("not rfc3339, unix, unix_ms or a time format description: {e}"),
                )),
            },
        }
        if let Some(zone) = &self.timezone {
            match parse_offset(zone) {
                Some(offset) => format.timezone = offset,
                None => problems.push(ConfigProblem::new(
                    ctx.key("timezone"),
                    format!("`{zone}` is not UTC or an offset such as +08:00"),
                )),
            }
        }
        if let Some(tolerance) = self.batch_tolerance_minor {
            if tolerance < 0 {
                problems.push(ConfigProblem::new(
                    ctx.key("batch_tolerance_minor"),
                    "must not be negative",
                ));
            }
            format.batch_tolerance_minor = tolerance.max(0);
        }
    }
}

/// The provider's status words → gateway statuses (`[statements.<provider>.status]`).
/// `before` is the problem count when the section's check began: an empty list is refused
/// only when nothing else was (a list whose every word was refused is not also "empty").
fn status_words(
    ctx: &BuildContext,
    words: BTreeMap<String, String>,
    has_status_column: bool,
    problems: &mut Vec<ConfigProblem>,
    before: usize,
) -> BTreeMap<String, RefundStatus> {
    let mut statuses = BTreeMap::new();
    for (word, ours) in words {
        match RefundStatus::parse(&ours) {
            Some(status) => {
                statuses.insert(word, status);
            }
            None => problems.push(ConfigProblem::new(
                ctx.key(&format!("status.{word}")),
                format!("`{ours}` is not one of pending, processing, succeeded, failed, canceled"),
            )),
        }
    }
    if statuses.is_empty() && problems.len() == before {
        problems.push(ConfigProblem::new(
            ctx.key("status"),
            "lists no status word: leave it out to use the gateway's words",
        ));
    }
    if !has_status_column {
        problems.push(ConfigProblem::new(
            ctx.key("status"),
            "status words are given but no status column is named",
        ));
    }
    statuses
}

impl StatementFormat {
    /// The gateway status a status cell means, or why it is refused.
    pub(crate) fn status(&self, word: &str) -> Result<RefundStatus, String> {
        match &self.statuses {
            None => RefundStatus::parse(word).ok_or_else(|| {
                format!("status `{word}` is not one of pending, processing, succeeded, failed, canceled")
            }),
            Some(words) => words.get(word).copied().ok_or_else(|| {
                let known: Vec<&str> = words.keys().map(String::as_str).collect();
                format!(
                    "status `{word}` is not one of the format's words ({})",
                    known.join(", ")
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(text: &str) -> Result<StatementFormat, Vec<ConfigProblem>> {
        let raw: RawStatementFormat = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
        let mut problems = Vec::new();
        raw.validate("efundpay", &mut problems).ok_or(problems)
    }

    #[test]
    fn an_empty_section_is_the_gateways_own_six_column_csv() {
        assert_eq!(validate(""), Ok(StatementFormat::default()));
    }

    #[test]
    fn a_native_format_is_read_with_its_columns_units_words_and_zone() {
        let format = validate(
            r##"
            delimiter = ";"
            encoding = "gbk"
            skip_rows = 2
            comment = "#"
            amount_unit = "minor"
            currency = "CNY"
            settled_at_format = "[year]-[month]-[day] [hour]:[minute]:[second]"
            timezone = "+08:00"
            batch_tolerance_minor = 2
            [columns]
            provider_reference = "退款单号"
            amount = "退款金额(分)"
            status = "退款状态"
            settled_at = "结算时间"
            batch = "结算批次"
            fee = "手续费(分)"
            [status]
            "退款成功" = "succeeded"
            "退款失败" = "failed"
            "##,
        )
        .unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(format.delimiter, b';');
        assert_eq!(format.encoding, StatementEncoding::Gbk);
        assert_eq!(format.amount_unit, AmountUnit::Minor);
        assert_eq!(
            format.timezone,
            UtcOffset::from_hms(8, 0, 0).ok().unwrap_or(UtcOffset::UTC)
        );
        assert_eq!(format.columns.provider_refund_id, None, "not named: absent");
        assert_eq!(format.columns.currency, None);
        assert_eq!(format.status("退款成功"), Ok(RefundStatus::Succeeded));
        assert!(
            format.status("SUCCESS").is_err(),
            "an unlisted word is refused"
        );
        assert_eq!(format.batch_tolerance_minor, 2);
    }

    #[test]
    fn every_problem_of_a_format_is_reported_with_its_key_path() {
        let problems = validate(
            r#"
            delimiter = "||"
            encoding = "latin1"
            amount_unit = "cents"
            amount_sign = "minus"
            currency = "eur"
            currency_case = "title"
            settled_at_format = "[yeer]"
            timezone = "Asia/Shanghai"
            batch_tolerance_minor = -1
            skip_rows = 1000
            [columns]
            amount = "value"
            fee = "value"
            [status]
            DONE = "completed"
            "#,
        )
        .expect_err("invalid");
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        for expected in [
            "statements.efundpay.delimiter",
            "statements.efundpay.encoding",
            "statements.efundpay.amount_unit",
            "statements.efundpay.amount_sign",
            "statements.efundpay.currency",
            "statements.efundpay.currency_case",
            "statements.efundpay.settled_at_format",
            "statements.efundpay.timezone",
            "statements.efundpay.batch_tolerance_minor",
            "statements.efundpay.skip_rows",
            "statements.efundpay.columns",
            "statements.efundpay.columns.currency",
            "statements.efundpay.columns.fee",
            "statements.efundpay.status.DONE",
            "statements.efundpay.status",
        ] {
            assert!(keys.contains(&expected), "{expected} missing from {keys:?}");
        }
    }

    #[test]
    fn offsets_are_read_exactly_and_names_are_refused() {
        assert_eq!(parse_offset("UTC"), Some(UtcOffset::UTC));
        assert_eq!(
            parse_offset("-05:30").map(|o| o.whole_minutes()),
            Some(-330)
        );
        assert_eq!(parse_offset("+8"), None);
        assert_eq!(parse_offset("Asia/Shanghai"), None);
    }
}
