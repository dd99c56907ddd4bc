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
//!
//! One table per area, where a reader looks for it: `refunds`, `batches`, `operators`
//! (approvals, resolve, the audit log), `finance` (payments, export, reconciliation),
//! `webhooks` and `health`; `parts` holds the formats they are written with. This file
//! assembles them and holds the error answers every operation refers to.

mod batches;
mod finance;
mod health;
mod operators;
mod parts;
mod refunds;
mod webhooks;

use serde_json::{json, Map, Value};

use parts::{schema_ref, Operation, Security};

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

/// Every area's table of operations, each answering for its own `(method, path)`s.
const AREAS: [fn(&str, &str) -> Option<Operation>; 6] = [
    refunds::operation,
    batches::operation,
    operators::operation,
    finance::operation,
    webhooks::operation,
    health::operation,
];

/// Every area's component schemas.
const SCHEMAS: [fn() -> Value; 5] = [
    refunds::schemas,
    batches::schemas,
    operators::schemas,
    finance::schemas,
    webhooks::schemas,
];

/// `(method, path)` → the operation's parameters, body, answers and security; `None` for an
/// operation no table knows (a test fails on it).
pub(crate) fn operation(method: &str, path_template: &str) -> Option<Value> {
    let Operation {
        parameters,
        body,
        ok,
        errors,
        security,
    } = AREAS.iter().find_map(|area| area(method, path_template))?;
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
    let security = match security {
        Security::Bearer => json!([{"bearer": []}]),
        Security::Open => json!([]),
    };
    operation.insert("security".into(), security);
    Some(Value::Object(operation))
}

/// The component schemas the operations refer to (besides the generated `RefundObject`).
pub(crate) fn schemas() -> Value {
    let mut all = Map::new();
    for area in SCHEMAS {
        if let Value::Object(schemas) = area() {
            all.extend(schemas);
        }
    }
    all.insert("Error".into(), error_schema());
    Value::Object(all)
}

/// The error body every error answer carries (DESIGN §5).
fn error_schema() -> Value {
    json!({
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["type", "code", "message", "request_id"],
        "properties": {
            "type": {"type": "string", "enum": ["invalid_request", "authentication", "not_found", "conflict", "permission", "rate_limited", "unavailable", "api_error"]},
            "code": {"type": "string", "examples": ["amount_invalid"]},
            "message": {"type": "string"},
            "param": {"type": "string", "description": "The request field or parameter at fault"},
            "request_id": {"type": "string", "description": "Also in the x-request-id header"},
        }}}})
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
    fn every_documented_error_status_is_one_the_error_table_answers() {
        for (status, _, description) in ERROR_ANSWERS {
            let codes: Vec<_> = ErrorCode::ALL
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
