//! What operators do beyond reading (DESIGN §14): `POST /v1/refunds/{id}/resolve`, and
//! `GET /v1/me`, which tells any caller who its key says it is (the console's sign-in).

use axum::extract::Path;
use axum::Json;
use serde_json::{json, Map, Value};

use refund_provider::{is_path_safe_id, Currency, Money, MoneyError, RefundId};

use super::error::{ApiError, ErrorCode};
use super::extract::{Caller, JsonObject, OperatorAuth, PresentedKey};
use super::refunds::visible_refund;
use crate::domain::refund_object::RefundObject;
use crate::domain::RefundStatus;
use crate::engine::ResolveCommand;
use crate::state::AppState;

const RESOLVE_FIELDS: [&str; 4] = ["status", "reason", "provider_refund_id", "amount"];

fn text_field<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(
            ApiError::new(ErrorCode::BodyInvalid, format!("`{name}` must be a string"))
                .with_param(name),
        ),
    }
}

/// Parses the resolve body; `currency` is the refund's (for `amount`).
fn parse_resolve(
    body: &Map<String, Value>,
    currency: Currency,
) -> Result<ResolveCommand, ApiError> {
    if let Some(unknown) = body.keys().find(|k| !RESOLVE_FIELDS.contains(&k.as_str())) {
        return Err(
            ApiError::new(ErrorCode::BodyInvalid, format!("unknown field `{unknown}`"))
                .with_param(unknown.clone()),
        );
    }
    let status = match text_field(body, "status")? {
        None => {
            return Err(
                ApiError::new(ErrorCode::ParameterMissing, "`status` is required")
                    .with_param("status"),
            )
        }
        Some("succeeded") => RefundStatus::Succeeded,
        Some("failed") => RefundStatus::Failed,
        Some(_) => {
            return Err(ApiError::new(
                ErrorCode::ParameterInvalid,
                "`status` must be succeeded or failed",
            )
            .with_param("status"))
        }
    };
    let reason = match text_field(body, "reason")? {
        None => {
            return Err(ApiError::new(
                ErrorCode::ParameterMissing,
                "`reason` is required: it is kept in the refund's history",
            )
            .with_param("reason"))
        }
        Some(text)
            if text.trim().is_empty()
                || text.chars().count() > 255
                || text.chars().any(char::is_control) =>
        {
            return Err(ApiError::new(
                ErrorCode::ParameterInvalid,
                "`reason` must be 1-255 characters without control characters",
            )
            .with_param("reason"))
        }
        Some(text) => text.to_owned(),
    };
    let provider_refund_id = match text_field(body, "provider_refund_id")? {
        None => None,
        Some(id) if id.is_empty() || id.len() > 255 || !is_path_safe_id(id) => {
            return Err(ApiError::new(
                ErrorCode::ParameterInvalid,
                "`provider_refund_id` must be 1-255 printable ASCII characters, and not `.` or `..`",
            )
            .with_param("provider_refund_id"))
        }
        Some(id) => Some(id.to_owned()),
    };
    let amount = match body.get("amount") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(Money::parse(text, currency).map_err(|e| {
            ApiError::new(ErrorCode::AmountInvalid, e.to_string()).with_param("amount")
        })?),
        Some(_) => {
            return Err(ApiError::new(
                ErrorCode::AmountInvalid,
                "`amount` must be a decimal string in major units, such as \"12.99\"",
            )
            .with_param("amount"))
        }
    };
    Ok(ResolveCommand {
        status,
        reason,
        provider_refund_id,
        amount,
    })
}

/// A stored refund whose currency this build does not know (a bug or a hand-edited row).
#[derive(Debug, thiserror::Error)]
#[error("stored refund {refund_id} has an unknown currency")]
struct UnknownStoredCurrency {
    refund_id: RefundId,
    source: MoneyError,
}

/// Resolve a pending or processing refund by hand (operators only).
#[utoipa::path(post, path = "/v1/refunds/{id}/resolve", tag = "operators")]
pub(crate) async fn resolve_refund(
    state: AppState,
    OperatorAuth(operator): OperatorAuth,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<RefundObject>, ApiError> {
    let refund = visible_refund(&state, &Caller::Operator(operator.clone()), &id).await?;
    let currency = Currency::parse(&refund.currency).map_err(|source| {
        ApiError::internal(UnknownStoredCurrency {
            refund_id: refund.id,
            source,
        })
    })?;
    let command = parse_resolve(&body, currency)?;
    let resolved = state
        .engine
        .resolve(&refund.id, &operator.id, &command)
        .await?;
    Ok(Json(RefundObject::from(&resolved)))
}

/// Who the presented API key belongs to, and when that key expires.
#[utoipa::path(get, path = "/v1/me", tag = "operators")]
pub(crate) async fn me(
    state: AppState,
    caller: Caller,
    key: Option<axum::Extension<PresentedKey>>,
) -> Json<Value> {
    let key_expires_at = key
        .and_then(|axum::Extension(PresentedKey(key))| key.expires_at)
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        });
    let mut principal = match caller {
        Caller::Merchant(merchant) => json!({
            "object": "principal",
            "role": "merchant",
            "id": merchant.id,
            "merchants": [merchant.id],
        }),
        Caller::Operator(operator) => json!({
            "object": "principal",
            "role": "operator",
            "id": operator.id,
            "merchants": state
                .engine
                .config()
                .merchants
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>(),
        }),
    };
    if let Value::Object(map) = &mut principal {
        map.insert("key_expires_at".into(), json!(key_expires_at));
    }
    Json(principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}"))
    }

    fn body(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn a_resolve_body_is_read_whole() {
        let command = parse_resolve(
            &body(json!({"status": "failed", "reason": "never reached the bank", "provider_refund_id": "re_1"})),
            eur(),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(command.status, RefundStatus::Failed);
        assert_eq!(command.reason, "never reached the bank");
        assert_eq!(command.provider_refund_id.as_deref(), Some("re_1"));
    }

    #[test]
    fn every_bad_resolve_body_names_its_field() {
        let cases = [
            (
                json!({"reason": "x"}),
                ErrorCode::ParameterMissing,
                "status",
            ),
            (
                json!({"status": "canceled", "reason": "x"}),
                ErrorCode::ParameterInvalid,
                "status",
            ),
            (
                json!({"status": "failed"}),
                ErrorCode::ParameterMissing,
                "reason",
            ),
            (
                json!({"status": "failed", "reason": " "}),
                ErrorCode::ParameterInvalid,
                "reason",
            ),
            (
                json!({"status": "failed", "reason": 1}),
                ErrorCode::BodyInvalid,
                "reason",
            ),
            (
                json!({"status": "succeeded", "reason": "x", "amount": "1.001"}),
                ErrorCode::AmountInvalid,
                "amount",
            ),
            (
                json!({"status": "succeeded", "reason": "x", "amount": 1}),
                ErrorCode::AmountInvalid,
                "amount",
            ),
            (
                json!({"status": "failed", "reason": "x", "provider_refund_id": ""}),
                ErrorCode::ParameterInvalid,
                "provider_refund_id",
            ),
            (
                json!({"status": "failed", "reason": "x", "note": "y"}),
                ErrorCode::BodyInvalid,
                "note",
            ),
        ];
        for (input, code, param) in cases {
            let error = parse_resolve(&body(input.clone()), eur())
                .err()
                .unwrap_or_else(|| panic!("accepted {input}"));
            assert_eq!(error.code, code, "{input}");
            assert_eq!(error.param.as_deref(), Some(param), "{input}");
        }
    }
}
