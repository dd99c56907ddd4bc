//! The contract of the refund routes a merchant uses: create, list, read one and its
//! history, cancel; with the request body of a create and the lists they answer.

use serde_json::{json, Value};

use super::parts::{
    amount, answer, currency, date_time, json_body, limit_query, merchant_query, not_a_dot_segment,
    nullable, printable, provider_options, providers, query, refund_id_path, schema_ref, text,
    Operation, Security,
};
use crate::domain::RefundStatus;

/// The refund routes, by `(method, path)`.
pub(super) fn operation(method: &str, path_template: &str) -> Option<Operation> {
    let operation = match (method, path_template) {
        ("post", "/v1/refunds") => Operation {
            parameters: vec![
                json!({"name": "Idempotency-Key", "in": "header", "required": false,
                    "schema": {"type": "string", "pattern": "^[!-~]([ -~]{0,253}[!-~])?$"},
                    "description": "1-255 printable ASCII; a retry with the same key and body replays the first answer, never refunds twice"}),
            ],
            body: Some(json_body("CreateRefundRequest", "The refund to make")),
            ok: json!({
                "201": answer("A new refund, whatever its status (a provider's refusal is a failed refund)", "application/json", schema_ref("RefundObject")),
                "200": {"description": "An idempotent replay (header Idempotent-Replayed: true)",
                        "headers": {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}}},
                        "content": {"application/json": {"schema": schema_ref("RefundObject")}}},
            }),
            errors: &[400, 401, 403, 404, 408, 409, 413, 422, 429, 503],
            security: Security::Bearer,
        },
        ("get", "/v1/refunds") => Operation {
            parameters: vec![
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
            body: None,
            ok: json!({"200": answer("Refunds, newest first", "application/json", schema_ref("RefundList"))}),
            errors: &[400, 401, 403, 408, 429, 503],
            security: Security::Bearer,
        },
        ("get", "/v1/refunds/{id}") => Operation {
            parameters: vec![refund_id_path()],
            body: None,
            ok: json!({"200": answer("The refund", "application/json", schema_ref("RefundObject"))}),
            errors: &[401, 404, 408, 429, 503],
            security: Security::Bearer,
        },
        ("get", "/v1/refunds/{id}/events") => Operation {
            parameters: vec![
                refund_id_path(),
                limit_query(100),
                query(
                    "starting_after",
                    json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX}),
                    "Cursor: the last event id of the previous page",
                ),
            ],
            body: None,
            ok: json!({"200": answer("A page of the refund's history, oldest first", "application/json", schema_ref("EventList"))}),
            errors: &[400, 401, 404, 408, 429, 503],
            security: Security::Bearer,
        },
        ("post", "/v1/refunds/{id}/cancel") => Operation {
            parameters: vec![refund_id_path()],
            body: None,
            ok: json!({"200": answer("The refund, now canceled (failure_code canceled_by_merchant; its amount is refundable again)", "application/json", schema_ref("RefundObject"))}),
            errors: &[401, 403, 404, 408, 409, 429, 503],
            security: Security::Bearer,
        },
        _ => return None,
    };
    Some(operation)
}

/// The refund routes' own schemas (the refund itself, `RefundObject`, is generated).
pub(super) fn schemas() -> Value {
    json!({
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
                "provider_options": provider_options(),
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
    })
}
