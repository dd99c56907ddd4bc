//! The contract of what operators do and read: approve or reject a refund held for
//! approval, resolve a stuck one, see who a key is, the provider accounts' breakers and the
//! audit log.

use serde_json::{json, Value};

use super::parts::{
    amount, answer, date_time, json_body, limit_query, not_a_dot_segment, nullable, printable,
    query, refund_id_path, schema_ref, text, Operation, Security,
};
use crate::domain::AuditKind;

/// The operators' routes (and `/v1/me`, which any key may ask), by `(method, path)`.
pub(super) fn operation(method: &str, path_template: &str) -> Option<Operation> {
    let operation = match (method, path_template) {
        ("post", "/v1/refunds/{id}/resolve") => Operation {
            parameters: vec![refund_id_path()],
            body: Some(json_body(
                "ResolveRequest",
                "The final status an operator settles a stuck refund with",
            )),
            ok: json!({"200": answer("The refund, now final", "application/json", schema_ref("RefundObject"))}),
            errors: &[400, 401, 403, 404, 408, 409, 413, 429, 503],
            security: Security::Bearer,
        },
        ("post", "/v1/refunds/{id}/approve") => Operation {
            parameters: vec![refund_id_path()],
            body: Some(
                json!({"required": false, "description": "An optional note, kept in the refund's history and the audit log",
                "content": {"application/json": {"schema": schema_ref("ApproveRequest")}}}),
            ),
            ok: json!({"200": answer("The refund, approved and sent at once as a new refund would be (or queued while its provider account's breaker is open)", "application/json", schema_ref("RefundObject"))}),
            errors: &[400, 401, 403, 404, 408, 409, 413, 429, 503],
            security: Security::Bearer,
        },
        ("post", "/v1/refunds/{id}/reject") => Operation {
            parameters: vec![refund_id_path()],
            body: Some(json_body("RejectRequest", "Why the refund is rejected")),
            ok: json!({"200": answer("The refund, now canceled (failure_code rejected_by_operator; never sent, its amount is refundable again)", "application/json", schema_ref("RefundObject"))}),
            errors: &[400, 401, 403, 404, 408, 409, 413, 429, 503],
            security: Security::Bearer,
        },
        ("get", "/v1/provider_accounts") => Operation {
            parameters: vec![],
            body: None,
            ok: json!({"200": answer("Each provider account's circuit breaker (as this process sees it) and its queue of refunds never sent", "application/json", json!({"type": "object", "required": ["object", "data"], "properties": {"object": {"const": "list"}, "data": {"type": "array", "items": schema_ref("ProviderAccount")}}}))}),
            errors: &[401, 408, 429],
            security: Security::Bearer,
        },
        ("get", "/v1/me") => Operation {
            parameters: vec![],
            body: None,
            ok: json!({"200": answer("Who the key belongs to", "application/json", schema_ref("Principal"))}),
            errors: &[401, 408, 429],
            security: Security::Bearer,
        },
        ("get", "/v1/audit_events") => Operation {
            parameters: vec![
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
            body: None,
            ok: json!({"200": answer("The audit log, newest first (operators only)", "application/json", schema_ref("AuditEventList"))}),
            errors: &[400, 401, 403, 408, 429, 503],
            security: Security::Bearer,
        },
        _ => return None,
    };
    Some(operation)
}

/// The request bodies of the operators' actions, the principal and the audit log's entries.
pub(super) fn schemas() -> Value {
    json!({
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
    })
}
