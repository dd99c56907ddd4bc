//! The contract of bulk refunds (DESIGN §19): a CSV or NDJSON file of refunds, its progress
//! and its results row by row.

use serde_json::{json, Value};

use super::parts::{answer, path, query, schema_ref, Operation, Security};

/// The batch routes, by `(method, path)`.
pub(super) fn operation(method: &str, path_template: &str) -> Option<Operation> {
    let operation = match (method, path_template) {
        ("post", "/v1/refund_batches") => Operation {
            parameters: vec![
                json!({"name": "Idempotency-Key", "in": "header", "required": false,
                    "schema": {"type": "string", "pattern": "^[!-~]([ -~]{0,253}[!-~])?$"},
                    "description": "The same file with the same key answers the same batch (200, Idempotent-Replayed: true); another file with it is 422 idempotency_key_reused"}),
                query("skip_invalid", json!({"type": "string", "enum": ["true", "false"]}), "Create the valid rows and record the invalid ones as failed, instead of refusing the file"),
                query("dry_run", json!({"type": "string", "enum": ["true", "false"]}), "Answer what each row would do (provider, amount, or its error) and create nothing"),
            ],
            body: Some(json!({"required": true, "description": "At most 10,000 rows and 8 MiB. CSV: a header row of refund fields (payment_id required), metadata.<key> columns, provider_options as a JSON cell, an optional idempotency_key; NDJSON: one POST /v1/refunds body a line, with an optional idempotency_key",
                "content": {"text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}})),
            ok: json!({
                "202": answer("The batch, created; its rows become refunds in the background", "application/json", schema_ref("RefundBatch")),
                "200": {"description": "A dry run's preview (object refund_batch_preview, one entry per row), or an idempotent replay of the batch (header Idempotent-Replayed: true)",
                        "content": {"application/json": {"schema": {"type": "object"}}}},
            }),
            errors: &[400, 401, 403, 408, 413, 422, 429, 503],
            security: Security::Bearer,
        },
        ("get", "/v1/refund_batches/{id}") => Operation {
            parameters: vec![path("id", json!({"type": "string", "examples": ["rb_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e"]}), "Batch id")],
            body: None,
            ok: json!({"200": answer("The batch's progress", "application/json", schema_ref("RefundBatch"))}),
            errors: &[401, 404, 408, 429, 503],
            security: Security::Bearer,
        },
        ("get", "/v1/refund_batches/{id}/results") => Operation {
            parameters: vec![
                path("id", json!({"type": "string", "examples": ["rb_0192f5e4c1b87a3e9d5c2f1a0b3c4d5e"]}), "Batch id"),
                query("format", json!({"type": "string", "enum": ["csv", "jsonl"]}), "csv (default) or jsonl"),
            ],
            body: None,
            ok: json!({"200": {"description": "One line per row in row order: row, refund_id, status (the refund's now; failed_row for a row that made none), error_code, error_param, error_message",
                "content": {"text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}}}),
            errors: &[400, 401, 404, 408, 429, 503],
            security: Security::Bearer,
        },
        _ => return None,
    };
    Some(operation)
}

/// A batch as its routes answer it.
pub(super) fn schemas() -> Value {
    json!({
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
    })
}
