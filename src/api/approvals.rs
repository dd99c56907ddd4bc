//! `POST /v1/refunds/{id}/approve` and `/reject` (DESIGN §19): an operator decides a refund
//! that an approval rule holds. Merchants get `403 operator_only`; a refund not awaiting
//! approval is `409 not_awaiting_approval`. The body of approve is optional (`{"note"}`);
//! reject needs `{"reason"}`. Both are written with their audit entry (`engine/approval.rs`).

use axum::extract::Path;
use axum::Json;
use serde_json::{Map, Value};

use super::error::{ApiError, ErrorCode};
use super::extract::{Caller, JsonObject, OperatorAuth};
use super::refunds::visible_refund;
use crate::domain::refund_object::RefundObject;
use crate::state::AppState;

/// A free-text field of 1-255 characters without control characters; `None` when absent.
fn text(
    body: &Map<String, Value>,
    name: &str,
    allowed: &[&str],
) -> Result<Option<String>, ApiError> {
    if let Some(unknown) = body.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(
            ApiError::new(ErrorCode::BodyInvalid, format!("unknown field `{unknown}`"))
                .with_param(unknown.clone()),
        );
    }
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text))
            if !text.trim().is_empty()
                && text.chars().count() <= 255
                && !text.chars().any(char::is_control) =>
        {
            Ok(Some(text.clone()))
        }
        Some(Value::String(_)) => Err(ApiError::new(
            ErrorCode::ParameterInvalid,
            format!("`{name}` must be 1-255 characters without control characters"),
        )
        .with_param(name)),
        Some(_) => Err(
            ApiError::new(ErrorCode::BodyInvalid, format!("`{name}` must be a string"))
                .with_param(name),
        ),
    }
}

/// Approve a refund awaiting approval: it is sent at once (operators only).
#[utoipa::path(post, path = "/v1/refunds/{id}/approve", tag = "operators")]
pub(crate) async fn approve_refund(
    state: AppState,
    OperatorAuth(operator): OperatorAuth,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> Result<Json<RefundObject>, ApiError> {
    // The body is optional: none at all, or a JSON object with an optional `note`.
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, super::BODY_LIMIT)
        .await
        .map_err(|_| ApiError::from_status(axum::http::StatusCode::PAYLOAD_TOO_LARGE))?;
    let note = if bytes.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
        let JsonObject(body) =
            <JsonObject as axum::extract::FromRequest<()>>::from_request(request, &()).await?;
        text(&body, "note", &["note"])?
    };
    let refund = visible_refund(&state, &Caller::Operator(operator.clone()), &id).await?;
    let approved = state.engine.approve(&refund.id, &operator.id, note).await?;
    Ok(Json(RefundObject::from(&approved)))
}

/// Reject a refund awaiting approval: `canceled`, `rejected_by_operator` (operators only).
#[utoipa::path(post, path = "/v1/refunds/{id}/reject", tag = "operators")]
pub(crate) async fn reject_refund(
    state: AppState,
    OperatorAuth(operator): OperatorAuth,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<RefundObject>, ApiError> {
    let reason = text(&body, "reason", &["reason"])?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::ParameterMissing,
            "`reason` is required: it is kept in the refund's history and the audit log",
        )
        .with_param("reason")
    })?;
    let refund = visible_refund(&state, &Caller::Operator(operator.clone()), &id).await?;
    let rejected = state
        .engine
        .reject(&refund.id, &operator.id, reason)
        .await?;
    Ok(Json(RefundObject::from(&rejected)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn a_reason_or_note_is_short_printable_text_and_nothing_else_is_accepted() {
        let ok = text(&body(json!({"reason": "duplicate"})), "reason", &["reason"]);
        assert_eq!(ok.ok().flatten().as_deref(), Some("duplicate"));
        for (input, code) in [
            (json!({"reason": " "}), ErrorCode::ParameterInvalid),
            (json!({"reason": "a\u{7}"}), ErrorCode::ParameterInvalid),
            (
                json!({"reason": "x".repeat(256)}),
                ErrorCode::ParameterInvalid,
            ),
            (json!({"reason": 3}), ErrorCode::BodyInvalid),
            (
                json!({"reason": "x", "amount": "1"}),
                ErrorCode::BodyInvalid,
            ),
        ] {
            let error = text(&body(input.clone()), "reason", &["reason"])
                .err()
                .unwrap_or_else(|| panic!("accepted {input}"));
            assert_eq!(error.code, code, "{input}");
        }
    }
}
