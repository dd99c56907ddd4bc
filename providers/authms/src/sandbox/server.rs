//! The sandbox's HTTP face: AuthMS's routes and answer shapes, bearer-token checks, strict
//! request reading, and the injected faults; the control endpoints under `/_sandbox`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use refund_provider::sandbox_kit::sends_json;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::config::{Faults, TOKEN};
use super::shared::Shared;
use super::state::{parse_amount, timestamp, LedgerError, RefundOrder};
use crate::wire::{
    Envelope, RefundRequest, RefundResult, SimpleResponse, TransferRequest, TransferResult,
};

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/wallets/transfer", post(transfer))
        .route("/wallets/{user_id}/refund", post(refund))
        .route("/wallets/{user_id}/transactions", get(transactions))
        .route("/_sandbox/faults", post(set_faults).get(get_faults))
        .route("/_sandbox/effects", get(effects))
        .route("/_sandbox/statement", get(super::statement::statement))
        .fallback(|| async { (StatusCode::NOT_FOUND, "404 page not found") })
        .with_state(shared)
}

/// Runs one wallet API request through faults, auth and the ledger operation `op`, which
/// answers the `data` of a success.
async fn handle(
    shared: Arc<Shared>,
    headers: &HeaderMap,
    op: impl FnOnce(&Shared, OffsetDateTime) -> Result<Value, LedgerError>,
) -> Response {
    let draw = shared.faults.draw(shared.config.latency_ms);
    if draw.before_apply(&shared.hang).await.is_err() {
        return simple(StatusCode::SERVICE_UNAVAILABLE, "service unavailable");
    }
    if !authorized(headers) {
        return simple(StatusCode::UNAUTHORIZED, "未认证或令牌无效");
    }
    let response = match op(&shared, OffsetDateTime::now_utc()) {
        Ok(data) => success(data),
        Err(error) => failure(error),
    };
    draw.finish(response, &shared.hang).await
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| token == TOKEN)
}

/// Reads a JSON request body strictly: JSON content type, known fields only.
fn body<T: for<'de> Deserialize<'de>>(headers: &HeaderMap, bytes: &[u8]) -> Result<T, LedgerError> {
    if !sends_json(headers) {
        return Err(LedgerError::BadRequest(
            "请求参数错误: Content-Type must be application/json".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| LedgerError::BadRequest(format!("请求参数错误: {e}")))
}

fn required<'a>(value: &'a str, name: &str) -> Result<&'a str, LedgerError> {
    if value.trim().is_empty() {
        return Err(LedgerError::BadRequest(format!(
            "请求参数错误: {name} is required"
        )));
    }
    Ok(value)
}

async fn refund(
    State(shared): State<Arc<Shared>>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let request_headers = headers.clone();
    handle(shared, &headers, move |shared, now| {
        let req: RefundRequest = body(&request_headers, &bytes)?;
        let transaction_id = required(&req.transaction_id, "transaction_id")?;
        let mut ledger = shared.ledger();
        let amount = match req.amount.as_deref() {
            Some(text) => Some(parse_amount(text, ledger.currency())?),
            None => None,
        };
        let (transaction, wallet) = ledger.refund(
            &RefundOrder {
                user_id: &user_id,
                transaction_id,
                amount,
                reason: req.reason.as_deref(),
                reference_id: req.reference_id.as_deref(),
            },
            now,
        )?;
        to_value(RefundResult {
            transaction: Some(transaction),
            wallet: Some(wallet),
        })
    })
    .await
}

async fn transfer(State(shared): State<Arc<Shared>>, headers: HeaderMap, bytes: Bytes) -> Response {
    let request_headers = headers.clone();
    handle(shared, &headers, move |shared, now| {
        let req: TransferRequest = body(&request_headers, &bytes)?;
        let from = required(&req.from_user_id, "from_user_id")?;
        let to = required(&req.to_user_id, "to_user_id")?;
        required(&req.amount, "amount")?;
        let mut ledger = shared.ledger();
        let amount = parse_amount(&req.amount, ledger.currency())?;
        let [(from_transaction, from_wallet), (to_transaction, to_wallet)] =
            ledger.transfer(from, to, amount, req.description.as_deref(), now)?;
        to_value(TransferResult {
            from_transaction: Some(from_transaction),
            from_wallet: Some(from_wallet),
            to_transaction: Some(to_transaction),
            to_wallet: Some(to_wallet),
        })
    })
    .await
}

#[derive(Debug, Deserialize)]
struct TransactionsQuery {
    reference_id: Option<String>,
}

async fn transactions(
    State(shared): State<Arc<Shared>>,
    Path(user_id): Path<String>,
    Query(query): Query<TransactionsQuery>,
    headers: HeaderMap,
) -> Response {
    handle(shared, &headers, move |shared, now| {
        let list = shared
            .ledger()
            .transactions(&user_id, query.reference_id.as_deref(), now)?;
        to_value(list)
    })
    .await
}

async fn set_faults(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&bytes) {
        Ok(faults) => {
            shared.faults.set(faults.clone());
            Json(faults).into_response()
        }
        Err(e) => simple(StatusCode::BAD_REQUEST, &format!("invalid faults: {e}")),
    }
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.faults.get()).into_response()
}

async fn effects(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.ledger().effects(OffsetDateTime::now_utc())).into_response()
}

fn to_value<T: serde::Serialize>(data: T) -> Result<Value, LedgerError> {
    serde_json::to_value(data).map_err(|e| LedgerError::Internal(e.to_string()))
}

fn now_text() -> Option<String> {
    Some(timestamp(OffsetDateTime::now_utc()))
}

fn success(data: Value) -> Response {
    let envelope = Envelope {
        code: Some(200),
        data: Some(data),
        message: Some("success".into()),
        timestamp: now_text(),
    };
    (StatusCode::OK, Json(envelope)).into_response()
}

fn simple(status: StatusCode, message: &str) -> Response {
    let body = SimpleResponse {
        code: Some(i64::from(status.as_u16())),
        message: Some(message.to_owned()),
        timestamp: now_text(),
    };
    (status, Json(body)).into_response()
}

fn failure(error: LedgerError) -> Response {
    let (status, message) = match error {
        LedgerError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
        LedgerError::NotFound(m) => (StatusCode::NOT_FOUND, m),
        LedgerError::InsufficientBalance(m) => (StatusCode::CONFLICT, format!("余额不足: {m}")),
        LedgerError::AmountInvalid(m) => {
            (StatusCode::UNPROCESSABLE_ENTITY, format!("金额无效: {m}"))
        }
        LedgerError::Internal(m) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("服务内部错误: {m}"),
        ),
    };
    simple(status, &message)
}
