//! What each operation of `/openapi.json` takes and answers, written once here: its
//! parameters with their real formats (RFC 3339 date-times, `limit` 1-100, the status enum,
//! ISO 4217 currencies, merchant ids), its request body field by field, and every answer,
//! errors included, with the error schema (DESIGN §5).
//!
//! The handlers parse requests by hand (so every refusal carries our error code), so this is
//! the one place where the document could drift from the code. Two guards: the tests below
//! tie every annotated handler to an entry here and every error status to `ErrorCode`'s
//! table, and `ci/schemathesis.sh` runs schemathesis (`--checks all`) against `serve`: any
//! schema-valid request the code refuses, any schema-invalid one it accepts, any answer or
//! status the document does not describe, fails CI.
//!
//! Patterns are written for both ECMA-262 and Python's `re` (what schemathesis uses):
//! character classes and counts, no look-around, no `\p{…}`.

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use refund_provider::Currency;

use crate::domain::{AuditKind, RefundStatus};
use crate::providers::PLUGINS;

/// 1-N printable ASCII characters (space to tilde), what `is_printable_ascii` admits.
fn printable(max: u32) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": format!("^[ -~]{{1,{max}}}$")})
}

/// `schema` that refuses `.` and `..` (ids a provider's URL path carries, DESIGN §16).
fn not_a_dot_segment(mut schema: Value) -> Value {
    if let Some(map) = schema.as_object_mut() {
        map.insert("not".into(), json!({"enum": [".", ".."]}));
    }
    schema
}

/// Like [`printable`], or `null` (optional body fields take `null` as absent).
fn nullable(mut schema: Value) -> Value {
    if let Some(map) = schema.as_object_mut() {
        if let Some(kind) = map.get("type").cloned() {
            map.insert("type".into(), json!([kind, "null"]));
        }
        if let Some(values) = map.get_mut("enum").and_then(Value::as_array_mut) {
            values.push(Value::Null);
        }
    }
    schema
}

/// Every ISO 4217 code `Currency::parse` admits (active, with an exponent), computed from
/// the same table rather than listed by hand.
pub(crate) fn currency_codes() -> &'static [&'static str] {
    static CODES: OnceLock<Vec<&'static str>> = OnceLock::new();
    CODES.get_or_init(|| {
        let letters = b'A'..=b'Z';
        let mut codes = Vec::new();
        for a in letters.clone() {
            for b in letters.clone() {
                for c in letters.clone() {
                    let code = [a, b, c];
                    let text = std::str::from_utf8(&code).unwrap_or_default();
                    if let Ok(currency) = Currency::parse(text) {
                        codes.push(currency.code());
                    }
                }
            }
        }
        codes
    })
}

fn currency() -> Value {
    json!({"type": "string", "enum": currency_codes(),
           "description": "An active ISO 4217 code, upper case"})
}

/// A decimal string in major units: no sign, no exponent, at most 12 integer digits and at
/// most the currency's exponent of decimals (none for JPY, 2 for EUR, 3 for KWD), not zero.
fn amount(what: &str) -> Value {
    json!({"type": ["string", "null"], "pattern": "^[0-9]{1,12}(\\.[0-9]{1,3})?$",
           "description": format!("{what}: a decimal string in major units such as \"12.99\", with at most the currency's exponent of decimals (0 for JPY, 2 for EUR, 3 for KWD), never zero; JSON numbers are refused"),
           "examples": ["12.99"]})
}

/// Text without control characters, `min`-`max` characters.
fn text(min: u32, max: u32) -> Value {
    json!({"type": "string", "minLength": min, "maxLength": max,
           "pattern": "^[^\\u0000-\\u001F\\u007F-\\u009F]*$"})
}

fn date_time(description: &str) -> Value {
    json!({"type": "string", "format": "date-time", "description": description,
           "examples": ["2026-11-23T10:00:00Z"]})
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description})
}

fn path(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": schema, "description": description})
}

fn merchant_query() -> Value {
    query(
        "merchant",
        json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}),
        "Operators: only this merchant's data. A merchant key may name only itself (another merchant is 403 operator_only).",
    )
}

fn limit_query(default: u32) -> Value {
    query(
        "limit",
        json!({"type": "integer", "minimum": 1, "maximum": 100, "default": default}),
        &format!("Items per page, 1-100 (default {default})"),
    )
}

/// Every provider the gateway knows (the registry's plugins).
fn providers() -> Value {
    let ids: Vec<&str> = PLUGINS.iter().map(|plugin| plugin.id()).collect();
    json!({"type": "string", "enum": ids})
}

/// `provider_options`: each provider's own schema, from its plugin.
fn provider_options() -> Value {
    let properties: Map<String, Value> = PLUGINS
        .iter()
        .map(|plugin| (plugin.id().to_owned(), plugin.options_schema()))
        .collect();
    json!({
        "type": ["object", "null"],
        "description": "Options per provider, keyed by provider id; only those of the provider the refund goes to are used, but every provider's are checked (a mistake in any is 400 parameter_invalid at its path, and so is a key that names no provider)",
        "properties": properties,
        "additionalProperties": false,
    })
}

fn refund_id_path() -> Value {
    path(
        "id",
        json!({"type": "string", "examples": ["rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e"]}),
        "Refund id (rf_ and 32 lowercase hex digits); anything else is 404 refund_not_found",
    )
}

fn json_body(schema_name: &str, description: &str) -> Value {
    json!({"required": true, "description": description,
           "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema_name}")}}}})
}

fn answer(description: &str, content_type: &str, schema: Value) -> Value {
    json!({"description": description, "content": {content_type: {"schema": schema}}})
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The reusable error answers, by status: (component name, description).
pub(crate) const ERROR_ANSWERS: [(u16, &str, &str); 10] = [
    (400, "BadRequest", "invalid_request: batch_invalid (a refund batch file with an invalid row: error.rows lists the first 100 with row, column, code and message), parameter_missing, parameter_invalid, amount_invalid, currency_unsupported, provider_unsupported, coupon_partial_refund, body_invalid (malformed JSON, wrong types, unknown field, wrong Content-Type), amount_exceeds_refundable, payment_amount_mismatch, currency_mismatch, webhook_invalid"),
    (401, "Unauthorized", "authentication: api_key_missing, api_key_invalid, api_key_expired"),
    (403, "Forbidden", "permission: operator_only (a merchant key on an operator action or naming another merchant), merchant_only (an operator key creating a refund)"),
    (404, "NotFound", "not_found: refund_not_found, payment_not_found, route_not_found"),
    (408, "RequestTimeout", "unavailable: request_timeout (the request took longer than server.request_timeout_ms; a provider call carries on and is recorded)"),
    (409, "Conflict", "conflict: idempotency_in_progress, reference_in_use, refund_final, refund_sent (a cancel of a refund that was already sent), not_awaiting_approval (an approve or reject of a refund no approval rule holds, or one already decided)"),
    (413, "PayloadTooLarge", "invalid_request: body_too_large (JSON bodies over 64 KiB, statements over 8 MiB)"),
    (422, "UnprocessableEntity", "invalid_request: idempotency_key_reused, no_route"),
    (429, "TooManyRequests", "rate_limited: over server.rate_limit_per_second for this API key, or too many failed authentications from this address; retry after Retry-After seconds"),
    (503, "Unavailable", "unavailable: store_unavailable"),
];

/// `(method, path)` → the operation's parameters, body, answers and security; `None` for an
/// operation this table does not know (a test fails on it).
pub(crate) fn operation(method: &str, path_template: &str) -> Option<Value> {
    let bearer = json!([{"bearer": []}]);
    let open = json!([]);
    let (parameters, body, ok, errors, security): (
        Vec<Value>,
        Option<Value>,
        Value,
        &[u16],
        Value,
    ) = match (method, path_template) {
        ("post", "/v1/refunds") => (
            vec![
                json!({"name": "Idempotency-Key", "in": "header", "required": false,
                    "schema": {"type": "string", "pattern": "^[!-~]([ -~]{0,253}[!-~])?$"},
                    "description": "1-255 printable ASCII; a retry with the same key and body replays the first answer, never refunds twice"}),
            ],
            Some(json_body("CreateRefundRequest", "The refund to make")),
            json!({
                "201": answer("A new refund, whatever its status (a provider's refusal is a failed refund)", "application/json", schema_ref("RefundObject")),
                "200": {"description": "An idempotent replay (header Idempotent-Replayed: true)",
                        "headers": {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}}},
                        "content": {"application/json": {"schema": schema_ref("RefundObject")}}},
            }),
            &[400, 401, 403, 404, 408, 409, 413, 422, 429, 503],
            bearer,
        ),
        ("get", "/v1/refunds") => (
            vec![
                merchant_query(),
                query(
                    "provider",
                    json!({"type": "string"}),
                    "Only this provider's refunds",
                ),
                query(
                    "status",
                    json!({"type": "string", "enum": RefundStatus::ALL.map(RefundStatus::as_str)}),
                    "Only refunds in this status",
                ),
                query("currency", currency(), "Only refunds in this currency"),
                query("created_gte", date_time("RFC 3339"), "Created at or after"),
                query("created_lt", date_time("RFC 3339"), "Created before"),
                query(
                    "payment_id",
                    printable(128),
                    "Only the refunds of this payment (the provider's payment id)",
                ),
                query(
                    "reference",
                    printable(64),
                    "Only the refund with this merchant reference",
                ),
                query(
                    "pending_reason",
                    json!({"type": "string", "enum": ["provider_unavailable", "awaiting_approval"]}),
                    "Only pending refunds unsent for this reason (awaiting_approval: the approval queue)",
                ),
                limit_query(10),
                query(
                    "starting_after",
                    json!({"type": "string", "pattern": "^rf_[0-9a-f]{32}$"}),
                    "Cursor: the last refund id of the previous page",
                ),
            ],
            None,
            json!({"200": answer("Refunds, newest first", "application/json", schema_ref("RefundList"))}),
            &[400, 401, 403, 408, 429, 503],
            bearer,
        ),
        ("get", "/v1/refunds/export") => (
            vec![
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
            None,
            json!({"200": {"description": "Refunds created in the period, newest first, streamed",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            }}}),
            &[400, 401, 403, 408, 429, 503],
            bearer,
        ),
        ("get", "/v1/refunds/{id}") => (
            vec![refund_id_path()],
            None,
            json!({"200": answer("The refund", "application/json", schema_ref("RefundObject"))}),
            &[401, 404, 408, 429, 503],
            bearer,
        ),
        ("get", "/v1/refunds/{id}/events") => (
            vec![
                refund_id_path(),
                limit_query(100),
                query(
                    "starting_after",
                    json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX}),
                    "Cursor: the last event id of the previous page",
                ),
            ],
            None,
            json!({"200": answer("A page of the refund's history, oldest first", "application/json", schema_ref("EventList"))}),
            &[400, 401, 404, 408, 429, 503],
            bearer,
        ),
        ("post", "/v1/refunds/{id}/resolve") => (
            vec![refund_id_path()],
            Some(json_body(
                "ResolveRequest",
                "The final status an operator settles a stuck refund with",
            )),
            json!({"200": answer("The refund, now final", "application/json", schema_ref("RefundObject"))}),
            &[400, 401, 403, 404, 408, 409, 413, 429, 503],
            bearer,
        ),
        ("post", "/v1/refund_batches") => (
            vec![
                json!({"name": "Idempotency-Key", "in": "header", "required": false,
                    "schema": {"type": "string", "pattern": "^[!-~]([ -~]{0,253}[!-~])?$"},
                    "description": "The same file with the same key answers the same batch (200, Idempotent-Replayed: true); another file with it is 422 idempotency_key_reused"}),
                query("skip_invalid", json!({"type": "string", "enum": ["true", "false"]}), "Create the valid rows and record the invalid ones as failed, instead of refusing the file"),
                query("dry_run", json!({"type": "string", "enum": ["true", "false"]}), "Answer what each row would do (provider, amount, or its error) and create nothing"),
            ],
            Some(json!({"required": true, "description": "At most 10,000 rows and 8 MiB. CSV: a header row of refund fields (payment_id required), metadata.<key> columns, provider_options as a JSON cell, an optional idempotency_key; NDJSON: one POST /v1/refunds body a line, with an optional idempotency_key",
                "content": {"text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}})),
            json!({
                "202": answer("The batch, created; its rows become refunds in the background", "application/json", schema_ref("RefundBatch")),
                "200": {"description": "A dry run's preview (object refund_batch_preview, one entry per row), or an idempotent replay of the batch (header Idempotent-Replayed: true)",
                        "content": {"application/json": {"schema": {"type": "object"}}}},
            }),
            &[400, 401, 403, 408, 413, 422, 429, 503],
            bearer,
        ),
        ("get", "/v1/refund_batches/{id}") => (
            vec![path("id", json!({"type": "string", "examples": ["rb_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e"]}), "Batch id")],
            None,
            json!({"200": answer("The batch's progress", "application/json", schema_ref("RefundBatch"))}),
            &[401, 404, 408, 429, 503],
            bearer,
        ),
        ("get", "/v1/refund_batches/{id}/results") => (
            vec![
                path("id", json!({"type": "string", "examples": ["rb_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e"]}), "Batch id"),
                query("format", json!({"type": "string", "enum": ["csv", "jsonl"]}), "csv (default) or jsonl"),
            ],
            None,
            json!({"200": {"description": "One line per row in row order: row, refund_id, status (the refund's now; failed_row for a row that made none), error_code, error_param, error_message",
                "content": {"text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}}}),
            &[400, 401, 404, 408, 429, 503],
            bearer,
        ),
        ("post", "/v1/refunds/{id}/approve") => (
            vec![refund_id_path()],
            Some(json!({"required": false, "description": "An optional note, kept in the refund's history and the audit log",
                "content": {"application/json": {"schema": schema_ref("ApproveRequest")}}})),
            json!({"200": answer("The refund, approved and sent at once as a new refund would be (or queued while its provider account's breaker is open)", "application/json", schema_ref("RefundObject"))}),
            &[400, 401, 403, 404, 408, 409, 413, 429, 503],
            bearer,
        ),
        ("post", "/v1/refunds/{id}/reject") => (
            vec![refund_id_path()],
            Some(json_body("RejectRequest", "Why the refund is rejected")),
            json!({"200": answer("The refund, now canceled (failure_code rejected_by_operator; never sent, its amount is refundable again)", "application/json", schema_ref("RefundObject"))}),
            &[400, 401, 403, 404, 408, 409, 413, 429, 503],
            bearer,
        ),
        ("post", "/v1/refunds/{id}/cancel") => (
            vec![refund_id_path()],
            None,
            json!({"200": answer("The refund, now canceled (failure_code canceled_by_merchant; its amount is refundable again)", "application/json", schema_ref("RefundObject"))}),
            &[401, 403, 404, 408, 409, 429, 503],
            bearer,
        ),
        ("get", "/v1/provider_accounts") => (
            vec![],
            None,
            json!({"200": answer("Each provider account's circuit breaker (as this process sees it) and its queue of refunds never sent", "application/json", json!({"type": "object", "required": ["object", "data"], "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": schema_ref("ProviderAccount")}}}))}),
            &[401, 408, 429],
            bearer,
        ),
        ("get", "/v1/me") => (
            vec![],
            None,
            json!({"200": answer("Who the key belongs to", "application/json", schema_ref("Principal"))}),
            &[401, 408, 429],
            bearer,
        ),
        ("get", "/v1/audit_events") => (
            vec![
                query(
                    "actor",
                    json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}),
                    "Only this actor's entries (an operator id, `signal` or `cli`)",
                ),
                query(
                    "kind",
                    json!({"type": "string", "enum": AuditKind::ALL.map(AuditKind::as_str)}),
                    "Only entries of this kind",
                ),
                query("created_gte", date_time("RFC 3339"), "Created at or after"),
                query("created_lt", date_time("RFC 3339"), "Created before"),
                limit_query(10),
                query(
                    "starting_after",
                    json!({"type": "string", "pattern": "^ae_[0-9a-f]{32}$"}),
                    "Cursor: the last entry id of the previous page",
                ),
            ],
            None,
            json!({"200": answer("The audit log, newest first (operators only)", "application/json", schema_ref("AuditEventList"))}),
            &[400, 401, 403, 408, 429, 503],
            bearer,
        ),
        ("post", "/v1/webhooks/{provider}") | ("post", "/v1/webhooks/{provider}/{merchant_id}") => {
            let mut parameters = vec![path(
                "provider",
                providers(),
                "The provider sending the webhook",
            )];
            if path_template.ends_with("{merchant_id}") {
                parameters.push(path(
                    "merchant_id",
                    json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}),
                    "The merchant whose own provider account the webhook is for",
                ));
            }
            (
                parameters,
                Some(json!({"required": true,
                        "description": "The provider's own webhook body, verified by its signature (eFundPay: header eFundPay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>); anything not provably genuine is 400 webhook_invalid; verified events beyond server.webhook_rate_limit_per_second per provider account are 429 (retry after Retry-After)",
                        "content": {"application/json": {"schema": {"type": "object"}}}})),
                json!({"200": answer("Received (applied once; a repeated event is acknowledged; an event for a refund this gateway does not know is acknowledged with refund null and stores nothing)", "application/json", schema_ref("WebhookReceipt"))}),
                &[400, 404, 408, 413, 429, 503],
                open,
            )
        }
        ("get", "/v1/reconciliation/summary") => (
            vec![
                query("from", date_time("RFC 3339"), "Refunds created at or after"),
                query(
                    "to",
                    date_time("RFC 3339"),
                    "Refunds created before (default: now; an empty period when not after `from`)",
                ),
                merchant_query(),
            ],
            None,
            json!({"200": answer("Totals by provider, currency and status; clearing balances; flagged, ageing and possibly duplicated refunds", "application/json", json!({"type": "object"}))}),
            &[400, 401, 403, 408, 429, 503],
            bearer,
        ),
        ("post", "/v1/reconciliation/statements/{provider}") => (
            vec![
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
            Some(json!({"required": true,
                    "description": "The provider's statement as it sends it, read in that provider's configured format (`[statements.<provider>]`: column names, minor or major units, its status words, time format and zone, delimiter, UTF-8 or GBK, rows before the header, batch and fee columns). Without a format: a header row naming provider_refund_id,provider_reference,amount,currency,status,settled_at (any order), then one refund per line; amounts in major units, statuses in the gateway's words, settled_at RFC 3339 or empty. A file that is not UTF-8 (GBK) is sent as application/octet-stream. A malformed line is reported with its number, never skipped.",
                    "content": {
                        "text/csv": {"schema": {"type": "string",
                            "examples": ["provider_refund_id,provider_reference,amount,currency,status,settled_at\nre_1,rf_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e,12.99,EUR,succeeded,2026-11-23T10:00:00Z\n"]}},
                        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}})),
            json!({"200": answer("The variance report (and, for an operator, the settlement)", "application/json", schema_ref("ReconciliationReport"))}),
            &[400, 401, 403, 408, 413, 429, 503],
            bearer,
        ),
        ("get", "/v1/payments/{payment_id}/refunds") => (
            vec![
                path(
                    "payment_id",
                    printable(128),
                    "The provider's id of the original payment",
                ),
                merchant_query(),
            ],
            None,
            json!({"200": answer("Every refund of the payment, with totals, what was refunded and what is left", "application/json", json!({"type": "object"}))}),
            &[400, 401, 403, 408, 429, 503],
            bearer,
        ),
        ("get", "/healthz") => (
            vec![],
            None,
            json!({"200": answer("The process is up", "application/json", json!({"type": "object"}))}),
            &[408, 429],
            open,
        ),
        ("get", "/readyz") => (
            vec![],
            None,
            json!({"200": answer("The store answers", "application/json", json!({"type": "object"}))}),
            &[408, 429, 503],
            open,
        ),
        ("get", "/metrics") => (
            vec![],
            None,
            json!({"200": answer("Prometheus text exposition (labels from closed sets only)", "text/plain", json!({"type": "string"}))}),
            &[408, 429],
            open,
        ),
        _ => return None,
    };
    let mut responses = ok.as_object().cloned().unwrap_or_default();
    for status in errors {
        if let Some((_, name, _)) = ERROR_ANSWERS.iter().find(|(s, _, _)| s == status) {
            responses.insert(
                status.to_string(),
                json!({"$ref": format!("#/components/responses/{name}")}),
            );
        }
    }
    let mut operation = Map::new();
    operation.insert("parameters".into(), Value::Array(parameters));
    if let Some(body) = body {
        operation.insert("requestBody".into(), body);
    }
    operation.insert("responses".into(), Value::Object(responses));
    operation.insert("security".into(), security);
    Some(Value::Object(operation))
}

/// The component schemas the operations refer to (besides the generated `RefundObject`).
pub(crate) fn schemas() -> Value {
    let options = provider_options();
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
    json!({
        "ReconciliationReport": report,
        "Error": {
            "type": "object", "required": ["error"],
            "properties": {"error": {
                "type": "object", "required": ["type", "code", "message", "request_id"],
                "properties": {
                    "type": {"type": "string", "enum": ["invalid_request", "authentication", "not_found", "conflict", "permission", "rate_limited", "unavailable", "api_error"]},
                    "code": {"type": "string", "examples": ["amount_invalid"]},
                    "message": {"type": "string"},
                    "param": {"type": "string", "description": "The request field or parameter at fault"},
                    "request_id": {"type": "string", "description": "Also in the x-request-id header"},
                }}}},
        "CreateRefundRequest": {
            "type": "object", "additionalProperties": false, "required": ["payment_id", "currency"],
            "properties": {
                "payment_id": {
                    "type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[ -~]{1,128}$",
                    "not": {"enum": [".", ".."]},
                    "description": "The provider's id of the original payment (AuthMS transaction_id, e-Buy outTradeNo (at most 32), eFundPay transaction id, Stripe PaymentIntent pi_… or charge id); not `.` or `..` (a provider's URL path carries it)"},
                "amount": amount("Omitted or null: a full refund (of what is left, when the payment amount is known), where the provider supports it; eFundPay needs one"),
                "payment_amount": amount("The payment's captured amount, same currency; the first value given is kept"),
                "currency": currency(),
                "reason": nullable(text(1, 255)),
                "provider": nullable(providers()),
                "reference": nullable(printable(64)),
                "customer_id": not_a_dot_segment(nullable(printable(128))),
                "metadata": {"type": ["object", "null"], "maxProperties": 20,
                    "propertyNames": {"minLength": 1, "maxLength": 40},
                    "additionalProperties": {"type": "string", "maxLength": 500},
                    "description": "At most 20 string pairs; keys 1-40 characters, values at most 500"},
                "provider_options": options,
            }},
        "RefundBatch": {
            "type": "object", "required": ["id", "object", "status", "total", "created", "failed_rows", "counts"],
            "properties": {
                "id": {"type": "string", "examples": ["rb_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e"]},
                "object": {"const": "refund_batch"},
                "merchant_id": {"type": "string"},
                "status": {"type": "string", "enum": ["running", "completed"]},
                "total": {"type": "integer", "description": "Rows in the file"},
                "created": {"type": "integer", "description": "Rows that became a refund"},
                "failed_rows": {"type": "integer", "description": "Rows refused (at validation with skip_invalid, or when created)"},
                "counts": {"type": "object", "additionalProperties": {"type": "integer"}, "description": "The batch's refunds by their status now"},
                "created_at": {"type": "string", "format": "date-time"},
                "completed_at": {"type": ["string", "null"], "format": "date-time"},
            }},
        "ApproveRequest": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "note": {"anyOf": [{"allOf": [text(1, 255), {"pattern": "[^ \\t\\n\\r]"}]}, {"type": "null"}],
                    "description": "Kept in the refund's history and the audit entry"},
            }},
        "RejectRequest": {
            "type": "object", "additionalProperties": false, "required": ["reason"],
            "properties": {
                "reason": {"allOf": [text(1, 255), {"pattern": "[^ \\t\\n\\r]"}],
                    "description": "Why; becomes the failure_message, kept in the history and the audit entry"},
            }},
        "ResolveRequest": {
            "type": "object", "additionalProperties": false, "required": ["status", "reason"],
            "properties": {
                "status": {"type": "string", "enum": ["succeeded", "failed"]},
                "reason": {"allOf": [text(1, 255), {"pattern": "[^ \\t\\n\\r]"}],
                    "description": "Why; kept in the refund's history"},
                "provider_refund_id": not_a_dot_segment(nullable(printable(255))),
                "amount": amount("Only for a refund whose amount the provider never told"),
            }},
        "RefundList": {
            "type": "object", "required": ["object", "data", "has_more"],
            "properties": {
                "object": {"type": "string", "enum": ["list"]},
                "data": {"type": "array", "items": schema_ref("RefundObject")},
                "has_more": {"type": "boolean"},
            }},
        "RefundEvent": {
            "type": "object", "required": ["object", "id", "kind", "source", "created_at"],
            "properties": {
                "object": {"type": "string", "enum": ["refund_event"]},
                "id": {"type": "integer", "format": "int64"},
                "kind": {"type": "string", "examples": ["status_changed"],
                    "description": "created, status_changed, provider_answer, provider_unknown, provider_not_found, resent, ignored, requires_attention, …"},
                "status": {"type": ["string", "null"]},
                "previous_status": {"type": ["string", "null"]},
                "source": {"type": "string"},
                "detail": {"description": "What happened. A `requires_attention` event's `detail.reason` says why the refund was flagged (DESIGN §16): `provider_has_no_record` (its status query still finds nothing after the grace period and the provider's \"not found\" proves nothing: it stays pending, is never sent again, and waits for a late record or an operator's resolve), `amount_mismatch` (a success or processing report without the amount asked, with zero, another amount or currency, or asset lines that do not add up: nothing moved; `detail.problem`, `asked`, `reported`), `exceeds_refundable` (an amount learnt from the provider beyond what was refundable: booked as reported), `answer_contradicts_request` (an answer about this refund that contradicts the request, e.g. an AuthMS transfer between other wallets: nothing moved), `contradicts_final_status` (a final refund reported otherwise), `sync_gave_up` (still open after `sync.give_up_after_hours`)."},
                "created_at": {"type": "string", "format": "date-time"},
            }},
        "EventList": {
            "type": "object", "required": ["object", "data", "has_more"],
            "properties": {
                "object": {"type": "string", "enum": ["list"]},
                "data": {"type": "array", "items": schema_ref("RefundEvent")},
                "has_more": {"type": "boolean"},
            }},
        "Principal": {
            "type": "object", "required": ["object", "role", "id", "merchants"],
            "properties": {
                "object": {"type": "string", "enum": ["principal"]},
                "role": {"type": "string", "enum": ["merchant", "operator"]},
                "id": {"type": "string"},
                "merchants": {"type": "array", "items": {"type": "string"}},
                "key_expires_at": {"type": ["string", "null"], "format": "date-time",
                    "description": "When the key presented stops being accepted (401 api_key_expired); null: never"},
            }},
        "AuditEvent": {
            "type": "object",
            "required": ["id", "object", "created_at", "actor", "kind", "target", "detail"],
            "properties": {
                "id": {"type": "string", "pattern": "^ae_[0-9a-f]{32}$"},
                "object": {"type": "string", "enum": ["audit_event"]},
                "created_at": {"type": "string", "format": "date-time"},
                "actor": {"type": "string", "description": "The operator's id, `signal` for a reload, `cli` for a settlement run from the command line"},
                "kind": {"type": "string", "enum": AuditKind::ALL.map(AuditKind::as_str)},
                "target": {"type": ["string", "null"], "description": "The refund, batch or statement id acted on; null for a reload"},
                "detail": {"type": "object", "description": "The reason or note given, counts, sections changed; never a secret"},
            }},
        "AuditEventList": {
            "type": "object", "required": ["object", "data", "has_more"],
            "properties": {
                "object": {"type": "string", "enum": ["list"]},
                "data": {"type": "array", "items": schema_ref("AuditEvent")},
                "has_more": {"type": "boolean"},
            }},
        "WebhookReceipt": {
            "type": "object", "required": ["received"],
            "properties": {"received": {"type": "boolean"}},
        },
    })
}

/// The reusable error answers, each with the error schema; 429 with its `Retry-After`.
pub(crate) fn responses() -> Value {
    let mut out = Map::new();
    for (status, name, description) in ERROR_ANSWERS {
        let mut answer = json!({"description": description,
            "content": {"application/json": {"schema": schema_ref("Error")}}});
        if status == 429 {
            answer["headers"] = json!({"Retry-After": {"required": true,
                "description": "Whole seconds to wait", "schema": {"type": "integer", "minimum": 1}}});
        }
        out.insert(name.to_owned(), answer);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::ErrorCode;

    #[test]
    fn the_currency_enum_is_what_the_money_parser_admits() {
        let codes = currency_codes();
        for code in ["EUR", "JPY", "KWD", "CNY", "THB", "CLP"] {
            assert!(codes.contains(&code), "{code}");
        }
        for refused in ["XAU", "XTS", "XXX"] {
            assert!(!codes.contains(&refused), "{refused}");
        }
        assert!(codes.len() > 140, "{}", codes.len());
    }

    #[test]
    fn every_documented_error_status_is_one_the_error_table_answers() {
        use ErrorCode::*;
        let all = [
            ParameterMissing,
            ParameterInvalid,
            AmountInvalid,
            CurrencyUnsupported,
            ProviderUnsupported,
            CouponPartialRefund,
            BodyInvalid,
            ApiKeyMissing,
            ApiKeyInvalid,
            ApiKeyExpired,
            RefundNotFound,
            RouteNotFound,
            MethodNotAllowed,
            IdempotencyInProgress,
            ReferenceInUse,
            RefundFinal,
            RefundSent,
            OperatorOnly,
            MerchantOnly,
            PaymentNotFound,
            AmountExceedsRefundable,
            PaymentAmountMismatch,
            CurrencyMismatch,
            BodyTooLarge,
            IdempotencyKeyReused,
            NoRoute,
            WebhookInvalid,
            RequestTimeout,
            RateLimited,
            StoreUnavailable,
            Internal,
        ];
        for (status, _, description) in ERROR_ANSWERS {
            let codes: Vec<_> = all
                .iter()
                .map(|c| c.describe())
                .filter(|(s, _, _)| s.as_u16() == status)
                .collect();
            assert!(!codes.is_empty(), "{status}");
            for (_, _, code) in codes {
                assert!(description.contains(code), "{status} does not name {code}");
            }
        }
    }
}
