//! The simulator's HTTP surface: eFundPay's create-refund and (assumed) list endpoints with
//! their auth checks and fault handling, and the `/_sandbox/*` control endpoints.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::conn::ConnHandle;
use refund_provider::sandbox_kit::{sends_json, FaultPlan};

use super::config::{Faults, MERCHANT_ACCOUNT_ID, TOKEN};
use super::error::ApiError;
use super::state::Shared;
use super::webhooks;
use crate::adapter::MERCHANT_ACCOUNT_HEADER;
use crate::wire::RefundList;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/v4/transactions/{transaction_id}/refunds",
            post(create_refund).get(list_refunds),
        )
        .route("/_sandbox/faults", post(set_faults).get(get_faults))
        .route("/_sandbox/effects", get(effects))
        .route("/_sandbox/webhooks", get(deliveries))
        .route("/_sandbox/statement", get(super::statement::statement))
        .fallback(|| async {
            error(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such endpoint",
            ))
        })
        .with_state(shared)
}

fn error(e: ApiError) -> Response {
    (
        e.status,
        Json(json!({"type": "error", "code": e.code, "message": e.message})),
    )
        .into_response()
}

/// Checks the bearer token and the merchant account, as eFundPay would.
fn authorize(headers: &HeaderMap) -> Result<(), ApiError> {
    let expected = format!("Bearer {TOKEN}");
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if token != Some(expected.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid bearer token",
        ));
    }
    match headers
        .get(MERCHANT_ACCOUNT_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        None => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_header",
            "x-merchant-account-id is required",
        )),
        Some(MERCHANT_ACCOUNT_ID) => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the token has no access to this merchant account",
        )),
    }
}

/// Applies latency and the request's fault around `apply`, which does the real work.
async fn with_faults(
    shared: &Shared,
    conn: &ConnHandle,
    apply: impl FnOnce() -> Response,
) -> Response {
    let draw = shared.faults.draw(shared.config.latency_ms);
    match draw.before_apply(&shared.hang).await {
        Ok(()) => {}
        Err(FaultPlan::Timeout) => {
            return error(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                "sandbox fault: timeout_next",
            ))
        }
        Err(_) => {
            return error(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "sandbox fault: fail_next",
            ))
        }
    }
    let response = apply();
    if draw.unavailable_after_apply() {
        return refund_provider::sandbox_kit::outage_answer();
    }
    if draw.after_apply(&shared.hang).await {
        conn.kill();
    }
    response
}

async fn create_refund(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    Path(transaction_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let work = || {
        if let Err(e) = authorize(&headers) {
            return error(e);
        }
        if !sends_json(&headers) {
            return error(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Content-Type must be application/json",
            ));
        }
        match shared.create(&transaction_id, &body) {
            Ok(created) => {
                let refund = created.refund.clone();
                webhooks::schedule(Arc::clone(&shared), created);
                (StatusCode::CREATED, Json(refund)).into_response()
            }
            Err(e) => error(e),
        }
    };
    with_faults(&shared, &conn, work).await
}

async fn list_refunds(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    Path(transaction_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let work = || {
        if let Err(e) = authorize(&headers) {
            return error(e);
        }
        match shared.list(&transaction_id) {
            Ok(items) => Json(RefundList { items }).into_response(),
            Err(e) => error(e),
        }
    };
    with_faults(&shared, &conn, work).await
}

async fn set_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(faults) => {
            shared.faults.set(faults.clone());
            Json(faults).into_response()
        }
        Err(e) => error(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_faults",
            format!("not a Faults object: {e}"),
        )),
    }
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.faults.get()).into_response()
}

async fn effects(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.effects()).into_response()
}

async fn deliveries(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.deliveries()).into_response()
}
