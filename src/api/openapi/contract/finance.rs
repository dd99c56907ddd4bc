//! The contract of the finance routes: what was refunded of a payment, the export, the
//! reconciliation summary and a provider statement's import with its variance report.

use serde_json::{json, Value};

use super::parts::{
    answer, date_time, merchant_query, path, printable, providers, query, schema_ref, Operation,
    Security,
};

/// The finance routes, by `(method, path)`.
pub(super) fn operation(method: &str, path_template: &str) -> Option<Operation> {
    let operation = match (method, path_template) {
        ("get", "/v1/payments/{payment_id}/refunds") => Operation {
            parameters: vec![
                path(
                    "payment_id",
                    printable(128),
                    "The provider's id of the original payment",
                ),
                merchant_query(),
            ],
            body: None,
            ok: json!({"200": answer("Every refund of the payment, with totals, what was refunded and what is left", "application/json", json!({"type": "object"}))}),
            errors: &[400, 401, 403, 408, 429, 503],
            security: Security::Bearer,
        },
        ("get", "/v1/refunds/export") => Operation {
            parameters: vec![
                query("from", date_time("RFC 3339"), "Created at or after"),
                query(
                    "to",
                    date_time("RFC 3339"),
                    "Created before (an empty period when not after `from`)",
                ),
                query(
                    "format",
                    json!({"type": "string", "enum": ["csv", "jsonl"], "default": "csv"}),
                    "csv (spreadsheet-safe cells) or jsonl (one refund object per line)",
                ),
                merchant_query(),
            ],
            body: None,
            ok: json!({"200": {"description": "Refunds created in the period, newest first, streamed",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            }}}),
            errors: &[400, 401, 403, 408, 429, 503],
            security: Security::Bearer,
        },
        ("get", "/v1/reconciliation/summary") => Operation {
            parameters: vec![
                query("from", date_time("RFC 3339"), "Refunds created at or after"),
                query(
                    "to",
                    date_time("RFC 3339"),
                    "Refunds created before (default: now; an empty period when not after `from`)",
                ),
                merchant_query(),
            ],
            body: None,
            ok: json!({"200": answer("Totals by provider, currency and status; clearing balances; flagged, ageing and possibly duplicated refunds", "application/json", json!({"type": "object"}))}),
            errors: &[400, 401, 403, 408, 429, 503],
            security: Security::Bearer,
        },
        ("post", "/v1/reconciliation/statements/{provider}") => Operation {
            parameters: vec![
                path(
                    "provider",
                    providers(),
                    "The provider whose statement this is",
                ),
                query(
                    "from",
                    date_time("RFC 3339"),
                    "Start of the period checked for missing_in_statement",
                ),
                query(
                    "to",
                    date_time("RFC 3339"),
                    "End of that period (an empty period when not after `from`)",
                ),
                query(
                    "missing_offset",
                    json!({"type": "integer", "minimum": 0, "default": 0}),
                    "How many missing_in_statement variances to skip before listing (paging: the previous page's offset + listed)",
                ),
                query(
                    "missing_limit",
                    json!({"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000}),
                    "At most this many missing_in_statement variances are listed; all are counted in by_kind",
                ),
                merchant_query(),
            ],
            body: Some(json!({"required": true,
                    "description": "The provider's statement as it sends it, read in that provider's configured format (`[statements.<provider>]`: column names, minor or major units, its status words, time format and zone, delimiter, UTF-8 or GBK, rows before the header, batch and fee columns). Without a format: a header row naming provider_refund_id,provider_reference,amount,currency,status,settled_at (any order), then one refund per line; amounts in major units, statuses in the gateway's words, settled_at RFC 3339 or empty. A file that is not UTF-8 (GBK) is sent as application/octet-stream. A malformed line is reported with its number, never skipped.",
                    "content": {
                        "text/csv": {"schema": {"type": "string",
                            "examples": ["provider_refund_id,provider_reference,amount,currency,status,settled_at\nre_1,rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e,12.99,EUR,succeeded,2026-11-23T10:00:00Z\n"]}},
                        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}})),
            ok: json!({"200": answer("The variance report (and, for an operator, the settlement)", "application/json", schema_ref("ReconciliationReport"))}),
            errors: &[400, 401, 403, 408, 413, 429, 503],
            security: Security::Bearer,
        },
        _ => return None,
    };
    Some(operation)
}

/// The variance report a statement import answers.
pub(super) fn schemas() -> Value {
    let count_and_amounts = json!({
        "type": "object", "required": ["count", "amounts"],
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "amounts": {"type": "array", "items": {"type": "object", "required": ["currency", "amount"],
                "properties": {"currency": {"type": "string"}, "amount": {"type": "string"}}}}}});
    let kinds = [
        "missing_in_gateway",
        "missing_in_statement",
        "amount_mismatch",
        "status_mismatch",
        "currency_mismatch",
        "batch_mismatch",
    ];
    let by_kind: serde_json::Map<String, Value> = kinds
        .iter()
        .map(|kind| ((*kind).to_owned(), count_and_amounts.clone()))
        .collect();
    let member = json!({
        "type": "object", "required": ["line"], "properties": {
            "line": {"type": "integer", "minimum": 1},
            "refund_id": {"type": "string"},
            "provider_refund_id": {"type": "string"},
            "expected": {"type": "string"},
            "actual": {"type": "string"}}});
    let variance = json!({
        "type": "object", "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "enum": kinds},
            "refund_id": {"type": "string"},
            "provider_refund_id": {"type": "string"},
            "expected": {"type": "string", "description": "The gateway's value (for batch_mismatch: its members' sum)"},
            "actual": {"type": "string", "description": "The statement's value (for batch_mismatch: the batch's total)"},
            "currency": {"type": "string"},
            "line": {"type": "integer", "minimum": 1},
            "batch": {"type": "string"},
            "members": {"type": "array", "description": "batch_mismatch: every member line of the batch", "items": member}}});
    let settlement = json!({"type": ["object", "null"], "description": "null for a merchant's import (it only reports)",
        "required": ["settled", "already_settled", "fees_posted"], "properties": {
            "settled": {"type": "integer", "minimum": 0},
            "already_settled": {"type": "integer", "minimum": 0},
            "fees_posted": {"type": "integer", "minimum": 0}}});
    let report = json!({
        "type": "object",
        "required": ["object", "provider", "period", "lines", "matched", "by_kind", "batches", "fees",
            "malformed_count", "settlement", "variances", "malformed", "missing_in_statement_page"],
        "properties": {
            "object": {"type": "string", "enum": ["reconciliation_report"]},
            "provider": {"type": "string"},
            "period": {"type": ["object", "null"], "required": ["from", "to"],
                "description": "Where missing_in_statement was looked for: ?from=&to=, else the whole UTC days the settled_at values span; null: not checked",
                "properties": {"from": {"type": "string", "format": "date-time"}, "to": {"type": "string", "format": "date-time"}}},
            "lines": {"type": "integer", "minimum": 0, "description": "Data lines read, malformed ones and batch total lines included"},
            "matched": count_and_amounts,
            "by_kind": {"type": "object", "required": kinds, "properties": by_kind},
            "batches": {"type": "object", "required": ["count", "matched"], "properties": {
                "count": {"type": "integer", "minimum": 0}, "matched": {"type": "integer", "minimum": 0}}},
            "fees": count_and_amounts,
            "malformed_count": {"type": "integer", "minimum": 0},
            "settlement": settlement,
            "variances": {"type": "array", "items": variance,
                "description": "Every variance of the statement's lines and batches, and one page of the missing_in_statement ones (missing_in_statement_page)"},
            "malformed": {"type": "array", "items": {"type": "object", "required": ["line", "message"],
                "properties": {"line": {"type": "integer", "minimum": 0}, "message": {"type": "string"}}}},
            "missing_in_statement_page": {"type": "object", "required": ["offset", "limit", "listed", "has_more"],
                "description": "Which missing_in_statement variances `variances` lists: a period may hold any number, so an answer lists at most `limit` after the first `offset`; ask again with missing_offset = offset + listed while has_more (re-importing settles nothing twice)",
                "properties": {
                    "offset": {"type": "integer", "minimum": 0},
                    "limit": {"type": "integer", "minimum": 1},
                    "listed": {"type": "integer", "minimum": 0},
                    "has_more": {"type": "boolean"}}}}});
    json!({ "ReconciliationReport": report })
}
