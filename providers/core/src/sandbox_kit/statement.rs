//! What the simulators' `GET /_sandbox/statement?from=&to=` share: the period (RFC 3339,
//! both optional, `[from, to)` over the refunds' creation times) and CSV rows quoted where a
//! cell needs it (RFC 4180), so each simulator only says which columns its provider writes.

use std::collections::HashMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The refunds a statement covers: created in `[from, to)`; an open end is unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatementPeriod {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
}

impl StatementPeriod {
    /// Reads `from` and `to` (RFC 3339); any other parameter, or a bad time, is refused.
    pub fn parse(query: &HashMap<String, String>) -> Result<Self, String> {
        if let Some(other) = query.keys().find(|k| *k != "from" && *k != "to") {
            return Err(format!("unknown query parameter `{other}`"));
        }
        let time = |name: &str| {
            query
                .get(name)
                .map(|value| {
                    OffsetDateTime::parse(value, &Rfc3339)
                        .map_err(|_| format!("`{name}` must be an RFC 3339 time"))
                })
                .transpose()
        };
        Ok(Self {
            from: time("from")?,
            to: time("to")?,
        })
    }

    /// Whether a refund created at `at` is in the period.
    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.from.is_none_or(|from| at >= from) && self.to.is_none_or(|to| at < to)
    }

    /// Whether a refund created at `created` (RFC 3339, as the simulators record it) is in
    /// the period; an unreadable time is not.
    pub fn contains_text(&self, created: &str) -> bool {
        OffsetDateTime::parse(created, &Rfc3339).is_ok_and(|at| self.contains(at))
    }
}

/// One CSV row ending in `\n`; a cell holding the delimiter, a quote or a line break is
/// quoted, its quotes doubled.
pub fn csv_row(cells: &[&str], delimiter: char) -> String {
    let mut row = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            row.push(delimiter);
        }
        if cell.contains([delimiter, '"', '\n', '\r']) {
            row.push('"');
            row.push_str(&cell.replace('"', "\"\""));
            row.push('"');
        } else {
            row.push_str(cell);
        }
    }
    row.push('\n');
    row
}

/// The statement as a CSV download (`charset` names the body's encoding).
pub fn statement_response(body: Vec<u8>, charset: &str, file_name: &str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("text/csv; charset={charset}")) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// A refused statement request (a bad period), as plain text.
pub fn statement_refused(message: String) -> Response {
    (StatusCode::BAD_REQUEST, message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_only_when_they_need_it() {
        assert_eq!(
            csv_row(&["a", "b,c", "d\"e", ""], ','),
            "a,\"b,c\",\"d\"\"e\",\n"
        );
        assert_eq!(csv_row(&["a;b", "c"], ';'), "\"a;b\";c\n");
    }

    #[test]
    fn the_period_is_half_open_and_refuses_what_it_cannot_read() {
        let query = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let period = StatementPeriod::parse(&query(&[
            ("from", "2026-11-23T00:00:00Z"),
            ("to", "2026-11-24T00:00:00Z"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(period.contains_text("2026-11-23T00:00:00Z"));
        assert!(period.contains_text("2026-11-23T23:59:59.999Z"));
        assert!(!period.contains_text("2026-11-24T00:00:00Z"));
        assert!(!period.contains_text("not a time"));
        assert!(StatementPeriod::default().contains_text("1999-01-01T00:00:00Z"));
        assert!(StatementPeriod::parse(&query(&[("from", "yesterday")])).is_err());
        assert!(StatementPeriod::parse(&query(&[("day", "1")])).is_err());
    }
}
