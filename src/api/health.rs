//! `/healthz` (the process is up), `/readyz` (the store answers), `/metrics` (Prometheus).

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations")]
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The store is reachable.
#[utoipa::path(get, path = "/readyz", tag = "operations")]
pub(crate) async fn readyz(state: AppState) -> Result<Json<Value>, ApiError> {
    if state.engine.store.ping().await {
        Ok(Json(json!({"status": "ready"})))
    } else {
        Err(ApiError::new(
            ErrorCode::StoreUnavailable,
            "the store does not answer",
        ))
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations")]
pub(crate) async fn metrics(state: AppState) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.engine.metrics.render(),
    )
}
