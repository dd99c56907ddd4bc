//! `POST /v1/refunds`, `GET /v1/refunds/{id}`, `GET /v1/refunds/{id}/events` and
//! `GET /v1/refunds`: parsing and validating merchant input into engine commands (the create
//! body in `body.rs`), and rendering refunds.

mod body;

use std::collections::HashMap;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use refund_provider::{is_printable_ascii, Currency, PaymentId, RefundId};

use super::answer::{json_response, list_page};
use super::error::{ApiError, ErrorCode};
use super::extract::{
    refuse_unknown, Caller, IdempotencyKeyHeader, JsonObject, MerchantAuth, QueryMap,
};
use crate::domain::refund_object::{rfc3339_ms, RefundObject};
use crate::domain::RefundStatus;
use crate::engine::CreateResult;
use crate::state::AppState;
use crate::store::ListFilter;
use body::invalid;
pub use body::parse_create;
pub(crate) use body::FIELDS as CREATE_FIELDS;

/// Create a refund.
#[utoipa::path(post, path = "/v1/refunds", tag = "refunds")]
pub(crate) async fn create_refund(
    state: AppState,
    MerchantAuth(merchant): MerchantAuth,
    key: IdempotencyKeyHeader,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let command = parse_create(body, key)?;
    match state.engine.create_refund(&merchant, command).await? {
        CreateResult::Created(refund) => Ok(json_response(
            StatusCode::CREATED,
            RefundObject::from(&refund).to_json(),
            false,
        )),
        CreateResult::Replayed(body) => Ok(json_response(StatusCode::OK, body, true)),
        CreateResult::ReplayedRefund(refund) => Ok(json_response(
            StatusCode::OK,
            RefundObject::from(&refund).to_json(),
            true,
        )),
    }
}

fn parse_refund_id(id: &str) -> Result<RefundId, ApiError> {
    RefundId::parse(id).map_err(|_| {
        ApiError::new(
            ErrorCode::RefundNotFound,
            format!("no refund `{}`", id.chars().take(64).collect::<String>()),
        )
    })
}

/// Retrieve a refund.
#[utoipa::path(get, path = "/v1/refunds/{id}", tag = "refunds")]
pub(crate) async fn get_refund(
    state: AppState,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RefundObject>, ApiError> {
    let refund = visible_refund(&state, &caller, &id).await?;
    Ok(Json(RefundObject::from(&refund)))
}

/// The refund `id` if the caller may see it (a merchant its own, an operator any); anything
/// else is `404 refund_not_found`, exactly like a missing refund.
pub(crate) async fn visible_refund(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<crate::domain::RefundRecord, ApiError> {
    let id = parse_refund_id(id)?;
    let scope = caller.scope(None, state)?;
    state
        .engine
        .store
        .scoped_refund(scope.as_deref(), &id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::RefundNotFound, format!("no refund `{id}`")))
}

/// Events per page of `GET /v1/refunds/{id}/events` when `limit` is not given: 100, the
/// most a page holds, so a client written before paging still gets every event of nearly
/// every refund (a refund's history is a handful of lines) in one call.
pub(crate) const EVENTS_DEFAULT_LIMIT: u32 = 100;

/// The query of `GET /v1/refunds/{id}/events`: `limit` (1-100) and `starting_after` (the id
/// of the last event of the previous page); anything else is refused.
fn parse_events_query(query: &HashMap<String, String>) -> Result<(Option<i64>, u32), ApiError> {
    refuse_unknown(query, &["limit", "starting_after"])?;
    let limit = match query.get("limit") {
        None => EVENTS_DEFAULT_LIMIT,
        Some(text) => parse_limit(text)?,
    };
    let after = query
        .get("starting_after")
        .map(|text| {
            text.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| {
                    invalid(
                        "starting_after",
                        "`starting_after` must be an event id (a positive integer)",
                    )
                })
        })
        .transpose()?;
    Ok((after, limit))
}

/// `limit`: an integer from 1 to 100.
fn parse_limit(text: &str) -> Result<u32, ApiError> {
    text.parse::<u32>()
        .ok()
        .filter(|l| (1..=100).contains(l))
        .ok_or_else(|| invalid("limit", "`limit` must be an integer from 1 to 100"))
}

/// A refund's status history, oldest first, in pages.
#[utoipa::path(get, path = "/v1/refunds/{id}/events", tag = "refunds")]
pub(crate) async fn list_refund_events(
    state: AppState,
    caller: Caller,
    Path(id): Path<String>,
    QueryMap(query): QueryMap,
) -> Result<Json<Value>, ApiError> {
    let (after, limit) = parse_events_query(&query)?;
    let refund = visible_refund(&state, &caller, &id).await?;
    let events = state
        .engine
        .store
        .refund_events_page(&refund.id, after, limit)
        .await?;
    Ok(list_page(events, limit, |e| {
        json!({
            "object": "refund_event",
            "id": e.id,
            "kind": e.kind,
            "status": e.status,
            "previous_status": e.previous_status,
            "source": e.source,
            "detail": e.detail,
            "created_at": rfc3339_ms(e.created_at),
        })
    }))
}

const LIST_PARAMS: [&str; 11] = [
    "merchant",
    "pending_reason",
    "provider",
    "status",
    "currency",
    "created_gte",
    "created_lt",
    "payment_id",
    "reference",
    "limit",
    "starting_after",
];

pub(crate) fn parse_time(name: &str, value: &str) -> Result<i64, ApiError> {
    OffsetDateTime::parse(value, &Rfc3339)
        .map(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX))
        .map_err(|_| {
            invalid(
                name,
                format!("`{name}` must be an RFC 3339 time such as 2026-11-23T10:00:00Z"),
            )
        })
}

fn parse_list(query: &HashMap<String, String>) -> Result<ListFilter, ApiError> {
    refuse_unknown(query, &LIST_PARAMS)?;
    let status = query
        .get("status")
        .map(|s| {
            RefundStatus::parse(s).ok_or_else(|| {
                invalid(
                    "status",
                    "`status` must be pending, processing, succeeded, failed or canceled",
                )
            })
        })
        .transpose()?;
    let currency = query
        .get("currency")
        .map(|c| {
            Currency::parse(c).map(|c| c.to_string()).map_err(|e| {
                ApiError::new(ErrorCode::CurrencyUnsupported, e.to_string()).with_param("currency")
            })
        })
        .transpose()?;
    let limit = match query.get("limit") {
        None => 10,
        Some(text) => parse_limit(text)?,
    };
    let starting_after = query
        .get("starting_after")
        .map(|id| {
            RefundId::parse(id)
                .map_err(|_| invalid("starting_after", "`starting_after` must be a refund id"))
        })
        .transpose()?;
    // The same rules as on create, so a filter that could never match says so.
    let payment_id = query
        .get("payment_id")
        .map(|p| {
            PaymentId::parse(p)
                .map(|p| p.as_str().to_owned())
                .map_err(|_| {
                    invalid(
                        "payment_id",
                        "`payment_id` must be 1-128 printable ASCII characters",
                    )
                })
        })
        .transpose()?;
    let reference = query
        .get("reference")
        .map(|r| {
            if r.is_empty() || r.len() > 64 || !is_printable_ascii(r) {
                Err(invalid(
                    "reference",
                    "`reference` must be 1-64 printable ASCII characters",
                ))
            } else {
                Ok(r.clone())
            }
        })
        .transpose()?;
    // The approval queue is `?pending_reason=awaiting_approval` (DESIGN §19).
    let pending_reason = query
        .get("pending_reason")
        .map(|r| {
            crate::domain::PendingReason::parse(r).ok_or_else(|| {
                invalid(
                    "pending_reason",
                    "`pending_reason` must be provider_unavailable or awaiting_approval",
                )
            })
        })
        .transpose()?;
    Ok(ListFilter {
        provider: query.get("provider").cloned(),
        pending_reason,
        status,
        currency,
        created_gte: query
            .get("created_gte")
            .map(|v| parse_time("created_gte", v))
            .transpose()?,
        created_lt: query
            .get("created_lt")
            .map(|v| parse_time("created_lt", v))
            .transpose()?,
        payment_id,
        reference,
        starting_after,
        limit,
    })
}

/// List refunds, newest first, with cursor pagination.
#[utoipa::path(get, path = "/v1/refunds", tag = "refunds")]
pub(crate) async fn list_refunds(
    state: AppState,
    caller: Caller,
    QueryMap(query): QueryMap,
) -> Result<Json<Value>, ApiError> {
    let filter = parse_list(&query)?;
    let scope = caller.scope(query.get("merchant").map(String::as_str), &state)?;
    let refunds = state
        .engine
        .store
        .list_refunds(scope.as_deref(), &filter)
        .await?;
    Ok(list_page(refunds, filter.limit, |r| RefundObject::from(r)))
}
